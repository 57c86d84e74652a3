"""Misconduct cases, through the services: the whole path from report to final decision,
the appeal window in working days, dismissal, who may take which step, the institution's own
investigation, the system's finalisation, and the objection and intercession hooks."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit import workflow
from audit.models import TransitionLog
from audit.selectors import timeline
from audit.workflow import WorkflowError
from integrity import cases
from integrity.models import (
    Action,
    CaseChannel,
    CaseState,
    CreditRecord,
    InvestigationRequest,
    MisconductCase,
)
from integrity.services import check_eligibility
from programs.rules import DEFAULTS
from tests import factories as f

pytestmark = pytest.mark.django_db
S = CaseState

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


def pdf(name="evidence.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def report(officer=None, *, subjects=None, **kw):
    officer = officer or f.integrity_officer()
    return cases.case_report(
        channel=CaseChannel.PAPER,
        title="论文抄袭举报",
        allegation="申请书第三章与他人论文大段相同。",
        subjects=subjects if subjects is not None else [],
        reporter_name="王五",
        reporter_phone="13800000000",
        created_by=officer,
        **kw,
    )


DECISION = {
    "findings": "经调查，抄袭属实。",
    "kind": "plagiarism",
    "sanctions": ["bar_apply"],
    "deciding_body": "上海市科学技术委员会",
    "legal_basis": "科研失信行为调查处理规则 第二十条",
}


def decided_case(*, subject=None, institution=None, now=None, **decision):
    officer = f.integrity_officer()
    subject = subject or f.applicant(email="pi@example.org")
    subjects = [{"user": subject}]
    if institution is not None:
        subjects.append({"institution": institution})
    case = report(officer, subjects=subjects)
    case = cases.case_transition(case=case, name="investigate", user=officer)
    today = timezone.localdate(now) if now else timezone.localdate()
    data = {**DECISION, "starts_on": today, "ends_on": today + timedelta(days=730), **decision}
    case = cases.case_transition(case=case, name="decide", user=officer, data=data, now=now)
    return case, officer, subject


# --- the appeal window ----------------------------------------------------------------------


def test_working_days_skip_weekends():
    friday = date(2026, 11, 6)
    assert cases.add_working_days(friday, 1) == date(2026, 11, 9)  # Monday
    assert cases.add_working_days(date(2026, 11, 2), 15) == date(2026, 11, 23)
    assert cases.add_working_days(date(2026, 11, 7), 5) == date(2026, 11, 13)  # from Saturday


def test_default_window_is_the_rule_sets():
    assert MisconductCase().appeal_working_days == DEFAULTS["appeal_working_days"] == 15


# --- the whole path -------------------------------------------------------------------------


def test_report_investigate_decide_appeal_amend_final(django_capture_on_commit_callbacks):
    institution = f.InstitutionFactory()
    subject = f.applicant(email="pi@example.org", language="en", institution=institution)
    f.institution_admin(institution, email="office@example.org")
    officer = f.integrity_officer()

    case = report(officer, subjects=[{"user": subject}, {"institution": institution}])
    assert case.state == S.REPORTED
    assert case.number == f"IC-{timezone.localdate().year}-{case.pk:06d}"
    case = cases.case_transition(case=case, name="investigate", user=officer)
    assert case.state == S.INVESTIGATING and case.investigator == officer

    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        case = cases.case_transition(
            case=case,
            name="decide",
            user=officer,
            data={**DECISION, "starts_on": today, "ends_on": today + timedelta(days=730)},
        )
    case.refresh_from_db()
    assert case.state == S.DECIDED
    assert case.appeal_deadline == cases.add_working_days(today, 15)

    # One record per subject, linked to the case, barring at once.
    records = list(case.records.order_by("id"))
    assert [(r.subject_user, r.subject_institution) for r in records] == [
        (subject, None),
        (None, institution),
    ]
    assert all(r.bars == ["apply"] and r.source == CreditRecord.Source.OWN for r in records)
    assert not check_eligibility(Action.APPLY, users=[subject])
    assert not check_eligibility(Action.APPLY, institutions=[institution])
    assert check_eligibility(Action.REVIEW, users=[subject])

    # The subject and the institution's admin are told, each in their language; never who
    # reported.
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"pi@example.org", "office@example.org"}
    english = by_address["pi@example.org"]
    assert english.subject == f"Integrity decision in case {case.number}"
    assert case.appeal_deadline.isoformat() in english.body
    assert "王五" not in english.body and "13800000000" not in english.body

    # The subject appeals within the window.
    mail.outbox.clear()
    case = cases.case_transition(
        case=case, name="appeal", user=subject, comment="引用已注明出处，并非抄袭。"
    )
    assert case.state == S.APPEALED
    assert case.appealed_by == subject

    # Amended on appeal: a warning only; corrections supersede the records.
    with django_capture_on_commit_callbacks(execute=True):
        case = cases.case_transition(
            case=case,
            name="decide_appeal",
            user=officer,
            comment="部分引用已注明，改为警告。",
            data={"outcome": "amend", "sanctions": ["warning"], "bars": []},
        )
    case.refresh_from_db()
    assert case.state == S.FINAL and case.appeal_outcome == "amend"
    live = list(case.records.filter(superseded_by__isnull=True).order_by("id"))
    assert len(live) == 2 and all(r.supersedes in records for r in live)
    assert all(r.bars == [] and r.sanctions == ["warning"] for r in live)
    assert check_eligibility(Action.APPLY, users=[subject])
    assert check_eligibility(Action.APPLY, institutions=[institution])
    assert {m.to[0] for m in mail.outbox} == {"pi@example.org", "office@example.org"}

    steps = [(e.transition, e.source, e.target, e.actor) for e in timeline(case)]
    assert steps == [
        ("investigate", "reported", "investigating", officer),
        ("decide", "investigating", "decided", officer),
        ("appeal", "decided", "appealed", subject),
        ("decide_appeal", "appealed", "final", officer),
    ]


def test_appeal_upheld_keeps_the_records():
    case, officer, subject = decided_case()
    case = cases.case_transition(case=case, name="appeal", user=subject, comment="不服。")
    case = cases.case_transition(
        case=case, name="decide_appeal", user=officer, comment="维持。", data={"outcome": "uphold"}
    )
    assert case.state == S.FINAL and case.appeal_outcome == "uphold"
    assert case.records.filter(superseded_by__isnull=True).count() == 1
    assert not check_eligibility(Action.APPLY, users=[subject])


def test_late_appeal_is_refused_with_the_closing_date():
    monday = timezone.make_aware(datetime(2026, 11, 2, 10, 0))
    case, _officer, subject = decided_case(now=monday)
    assert case.appeal_deadline == date(2026, 11, 23)
    # The last day still counts...
    on_time = MisconductCase.objects.get(pk=case.pk)
    with pytest.raises(WorkflowError):
        # ...but not for someone who is not a subject.
        cases.case_transition(
            case=on_time,
            name="appeal",
            user=f.applicant(),
            comment="x",
            now=timezone.make_aware(datetime(2026, 11, 23, 18, 0)),
        )
    with pytest.raises(WorkflowError) as refused:
        cases.case_transition(
            case=case,
            name="appeal",
            user=subject,
            comment="太晚了",
            now=timezone.make_aware(datetime(2026, 11, 24, 9, 0)),
        )
    assert refused.value.code == "invalid_transition"
    assert "2026-11-23" in refused.value.detail
    case.refresh_from_db()
    assert case.state == S.DECIDED


def test_decision_needs_findings_and_a_subject():
    officer = f.integrity_officer()
    case = cases.case_transition(case=report(officer), name="investigate", user=officer)
    with pytest.raises(ValidationError) as missing:
        cases.case_transition(
            case=case, name="decide", user=officer, data={**DECISION, "findings": ""}
        )
    assert "findings" in missing.value.message_dict
    with pytest.raises(ValidationError) as nobody:
        cases.case_transition(
            case=case,
            name="decide",
            user=officer,
            data={**DECISION, "ends_on": timezone.localdate() + timedelta(days=30)},
        )
    assert "subjects" in nobody.value.message_dict
    case.refresh_from_db()
    assert case.state == S.INVESTIGATING and not CreditRecord.objects.exists()


def test_a_period_bar_without_an_end_is_refused_and_nothing_is_written():
    officer = f.integrity_officer()
    case = report(officer, subjects=[{"user": f.applicant()}])
    case = cases.case_transition(case=case, name="investigate", user=officer)
    with pytest.raises(ValidationError):
        cases.case_transition(case=case, name="decide", user=officer, data=dict(DECISION))
    case.refresh_from_db()
    assert case.state == S.INVESTIGATING
    assert not CreditRecord.objects.exists()
    assert not TransitionLog.objects.filter(transition="decide").exists()


# --- dismissal ------------------------------------------------------------------------------


@pytest.mark.parametrize("investigate_first", [False, True])
def test_dismiss_ends_the_case_without_a_finding(investigate_first):
    officer = f.integrity_officer()
    case = report(officer, subjects=[{"user": f.applicant()}])
    if investigate_first:
        case = cases.case_transition(case=case, name="investigate", user=officer)
    with pytest.raises(ValidationError):
        cases.case_transition(case=case, name="dismiss", user=officer, comment="")
    case = cases.case_transition(case=case, name="dismiss", user=officer, comment="证据不足。")
    assert case.state == S.DISMISSED
    assert not case.records.exists() and case.findings == ""
    assert workflow.available_names(case, officer) == []


def test_a_decided_case_cannot_be_dismissed():
    case, officer, _subject = decided_case()
    with pytest.raises(WorkflowError) as refused:
        cases.case_transition(case=case, name="dismiss", user=officer, comment="x")
    assert refused.value.code == "invalid_transition"


# --- who may take which step ----------------------------------------------------------------


def people(subject):
    institution = subject.institution
    return {
        "integrity_officer": f.integrity_officer(),
        "auditor": f.auditor(),
        "program_officer": f.officer(),
        "subject": subject,
        "subject_institution_admin": f.institution_admin(institution),
        "other_applicant": f.applicant(),
        "reviewer": f.reviewer(),
    }


EXPECTED = {
    # state: {transition: roles that may take it}
    S.REPORTED: {"investigate": {"integrity_officer"}, "dismiss": {"integrity_officer"}},
    S.INVESTIGATING: {"decide": {"integrity_officer"}, "dismiss": {"integrity_officer"}},
    S.DECIDED: {
        # Appeal: the person named, and the administrator of the institution named.
        "appeal": {"subject", "subject_institution_admin"},
        "finalize": {"integrity_officer"},
    },
    S.APPEALED: {"decide_appeal": {"integrity_officer"}},
    S.FINAL: {},
}


def test_permissions_matrix_per_transition():
    subject = f.applicant()
    who = people(subject)
    officer = who["integrity_officer"]
    case = report(officer, subjects=[{"user": subject}, {"institution": subject.institution}])
    for state, allowed in EXPECTED.items():
        for role, user in who.items():
            names = set(workflow.available_names(case, user))
            expected = {name for name, roles in allowed.items() if role in roles}
            assert names == expected, (state, role, names)
            for name in {t.name for t in workflow.all_transitions(MisconductCase)} - expected:
                if name == "decide_appeal" or name == "decide":
                    continue  # checked through available_names; they need data
                with pytest.raises((WorkflowError, PermissionDenied, ValidationError)):
                    cases.case_transition(case=case, name=name, user=user, comment="x")
        case.refresh_from_db()
        if state == S.REPORTED:
            case = cases.case_transition(case=case, name="investigate", user=officer)
        elif state == S.INVESTIGATING:
            case = cases.case_transition(
                case=case,
                name="decide",
                user=officer,
                data={**DECISION, "ends_on": timezone.localdate() + timedelta(days=365)},
            )
        elif state == S.DECIDED:
            case = cases.case_transition(case=case, name="appeal", user=subject, comment="不服")
        elif state == S.APPEALED:
            case = cases.case_transition(
                case=case,
                name="decide_appeal",
                user=officer,
                comment="维持",
                data={"outcome": "uphold"},
            )
    assert case.state == S.FINAL
    # The state never moved under a refused step: four logged steps, all by their owners.
    assert [e.transition for e in timeline(case)] == [
        "investigate",
        "decide",
        "appeal",
        "decide_appeal",
    ]


def test_the_system_finalizes_after_the_window_and_the_officer_at_any_time():
    monday = timezone.make_aware(datetime(2026, 11, 2, 10, 0))
    expired, _o, _s = decided_case(now=monday)
    running, officer, _s2 = decided_case()
    assert cases.finalize_unappealed(today=date(2026, 11, 23)) == 0  # last day of the window
    assert cases.finalize_unappealed() == 1
    expired.refresh_from_db()
    running.refresh_from_db()
    assert expired.state == S.FINAL and running.state == S.DECIDED
    entry = timeline(expired).last()
    assert (entry.transition, entry.actor) == ("finalize", None)
    # The system may not close a case whose window is open; the officer may.
    assert "finalize" not in workflow.available_names(running, None)
    running = cases.case_transition(
        case=running, name="finalize", user=officer, comment="当事人书面放弃申诉。"
    )
    assert running.state == S.FINAL


def test_finalize_task_runs_the_service():
    from integrity.tasks_cases import finalize_unappealed_cases

    case, _o, _s = decided_case(now=timezone.now() - timedelta(days=60))
    assert finalize_unappealed_cases.delay().get() == 1
    case.refresh_from_db()
    assert case.state == S.FINAL


# --- the institution's own investigation ----------------------------------------------------


def test_institution_is_asked_and_answers_once(django_capture_on_commit_callbacks):
    institution = f.InstitutionFactory()
    admin = f.institution_admin(institution, email="office@example.org")
    other_admin = f.institution_admin(f.InstitutionFactory())
    officer = f.integrity_officer()
    case = report(officer, subjects=[{"user": f.applicant(institution=institution)}])
    with django_capture_on_commit_callbacks(execute=True):
        inquiry = cases.investigation_request_create(
            case=case,
            user=officer,
            institution=institution,
            message="请贵单位先行调查并报送调查报告。",
            due_on=timezone.localdate() + timedelta(days=30),
        )
    assert [m.to for m in mail.outbox] == [["office@example.org"]]
    assert f"/integrity/investigation-requests/{inquiry.pk}/" in mail.outbox[0].body
    assert "王五" not in mail.outbox[0].body

    assert list(cases.requests_for_institution(admin)) == [inquiry]
    assert list(cases.requests_for_institution(other_admin)) == []
    with pytest.raises(PermissionDenied):
        cases.investigation_request_answer(request=inquiry, user=other_admin, report=pdf())
    with pytest.raises(ValidationError):
        cases.investigation_request_answer(
            request=inquiry,
            user=admin,
            report=SimpleUploadedFile("r.pdf", b"not a pdf", content_type="application/pdf"),
        )
    answered = cases.investigation_request_answer(
        request=inquiry, user=admin, report=pdf("report.pdf"), summary="情况属实。"
    )
    assert answered.answered_by == admin and answered.report_content_type == "application/pdf"
    with pytest.raises(WorkflowError):
        cases.investigation_request_answer(request=inquiry, user=admin, report=pdf())


def test_overdue_requests_are_listed():
    officer = f.integrity_officer()
    case = report(officer)
    due = InvestigationRequest.objects.create(
        case=case,
        institution=f.InstitutionFactory(),
        message="x",
        due_on=timezone.localdate() - timedelta(days=1),
    )
    InvestigationRequest.objects.create(
        case=case,
        institution=f.InstitutionFactory(),
        message="y",
        due_on=timezone.localdate() + timedelta(days=3),
    )
    assert list(cases.overdue_requests()) == [due]
    assert cases.cases_for_reader(officer).get(pk=case.pk).has_overdue_request is True


def test_due_date_must_be_in_the_future_and_only_officers_ask():
    officer = f.integrity_officer()
    case = report(officer)
    with pytest.raises(ValidationError):
        cases.investigation_request_create(
            case=case,
            user=officer,
            institution=f.InstitutionFactory(),
            message="x",
            due_on=timezone.localdate(),
        )
    with pytest.raises(PermissionDenied):
        cases.investigation_request_create(
            case=case,
            user=f.auditor(),
            institution=f.InstitutionFactory(),
            message="x",
            due_on=timezone.localdate() + timedelta(days=9),
        )


# --- reports --------------------------------------------------------------------------------


def test_evidence_is_checked_by_content():
    officer = f.integrity_officer()
    with pytest.raises(ValidationError) as refused:
        report(
            officer,
            evidence=[SimpleUploadedFile("x.pdf", b"MZ\x90\x00", content_type="application/pdf")],
        )
    assert "evidence" in refused.value.message_dict
    assert not MisconductCase.objects.exists()
    case = report(officer, evidence=[pdf()])
    (evidence,) = case.evidence.all()
    assert evidence.content_type == "application/pdf" and evidence.file.read() == PDF


def test_only_integrity_officers_enter_paper_reports():
    with pytest.raises(PermissionDenied):
        report(f.auditor())


def test_objection_opens_a_case_with_the_objector_as_confidential_reporter():
    from django.core.cache import cache

    from grants.enums import ApplicationState
    from grants.notice import objection_file

    cache.clear()
    application = f.ApplicationFactory()
    now = timezone.now()
    f.set_state(
        application,
        ApplicationState.IN_NOTICE,
        number=f"BF-2027-{application.pk:06d}",
        notice_starts_at=now - timedelta(days=1),
        notice_ends_at=now + timedelta(days=3),
    )
    objection = objection_file(
        application=application,
        kind="person",
        name="李四",
        phone="+86 138 0000 0000",
        text="申请书中的论文并非申请人所写。",
        evidence=pdf(),
        client="198.51.100.7",
    )
    case = MisconductCase.objects.get()
    assert case.channel == CaseChannel.OBJECTION and case.state == S.REPORTED
    assert (case.reporter_name, case.reporter_phone) == ("李四", "+86 138 0000 0000")
    assert case.allegation == objection.text
    assert objection.confirmation_number in case.title
    assert [s.user for s in case.subjects.all()] == [application.applicant]
    assert (case.reference_type.model, case.reference_id) == ("objection", objection.pk)
    assert case.appeal_working_days == 15
    assert case.evidence.get().file.read() == PDF


def test_reviewer_reports_intercession_and_a_case_opens():
    from review.services import assignment_report_intercession

    assignment = f.ReviewAssignmentFactory(state="accepted")
    case = assignment_report_intercession(
        assignment=assignment,
        user=assignment.reviewer,
        who="张三",
        identity="某大学 教授",
        what="评审前一周张三打电话请我给该项目打高分。",
    )
    assert case.channel == CaseChannel.INTERCESSION and case.state == S.REPORTED
    assert case.reporter_user == assignment.reviewer
    assert case.kind == "false_information"
    assert [(s.name, s.identity) for s in case.subjects.all()] == [("张三", "某大学 教授")]
    assert (case.reference_type.model, case.reference_id) == (
        "application",
        assignment.application_id,
    )
    with pytest.raises(PermissionDenied):
        assignment_report_intercession(assignment=assignment, user=f.reviewer(), who="x", what="y")
    assert MisconductCase.objects.count() == 1
