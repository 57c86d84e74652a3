"""Follow-on funding: eligibility and maximum per grade (defaults and a program's own rule),
follow-on proposals checked at submission, and a failed grade barring the PI from the program
(409 integrity_block) and recovering the remaining funds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import override

from audit.workflow import WorkflowError
from finance import evaluation as ev
from finance import followon
from finance.models import FollowOnRule, ProgramBar
from grants.services import application_submit
from tests import factories as f
from tests.finance.test_evaluation import in_final_review, make_project

pytestmark = pytest.mark.django_db

D = Decimal


def graded(grade, **kw):
    project = in_final_review(**kw)
    comment = "" if grade != "fail" else "未完成任务"
    ev.evaluate(project=project, user=f.officer(), grade=grade, comment=comment)
    project.refresh_from_db()
    return project


@pytest.mark.parametrize(
    "grade, eligible, max_amount",
    [
        ("excellent", True, "850000.00"),
        ("good", True, "510000.00"),
        ("pass", False, "0.00"),
        ("fail", False, "0.00"),
    ],
)
def test_default_rule_per_grade(grade, eligible, max_amount):
    project = graded(grade)
    result = followon.follow_on(project)
    assert (result.eligible, result.max_amount) == (eligible, D(max_amount))
    assert result.reason


@override("en")
def test_reasons_say_why():
    assert "competitive call" in followon.follow_on(graded("pass")).reason
    assert "barred" in followon.follow_on(graded("fail")).reason
    assert "no performance grade" in followon.follow_on(make_project()).reason
    assert "60" in followon.follow_on(graded("good")).reason


def test_a_programs_own_rule_wins_over_the_default():
    program = f.ProgramFactory()
    FollowOnRule.objects.create(program=program, grade="good", eligible=True,
                                max_share=D("0.30"))  # fmt: skip
    FollowOnRule.objects.create(program=program, grade="pass", eligible=True,
                                max_share=D("0.10"))  # fmt: skip
    good = graded("good", call=f.CallFactory(program=program))
    passed = graded("pass", call=f.CallFactory(program=program))
    excellent = graded("excellent", call=f.CallFactory(program=program))
    assert followon.follow_on(good).max_amount == D("255000.00")
    assert (followon.follow_on(passed).eligible, followon.follow_on(passed).max_amount) == (
        True, D("85000.00"))  # fmt: skip
    assert followon.follow_on(excellent).max_amount == D("850000.00")  # default row


def test_follow_on_api_shape(api):
    project = graded("good")
    url = f"/api/v1/projects/{project.pk}/follow-on/"
    response = api(project.application.applicant).get(url)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"eligible", "max_amount", "reason"}
    assert (body["eligible"], body["max_amount"]) == (True, "510000.00")
    assert api(f.applicant()).get(url).status_code == 404
    admin = f.institution_admin(project.application.institution)
    assert api(admin).get(url).json()["eligible"] is True


def test_follow_on_page(login):
    project = graded("excellent")
    page = login(project.application.applicant).get(f"/projects/{project.pk}/follow-on/")
    assert page.status_code == 200
    assert "850000.00" in page.content.decode()
    assert login(f.applicant()).get(f"/projects/{project.pk}/follow-on/").status_code == 404


# --- follow-on proposals at submission -----------------------------------------------------


def follow_on_proposal(project, budget=None, **kw):
    kw.setdefault("call", f.CallFactory(program=project.application.call.program))
    return f.ApplicationFactory(
        applicant=project.application.applicant,
        predecessor=project,
        budget=budget,
        **kw,
    )


def small_budget(total):
    return {"business": D(total)}


def test_follow_on_within_the_maximum_is_submitted():
    project = graded("good")
    proposal = follow_on_proposal(project)  # 850,000 asked > 510,000 allowed
    with pytest.raises(ValidationError) as exc:
        application_submit(application=proposal, user=proposal.applicant)
    assert "budget" in exc.value.message_dict
    proposal.refresh_from_db()
    assert proposal.state == "draft" and not proposal.number
    ok = follow_on_proposal(project, budget=small_budget("500000.00"))
    application_submit(application=ok, user=ok.applicant)
    ok.refresh_from_db()
    assert ok.state == "submitted" and ok.predecessor == project
    # one follow-on per project
    assert followon.follow_on(project).eligible is False


def test_follow_on_refused_after_a_pass_grade(api):
    project = graded("pass")
    proposal = follow_on_proposal(project, budget=small_budget("100000.00"))
    url = f"/api/v1/applications/{proposal.pk}/transitions/submit/"
    response = api(proposal.applicant).post(url, {"comment": ""}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "limit_exceeded"
    proposal.refresh_from_db()
    assert proposal.state == "draft"


def test_follow_on_must_be_the_pis_own_project_in_the_same_program():
    project = graded("excellent")
    other_program = follow_on_proposal(project, budget=small_budget("1000.00"),
                                       call=f.CallFactory())  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        application_submit(application=other_program, user=other_program.applicant)
    assert "predecessor" in exc.value.message_dict
    someone_else = f.ApplicationFactory(
        predecessor=project, call=f.CallFactory(program=project.application.call.program),
        budget=small_budget("1000.00"),
    )  # fmt: skip
    with pytest.raises(ValidationError):
        application_submit(application=someone_else, user=someone_else.applicant)


# --- a failed grade bars the PI from the program and recovers ------------------------------


def test_failed_grade_bars_the_pi_from_the_program_for_two_years(api):
    project = graded("fail")
    pi, program = project.application.applicant, project.application.call.program
    bar = ProgramBar.objects.get()
    today = timezone.localdate()
    assert (bar.user, bar.program, bar.project, bar.starts_on) == (pi, program, project, today)
    assert bar.ends_on == today.replace(year=today.year + 2)
    # the next proposal to that program: 409 integrity_block
    proposal = f.ApplicationFactory(applicant=pi, call=f.CallFactory(program=program))
    url = f"/api/v1/applications/{proposal.pk}/transitions/submit/"
    response = api(pi).post(url, {"comment": ""}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    proposal.refresh_from_db()
    assert proposal.state == "draft"
    # another program is open to them
    elsewhere = f.ApplicationFactory(applicant=pi)
    application_submit(application=elsewhere, user=pi)
    elsewhere.refresh_from_db()
    assert elsewhere.state == "submitted"


def test_the_bar_ends_after_its_period():
    project = graded("fail")
    bar = ProgramBar.objects.get()
    later = bar.ends_on + timedelta(days=1)
    proposal = f.ApplicationFactory(
        applicant=project.application.applicant,
        call=f.CallFactory(program=project.application.call.program),
    )
    with pytest.raises(WorkflowError):
        followon.check_submission(proposal)
    followon.check_submission(proposal, on=later)  # no error


def test_a_programs_bar_period_is_data():
    program = f.ProgramFactory()
    FollowOnRule.objects.create(program=program, grade="fail", bar_years=3, recover_funds=True)
    graded("fail", call=f.CallFactory(program=program))
    bar = ProgramBar.objects.get()
    assert bar.ends_on.year - bar.starts_on.year == 3


def test_failed_grade_recovers_the_remaining_funds():
    money = pytest.importorskip("finance.money")
    if not hasattr(money, "balance"):
        pytest.skip("finance.money has no ledger balance")
    from audit.workflow import perform
    from finance.models import LedgerEntry

    project = make_project(state="contracting")
    officer = f.officer()
    project = perform(project, "sign", user=officer)
    from finance.models import Disbursement

    money.release(Disbursement.objects.filter(project=project).order_by("id").first(),
                  user=officer)  # fmt: skip
    paid_out = money.balance(project).net
    assert paid_out > 0
    from tests.finance.test_evaluation import final_files, st_report

    ev.final_submit(project=project, user=project.application.applicant, files=final_files(),
                    st_report=st_report())  # fmt: skip
    ev.evaluate(project=project, user=officer, grade="fail", comment="未完成")
    recovered = LedgerEntry.objects.filter(project=project, kind="recovered")
    assert recovered.exists()
    assert money.balance(project).net == 0
