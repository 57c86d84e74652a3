"""Mid-term check, final evaluation (inputs, outcome, grade, notice), mails, API shapes,
permissions and who sees the outcomes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import TransitionLog
from audit.workflow import WorkflowError, perform
from finance import evaluation as ev
from finance.models import FinalEvaluation, MidtermDecision, MidtermReport, STReport
from grants.models import Project
from tests import factories as f

pytestmark = pytest.mark.django_db

D = Decimal
QUERIES_OUTCOMES = 6  # the same for 1 and for 30 rows


def pdf(name="r.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 test", content_type="application/pdf")


def make_project(state="active", **app_kw):
    application = f.ApplicationFactory(**app_kw)
    application = f.set_state(application, "awarded", number=f"BF-2027-{application.pk:06d}")
    project = Project.objects.create(
        application=application, number=f"XM-2027-{application.pk:06d}",
        approved_budget=D("850000.00"),
    )  # fmt: skip
    Project.objects.filter(pk=project.pk).update(state=state)
    project.refresh_from_db()
    return project


def final_files():
    return {n: pdf(f"{n}.pdf") for n in ev.FINAL_INPUTS}


def st_report(**kw):
    return {"file": pdf("st.pdf"), "title": "拓扑相变研究报告", "abstract": "摘要",
            "keywords": "量子材料; 拓扑", "results_summary": "成果", **kw}  # fmt: skip


def in_final_review(**kw):
    project = make_project(**kw)
    ev.final_submit(project=project, user=project.application.applicant, files=final_files(),
                    st_report=st_report())  # fmt: skip
    project.refresh_from_db()
    return project


# --- mid-term ------------------------------------------------------------------------------


def test_midterm_submit_and_pass(django_capture_on_commit_callbacks, mailoutbox):
    project = make_project()
    pi, officer = project.application.applicant, f.officer()
    with django_capture_on_commit_callbacks(execute=True):
        ev.midterm_submit(project=project, user=pi, text="进展顺利", file=pdf())
    project.refresh_from_db()
    assert project.state == "midterm_review"
    with django_capture_on_commit_callbacks(execute=True):
        ev.midterm_decide(project=project, user=officer, decision="passed",
                          expert_opinion="同意通过")  # fmt: skip
    project.refresh_from_db()
    assert project.state == "active"
    report = MidtermReport.objects.get(project=project)
    assert (report.decision, report.decided_by, report.expert_opinion) == (
        MidtermDecision.PASSED,
        officer,
        "同意通过",
    )
    assert [m.to for m in mailoutbox] == [[pi.email], [pi.email]]
    assert project.number in mailoutbox[1].subject


def test_midterm_requires_text_and_pdf_and_the_pi():
    project = make_project()
    with pytest.raises(ValidationError) as exc:
        ev.midterm_submit(project=project, user=project.application.applicant, text="", file=None)
    assert set(exc.value.message_dict) == {"text", "file"}
    with pytest.raises(PermissionDenied):
        ev.midterm_submit(project=project, user=f.officer(), text="x", file=pdf())
    project.refresh_from_db()
    assert project.state == "active" and not MidtermReport.objects.exists()


def test_midterm_fail_holds_money_and_a_revised_report_can_pass():
    project = make_project()
    pi, officer = project.application.applicant, f.officer()
    ev.midterm_submit(project=project, user=pi, text="r1", file=pdf())
    with pytest.raises(ValidationError):
        ev.midterm_decide(project=project, user=officer, decision="hold")  # reason needed
    ev.midterm_decide(project=project, user=officer, decision="hold", comment="进度严重滞后")
    project.refresh_from_db()
    assert project.state == "midterm_review"
    assert MidtermReport.objects.get().decision == MidtermDecision.HOLD
    log = TransitionLog.objects.for_object(project).values_list("transition", flat=True)
    assert list(log) == ["submit_midterm"]
    ev.midterm_submit(project=project, user=pi, text="r2", file=pdf())
    ev.midterm_decide(project=project, user=officer, decision="passed")
    project.refresh_from_db()
    assert project.state == "active"
    assert list(project.midterm_reports.order_by("id").values_list("decision", flat=True)) == [
        "hold",
        "passed",
    ]


def test_midterm_fail_holds_the_unpaid_instalments():
    money = pytest.importorskip("finance.money")
    if not hasattr(money, "hold_project"):
        pytest.skip("finance.money has no project hold")
    from finance.models import Disbursement

    project = make_project(state="contracting")
    officer = f.officer()
    project = perform(project, "sign", user=officer)
    ev.midterm_submit(project=project, user=project.application.applicant, text="r",
                      file=pdf())  # fmt: skip
    ev.midterm_decide(project=project, user=officer, decision="hold", comment="滞后")
    unpaid = Disbursement.objects.filter(project=project).exclude(released_at__isnull=False)
    assert unpaid.exists()
    assert set(unpaid.values_list("state", flat=True)) == {"held"}


def test_midterm_fail_may_terminate():
    project = make_project()
    ev.midterm_submit(project=project, user=project.application.applicant, text="r", file=pdf())
    ev.midterm_decide(project=project, user=f.officer(), decision="terminate", comment="无进展")
    project.refresh_from_db()
    assert project.state == "terminated"


def test_only_the_projects_officer_decides_the_midterm():
    project = make_project()
    ev.midterm_submit(project=project, user=project.application.applicant, text="r", file=pdf())
    for user in (project.application.applicant, f.institution_admin(project.application.institution),
                 f.agency_staff(f.AgencyFactory())):  # fmt: skip
        with pytest.raises(PermissionDenied):
            ev.midterm_decide(project=project, user=user, decision="passed")
    assert MidtermReport.objects.get().decision == MidtermDecision.PENDING


# --- final evaluation ----------------------------------------------------------------------


def test_final_submission_requires_every_input():
    project = make_project()
    pi = project.application.applicant
    files = final_files()
    files.pop("audit_report")
    with pytest.raises(ValidationError) as exc:
        ev.final_submit(project=project, user=pi, files=files, st_report=st_report(file=None,
                        abstract=""))  # fmt: skip
    assert set(exc.value.message_dict) == {"audit_report", "st_report", "st_abstract"}
    project.refresh_from_db()
    assert project.state == "active"
    assert not FinalEvaluation.objects.exists() and not STReport.objects.exists()


def test_submit_final_by_any_path_needs_the_inputs():
    project = make_project()
    with pytest.raises(ValidationError) as exc:
        perform(project, "submit_final", user=project.application.applicant)
    assert "audit_report" in exc.value.message_dict
    project.refresh_from_db()
    assert project.state == "active"


def test_final_submission_keeps_the_public_part_of_the_st_report():
    project = in_final_review()
    assert project.state == "final_review"
    report = project.st_report
    assert (report.title, report.keywords, report.results_summary) == (
        "拓扑相变研究报告",
        ["量子材料", "拓扑"],
        "成果",
    )
    assert report.published_at is None
    assert project.final_evaluation.audit_report.name


def test_evaluation_passes_grades_notices_and_mails(django_capture_on_commit_callbacks,
                                                    mailoutbox):  # fmt: skip
    project = in_final_review()
    pi = project.application.applicant
    pi.language = "en"
    pi.save()
    officer = f.officer()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = ev.evaluate(project=project, user=officer, grade="excellent", comment="优秀")
    project.refresh_from_db()
    assert project.state == "completed"
    assert (evaluation.outcome, evaluation.grade) == ("pass", "excellent")
    assert ev.performance_grade(project) == "excellent"
    assert evaluation.notice_ends_at - evaluation.notice_starts_at == timedelta(days=5)
    assert evaluation.notice_starts_at >= before
    assert list(ev.result_notices()) == [evaluation]
    assert STReport.objects.get(project=project).published_at is not None
    log = TransitionLog.objects.for_object(project).latest("id")
    assert (log.transition, log.actor) == ("accept", officer)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [pi.email]
    assert "Excellent" in mailoutbox[0].subject
    assert "100 %" in mailoutbox[0].body


def test_mail_in_the_pis_language(django_capture_on_commit_callbacks, mailoutbox):
    project = in_final_review()
    pi = project.application.applicant
    pi.language = "zh-hans"
    pi.save()
    with django_capture_on_commit_callbacks(execute=True):
        ev.evaluate(project=project, user=f.officer(), grade="good")
    assert mailoutbox[0].to == [pi.email]
    assert project.number in mailoutbox[0].subject


def test_outcome_and_grade_must_agree():
    project = in_final_review()
    officer = f.officer()
    with pytest.raises(ValidationError):
        ev.evaluate(project=project, user=officer, grade="fail", outcome="pass")
    with pytest.raises(ValidationError):
        ev.evaluate(project=project, user=officer, grade="good", outcome="closed", comment="x")
    with pytest.raises(ValidationError):
        ev.evaluate(project=project, user=officer, grade="fail", comment="")  # reason
    ev.evaluate(project=project, user=officer, grade="fail", outcome="closed", comment="未完成")
    project.refresh_from_db()
    assert project.state == "closed"
    assert ev.performance_grade(project) == "fail"


def test_evaluation_only_in_final_review():
    project = make_project()
    with pytest.raises(WorkflowError) as exc:
        ev.evaluate(project=project, user=f.officer(), grade="good")
    assert exc.value.code == "invalid_transition"
    assert ev.performance_grade(project) is None


def test_panel_opinions_are_recorded():
    project = in_final_review()
    officer, expert = f.officer(), f.reviewer()
    ev.panel_opinion_add(project=project, user=officer, expert=expert, recommendation="pass",
                         grade="good", opinion="完成任务")  # fmt: skip
    ev.panel_opinion_add(project=project, user=officer, expert=expert, recommendation="pass",
                         grade="excellent", opinion="超额完成")  # fmt: skip
    opinion = project.final_evaluation.opinions.get()
    assert (opinion.grade, opinion.opinion) == ("excellent", "超额完成")
    with pytest.raises(ValidationError):
        ev.panel_opinion_add(project=project, user=officer, expert=project.application.applicant,
                             recommendation="pass", grade="good", opinion="x")  # fmt: skip


# --- API -----------------------------------------------------------------------------------


def test_api_evaluation_by_the_officer(api):
    project = in_final_review()
    officer = f.officer()
    url = f"/api/v1/projects/{project.pk}/evaluation/"
    response = api(officer).post(url, {"grade": "good", "comment": "良好"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in ("project", "state", "outcome", "grade", "comment")} == {
        "project": project.pk, "state": "completed", "outcome": "pass", "grade": "good",
        "comment": "良好"}  # fmt: skip
    assert body["notice_ends_at"]
    assert api(project.application.applicant).get(url).json()["grade"] == "good"


def test_api_evaluation_permissions(api):
    project = in_final_review()
    url = f"/api/v1/projects/{project.pk}/evaluation/"
    pi = project.application.applicant
    response = api(pi).post(url, {"grade": "excellent"}, format="json")
    assert response.status_code == 403
    stranger = f.applicant()
    assert api(stranger).post(url, {"grade": "excellent"}, format="json").status_code == 404
    other_agency = f.agency_staff(f.AgencyFactory())
    assert api(other_agency).post(url, {"grade": "good"}, format="json").status_code == 404
    assert api().post(url, {"grade": "good"}, format="json").status_code in (401, 403)
    response = api(f.officer()).post(url, {"grade": "superb"}, format="json")
    assert response.status_code == 400 and "grade" in response.json()
    project.refresh_from_db()
    assert project.state == "final_review" and ev.performance_grade(project) is None


def test_api_evaluation_409_outside_final_review(api):
    project = make_project()
    url = f"/api/v1/projects/{project.pk}/evaluation/"
    response = api(f.officer()).post(url, {"grade": "good"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_agency_staff_evaluate_their_delegated_programs(api):
    agency = f.AgencyFactory()
    program = f.ProgramFactory(agency=agency)
    project = in_final_review(call=f.CallFactory(program=program))
    staff = f.agency_staff(agency)
    url = f"/api/v1/projects/{project.pk}/evaluation/"
    assert api(staff).post(url, {"grade": "pass"}, format="json").status_code == 200
    project.refresh_from_db()
    assert project.state == "completed" and ev.performance_grade(project) == "pass"


# --- institutions see their projects' outcomes ---------------------------------------------


def test_institution_sees_its_projects_outcomes(login):
    project = in_final_review()
    ev.evaluate(project=project, user=f.officer(), grade="good")
    other = in_final_review()
    ev.evaluate(project=other, user=f.officer(), grade="excellent")
    admin = f.institution_admin(project.application.institution)
    assert list(ev.outcomes_for_institution(admin)) == [project.final_evaluation]
    page = login(admin).get("/projects/evaluations/outcomes/")
    assert page.status_code == 200
    assert project.number in page.content.decode()
    assert other.number not in page.content.decode()
    detail = login(admin).get(f"/projects/{project.pk}/evaluation/")
    assert detail.status_code == 200
    assert login(admin).get(f"/projects/{other.pk}/evaluation/").status_code == 404


def _decided(n, institution):
    out = []
    for _i in range(n):
        project = in_final_review(applicant=f.applicant(institution=institution))
        ev.evaluate(project=project, user=f.officer(), grade="good")
        out.append(project)
    return out


@pytest.mark.parametrize("rows", [1, 30])
def test_outcomes_list_fixed_queries(login, django_assert_num_queries, rows):
    institution = f.InstitutionFactory()
    _decided(rows, institution)
    client = login(f.institution_admin(institution))
    client.get("/projects/evaluations/outcomes/")  # warm the session
    with django_assert_num_queries(QUERIES_OUTCOMES):
        page = client.get("/projects/evaluations/outcomes/?grade=good")
    assert page.status_code == 200
    assert page.content.decode().count("/evaluation/") >= min(rows, 25)


def test_public_result_notice_lists_results_in_their_days(client):
    project = in_final_review()
    evaluation = ev.evaluate(project=project, user=f.officer(), grade="excellent")
    page = client.get("/notices/results/")
    assert page.status_code == 200
    assert project.number in page.content.decode()
    FinalEvaluation.objects.filter(pk=evaluation.pk).update(
        notice_ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert project.number not in client.get("/notices/results/").content.decode()
