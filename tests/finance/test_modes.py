"""Institutional block grants (grading under the share caps, next year's amount) and
post-subsidies (no money before verification, then exactly one payment)."""

import math
import random
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from finance.models import BlockGrant, ModePayment, PostSubsidy
from finance.modes import (
    block_grant_score,
    block_grant_set,
    grade_quotas,
    institutions_grade,
    post_subsidy_apply,
    post_subsidy_pay,
    post_subsidy_verify,
)
from programs.models import FundingMode
from tests import factories as f

pytestmark = pytest.mark.django_db
D = Decimal


def institutional_program():
    return f.ProgramFactory(funding_mode=FundingMode.INSTITUTIONAL)


def scored_grants(program, scores, year=2027, amount=None):
    amount = amount or D("1000000.00")
    grants = []
    for score in scores:
        grant = block_grant_set(
            program=program, institution=f.InstitutionFactory(), year=year, amount=amount
        )
        grants.append(block_grant_score(grant=grant, score=D(str(score))))
    return grants


@pytest.mark.parametrize("n", [1, 7, 9, 10, 19, 20, 37, 100])
def test_institutional_grading_respects_the_share_caps(n):
    rng = random.Random(n)
    program = institutional_program()
    scores = [rng.randint(0, 10000) / 100 for _ in range(n)]
    scored_grants(program, scores)
    institutions_grade(program=program, year=2027)
    rows = list(BlockGrant.objects.filter(program=program, year=2027))
    counts = Counter(g.grade for g in rows)
    # Checked independently of the service: the caps of domain.md, never exceeded.
    assert counts["A"] <= math.floor(n * 0.10)
    assert counts["B"] <= math.floor(n * 0.15)
    assert counts["C"] <= math.floor(n * 0.20)
    assert sum(counts.values()) == n
    # Grades follow the ranking: every A scores at least every B, and so on.
    order = "ABCD"
    for better in rows:
        for worse in rows:
            if order.index(better.grade) < order.index(worse.grade):
                assert better.evaluation_score >= worse.evaluation_score


def test_grade_quotas_round_down_and_next_year_amounts():
    assert grade_quotas(9) == {"A": 0, "B": 1, "C": 1, "D": 7}
    assert grade_quotas(20) == {"A": 2, "B": 3, "C": 4, "D": 11}
    program = institutional_program()
    grants = scored_grants(program, range(100, 80, -1))  # 20 institutions, 100 … 81
    institutions_grade(program=program, year=2027)
    by_score = {
        g.evaluation_score: g for g in BlockGrant.objects.filter(program=program, year=2027)
    }
    assert by_score[D("100")].grade == "A" and by_score[D("100")].next_amount == D("1200000.00")
    assert by_score[D("98")].grade == "B" and by_score[D("98")].next_amount == D("1000000.00")
    assert by_score[D("95")].grade == "C" and by_score[D("95")].next_amount == D("800000.00")
    low = by_score[D("81")]
    assert low.grade == "D" and low.next_amount == D("0.00") and low.needs_review
    assert len(grants) == 20
    entry = TransitionLog.entries.get(transition="finance.institutions_graded")
    assert entry.data["grades"][str(low.institution_id)] == "D"


def test_block_grants_only_under_an_institutional_program():
    with pytest.raises(WorkflowError) as err:
        block_grant_set(
            program=f.ProgramFactory(),
            institution=f.InstitutionFactory(),
            year=2027,
            amount=D("1.00"),
        )
    assert err.value.code == "wrong_funding_mode"


def test_institutional_page_for_managers_only(login):
    program = institutional_program()
    grants = scored_grants(program, [90, 80])
    url = reverse("finance:institutional", args=[program.pk]) + "?year=2027"
    page = login(f.officer()).get(url)
    assert page.status_code == 200
    assert all(g.institution.name in page.content.decode() for g in grants)
    assert login(f.applicant()).get(url).status_code == 404
    assert login(f.agency_staff(f.AgencyFactory())).get(url).status_code == 404
    response = login(f.officer()).post(url, {"action": "grade"})
    assert response.status_code == 302
    assert BlockGrant.objects.filter(program=program).exclude(grade="").count() == 2


# --- post-subsidy ---


def claim_for(applicant=None):
    program = f.ProgramFactory(funding_mode=FundingMode.POST_SUBSIDY)
    applicant = applicant or f.applicant()
    return post_subsidy_apply(
        program=program,
        applicant=applicant,
        title="成果转化：高精度传感器",
        results="已实现产业化，销售收入 1200 万元。",
        amount_requested=D("300000.00"),
    )


def test_post_subsidy_pays_nothing_before_verification():
    claim = claim_for()
    with pytest.raises(WorkflowError) as err:
        post_subsidy_pay(claim=claim, officer=f.officer())
    assert err.value.code == "not_verified"
    assert not ModePayment.objects.exists()


def test_post_subsidy_pays_once_after_verification():
    claim = claim_for()
    officer = f.officer()
    post_subsidy_verify(claim=claim, officer=officer, verified=True, amount_granted=D("250000.00"))
    payment = post_subsidy_pay(claim=claim, officer=officer)
    assert payment.amount == D("250000.00")
    assert PostSubsidy.objects.get(pk=claim.pk).status == "paid"
    with pytest.raises(WorkflowError) as err:
        post_subsidy_pay(claim=claim, officer=officer)
    assert err.value.code == "already_paid"
    assert ModePayment.objects.filter(post_subsidy=claim).count() == 1
    event = TransitionLog.entries.get(transition="finance.post_subsidy_paid", object_id=claim.pk)
    assert event.data["amount"] == "250000.00"
    assert event.actor == officer


def test_rejected_results_are_never_paid_and_need_a_reason():
    claim = claim_for()
    with pytest.raises(ValidationError):
        post_subsidy_verify(claim=claim, officer=f.officer(), verified=False)
    post_subsidy_verify(claim=claim, officer=f.officer(), verified=False, note="成果不实")
    with pytest.raises(WorkflowError):
        post_subsidy_pay(claim=claim, officer=f.officer())
    assert not ModePayment.objects.exists()


def test_grant_above_the_request_is_refused():
    claim = claim_for()
    with pytest.raises(ValidationError) as err:
        post_subsidy_verify(
            claim=claim, officer=f.officer(), verified=True, amount_granted=D("300000.01")
        )
    assert "amount_granted" in err.value.message_dict


def test_post_subsidy_pages_apply_verify_pay(login):
    program = f.ProgramFactory(funding_mode=FundingMode.POST_SUBSIDY)
    applicant = f.applicant()
    client = login(applicant)
    bad = client.post(
        reverse("finance:post_subsidies"),
        {"program": program.pk, "title": "X", "results": "Y", "amount_requested": "-1"},
    )
    assert bad.status_code == 200
    assert 'id="id_amount_requested_error"' in bad.content.decode()
    response = client.post(
        reverse("finance:post_subsidies"),
        {"program": program.pk, "title": "成果", "results": "结果", "amount_requested": "1000"},
    )
    claim = PostSubsidy.objects.get()
    assert response.url == reverse("finance:post_subsidy", args=[claim.pk])
    url = reverse("finance:post_subsidy", args=[claim.pk])
    assert login(f.applicant()).get(url).status_code == 404
    officer = login(f.officer())
    officer.post(url, {"action": "verify", "verified": "1", "amount_granted": "800"})
    officer.post(url, {"action": "pay"})
    officer.post(url, {"action": "pay"})
    assert ModePayment.objects.get().amount == D("800.00")
    assert client.post(url, {"action": "pay"}).status_code == 404


def test_post_subsidy_list_queries_do_not_grow_with_rows(login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    officer = f.officer()
    program = f.ProgramFactory(funding_mode=FundingMode.POST_SUBSIDY)

    def make(n):
        for i in range(n):
            post_subsidy_apply(
                program=program,
                applicant=f.applicant(),
                title=f"成果 {i}",
                results="结果",
                amount_requested=D("1000.00"),
            )

    def count():
        client = login(officer)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("finance:post_subsidies")).status_code == 200
        return len(ctx)

    make(1)
    one = count()
    make(29)
    assert count() == one
