"""Institutional credit: the grade equals one computed independently from the generated data;
editing the rule changes grades; the box on the proposal (officers only, fixed queries); the
credit page (filter, sort, pages, fixed queries, permissions)."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Institution
from audit.models import TransitionLog
from grants.enums import ApplicationState
from grants.models import Application
from integrity import credit
from integrity.models import CreditRecord, CreditRule
from integrity.models.credit import DEFAULT_WEIGHTS
from integrity.services import record_correct
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def d(days):
    return TODAY + timedelta(days=days)


def record(**kw):
    kw.setdefault("bars_apply", False)
    return f.CreditRecordFactory(**kw)


def generate(seed=11, n=6):
    """Institutions with members, records of every shape, ineligible and revoked proposals."""
    rng = random.Random(seed)
    institutions = [f.InstitutionFactory() for _ in range(n)]
    for index, inst in enumerate(institutions):
        people = [f.applicant(institution=inst) for _ in range(3)]
        if index == 0:
            continue  # one clean institution
        if index == 1:  # one with a single minor record
            record(subject_user=people[0], starts_on=d(-30), ends_on=d(-1))
            continue
        for _ in range(rng.randint(0, 2)):  # own bars in force
            record(subject_institution=inst, bars_apply=True, starts_on=d(-10), ends_on=d(100))
        for _ in range(rng.randint(0, 2)):  # own record without a bar, recent
            record(subject_institution=inst, starts_on=d(-400), ends_on=None)
        if rng.random() < 0.5:  # own bar that ended (recent, not in force)
            record(subject_institution=inst, bars_review=True, starts_on=d(-300), ends_on=d(-2))
        if rng.random() < 0.5:  # too old to count
            record(subject_institution=inst, starts_on=d(-365 * 7), ends_on=d(-365 * 6))
        for person in people:
            if rng.random() < 0.5:
                record(subject_user=person, bars_receive_funds=True, starts_on=d(-5), ends_on=None)
            if rng.random() < 0.5:
                record(subject_user=person, starts_on=d(-30), ends_on=d(-1))
            if rng.random() < 0.3:  # upcoming bar: not in force, recent? no: starts later
                record(subject_user=person, bars_apply=True, starts_on=d(10), ends_on=d(40))
        if rng.random() < 0.6:  # a superseded record counts once, as its correction
            old = record(subject_institution=inst, bars_apply=True, starts_on=d(-20), ends_on=d(50))
            record_correct(record=old, created_by=None, bars=[], ends_on=d(-1))
        for _ in range(rng.randint(0, 3)):
            app = f.ApplicationFactory(applicant=people[0], institution=inst)
            f.set_state(app, S.INELIGIBLE, submitted_at=timezone.now() - timedelta(days=40))
        for _ in range(rng.randint(0, 2)):
            app = f.ApplicationFactory(applicant=people[1], institution=inst)
            f.set_state(app, S.REJECTED, submitted_at=timezone.now() - timedelta(days=90))
            TransitionLog.objects.create(
                content_type=ContentType.objects.get_for_model(Application),
                object_id=app.pk, object_repr=str(app.pk), transition="revoke",
                source=S.IN_NOTICE, target=S.REJECTED,
            )  # fmt: skip
        # Plain rejection (not revoked): counts for nothing.
        app = f.ApplicationFactory(applicant=people[2], institution=inst)
        f.set_state(app, S.REJECTED, submitted_at=timezone.now() - timedelta(days=90))
    return institutions


def independent_counts(inst, lookback_years=5):
    """The inputs, counted in Python from the rows (not through the credit module)."""
    since = TODAY.replace(year=TODAY.year - lookback_years)
    counts = dict.fromkeys(DEFAULT_WEIGHTS, 0)
    for r in CreditRecord.objects.all():
        if hasattr(r, "superseded_by") and CreditRecord.objects.filter(supersedes=r).exists():
            continue
        own = r.subject_institution_id == inst.pk
        mine = r.subject_user_id is not None and r.subject_user.institution_id == inst.pk
        if not (own or mine):
            continue
        in_force = r.starts_on <= TODAY and (r.ends_on is None or r.ends_on >= TODAY)
        barring = bool(r.bars)
        prefix = "own" if own else "people"
        if in_force and barring:
            counts[f"{prefix}_bars"] += 1
        elif since <= r.starts_on <= TODAY:
            counts[f"{prefix}_recent"] += 1
    apps = Application.objects.filter(institution=inst)
    counts["ineligible"] = apps.filter(state=S.INELIGIBLE).count()
    revoked = set(
        TransitionLog.objects.filter(transition="revoke").values_list("object_id", flat=True)
    )
    counts["revoked"] = sum(1 for a in apps if a.pk in revoked)
    return counts


def independent_grade(counts, weights, bands=(90, 75, 60)):
    score = max(0.0, 100.0 - sum(float(weights.get(k, 0)) * v for k, v in counts.items()))
    for letter, low in zip("ABC", bands, strict=True):
        if score >= low:
            return letter, score
    return "D", score


def test_grade_equals_an_independent_computation():
    institutions = generate()
    rule = CreditRule.current()
    assert rule.pk is not None and rule.weights == DEFAULT_WEIGHTS  # the migration's row
    grades = credit.credit_for_ids("institution", [i.pk for i in institutions])
    seen = set()
    for inst in institutions:
        counts = independent_counts(inst)
        letter, score = independent_grade(counts, DEFAULT_WEIGHTS)
        got = grades[inst.pk]
        assert {i.code: i.count for i in got.inputs} == counts
        assert (got.grade, got.score) == (letter, round(score, 1))
        assert credit.credit_of(inst).grade == letter
        seen.add(letter)
    assert {"A", "D"} <= seen  # the data spreads over grades


def test_editing_the_rule_changes_grades():
    inst = f.InstitutionFactory()
    record(subject_institution=inst, bars_apply=True, starts_on=d(-1), ends_on=d(30))
    assert credit.credit_of(inst).grade == "C"  # 100 − 30 = 70; bands 90/75/60
    rule = CreditRule.current()
    rule.weights = {**rule.weights, "own_bars": 5}
    rule.save()
    assert credit.credit_of(inst).grade == "A"  # 95
    rule.weights = {**rule.weights, "own_bars": 50}
    rule.save()
    assert credit.credit_of(inst).grade == "D"  # 50
    rule.band_c = Decimal("40")
    rule.band_b = Decimal("45")
    rule.save()
    assert credit.credit_of(inst).grade == "B"


def test_rule_validation():
    from django.core.exceptions import ValidationError

    rule = CreditRule(name="bad", active=False, weights={"own_bars": -1, "x": "abc"})
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert len(exc.value.message_dict["weights"]) == 2


def test_agencies_are_graded_from_their_own_and_their_staffs_records():
    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    record(subject_user=staff, bars_apply=True, starts_on=d(-1), ends_on=None)
    if hasattr(CreditRecord, "subject_agency"):
        record(subject_agency=agency, starts_on=d(-100), ends_on=d(-50))
    got = credit.credit_of(agency)
    counts = {i.code: i.count for i in got.inputs}
    assert counts["people_bars"] == 1
    expected_own = 1 if hasattr(CreditRecord, "subject_agency") else 0
    assert counts["own_recent"] == expected_own
    assert got.score == 100 - 8 - 10 * expected_own


# --- the box on the proposal ----------------------------------------------------------------


def test_officers_see_the_grade_on_the_proposal_others_do_not(login):
    application = f.set_state(f.ApplicationFactory(), S.SUBMITTED, number="BF-2027-000321")
    record(subject_institution=application.institution, bars_apply=True, starts_on=d(-1))
    url = reverse("grants:detail", args=[application.pk])
    for user in (f.officer(), f.integrity_officer(), f.auditor()):
        response = login(user).get(url)
        text = response.content.decode()
        assert 'id="credit-grade">C<' in text, user
        assert "own records with a bar in force" in text
    for user in (application.applicant, f.institution_admin(application.institution)):
        text = login(user).get(url).content.decode()
        assert "credit-grade" not in text


def test_the_box_costs_a_fixed_number_of_queries(rf):
    from django.template import Context, Template

    officer = f.officer()
    officer.role_names  # noqa: B018
    request = rf.get("/")
    request.user = officer
    template = Template("{% load integrity_credit %}{% credit_box inst %}")
    inst = f.InstitutionFactory()
    with CaptureQueriesContext(connection) as few:
        template.render(Context({"request": request, "inst": inst}))
    generate(seed=3, n=3)
    busy = Institution.objects.order_by("-pk")[0]
    with CaptureQueriesContext(connection) as many:
        template.render(Context({"request": request, "inst": busy}))
    assert len(few) == len(many) == 2


# --- the credit page ------------------------------------------------------------------------


def test_credit_page_lists_grades_and_inputs_filters_sorts(login):
    institutions = generate(seed=5, n=5)
    client = login(f.integrity_officer())
    response = client.get(reverse("integrity:credit_list"))
    assert response.status_code == 200
    table = response.context["table"]
    listed = [row.record for row in table.page.object_list]
    assert {r.pk for r in listed} == {i.pk for i in institutions} | set(
        Institution.objects.values_list("pk", flat=True)
    )
    scores = [r.credit_score for r in listed]
    assert scores == sorted(scores)  # worst first by default
    text = response.content.decode()
    assert "its people&#x27;s records with a bar in force" in text or "its people's records" in text
    grade = listed[0].credit_grade
    filtered = client.get(reverse("integrity:credit_list"), {"grade": [grade]})
    assert {
        r.credit_grade for r in (row.record for row in filtered.context["table"].page.object_list)
    } == {grade}
    by_name = client.get(reverse("integrity:credit_list"), {"q": institutions[0].name})
    assert [row.record.pk for row in by_name.context["table"].page.object_list] == [
        institutions[0].pk
    ]
    desc = client.get(reverse("integrity:credit_list"), {"sort": "-credit_score"})
    assert [row.record.credit_score for row in desc.context["table"].page.object_list] == sorted(
        scores, reverse=True
    )
    detail = client.get(
        reverse("integrity:credit_detail", args=["institution", institutions[0].pk])
    )
    assert detail.status_code == 200 and 'id="credit-grade"' in detail.content.decode()
    assert client.get(reverse("integrity:credit_list_kind", args=["agency"])).status_code == 200
    assert client.get(reverse("integrity:credit_list_kind", args=["nothing"])).status_code == 404


def test_credit_page_pages_with_fixed_queries(login, django_assert_num_queries):
    client = login(f.officer())
    generate(seed=1, n=1)
    client.get(reverse("integrity:credit_list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("integrity:credit_list"))
    generate(seed=2, n=8)
    with django_assert_num_queries(len(one)):
        response = client.get(reverse("integrity:credit_list"), {"per_page": 5})
    assert len(response.context["table"].page.object_list) == 5


def test_credit_page_permissions(login):
    url = reverse("integrity:credit_list")
    assert login(f.auditor()).get(url).status_code == 200
    for user in (f.applicant(), f.reviewer(), f.agency_staff(f.AgencyFactory())):
        assert login(user).get(url).status_code == 404
