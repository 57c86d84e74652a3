"""Misconduct-case pages: who sees what (the reporter to integrity officers only, evidence
files to integrity officers only, a subject their decision), the list's filters and fixed
queries, the report form, the steps and appeal through the pages, the institution's request
page and the reviewer's intercession report."""

from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from integrity import cases
from integrity.models import CaseChannel, CaseState, InvestigationRequest, MisconductCase
from tests import factories as f

pytestmark = pytest.mark.django_db
S = CaseState

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
REPORTER = "王五举报人"
PHONE = "13912345678"


def pdf(name="evidence.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def open_case(officer=None, subject=None, **kw):
    officer = officer or f.integrity_officer()
    subject = subject or f.applicant()
    return cases.case_report(
        channel=CaseChannel.PAPER,
        title="评审请托举报",
        allegation="项目负责人托人向评审专家打招呼。",
        subjects=[{"user": subject}],
        reporter_name=REPORTER,
        reporter_phone=PHONE,
        evidence=[pdf()],
        created_by=officer,
        **kw,
    )


def decide(case, officer, now=None):
    case = cases.case_transition(case=case, name="investigate", user=officer)
    today = timezone.localdate(now) if now else timezone.localdate()
    return cases.case_transition(
        case=case,
        name="decide",
        user=officer,
        now=now,
        data={
            "findings": "请托属实。",
            "kind": "false_information",
            "sanctions": ["bar_apply"],
            "starts_on": today,
            "ends_on": today + timedelta(days=365),
            "deciding_body": "上海市科学技术委员会",
        },
    )


# --- who sees what --------------------------------------------------------------------------


def test_officer_reads_reporter_and_evidence(login):
    officer = f.integrity_officer()
    case = open_case(officer)
    page = login(officer).get(reverse("integrity:case_detail", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert REPORTER in html and PHONE in html
    evidence = case.evidence.get()
    assert reverse("integrity:case_evidence", args=[case.pk, evidence.pk]) in html
    download = login(officer).get(reverse("integrity:case_evidence", args=[case.pk, evidence.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_auditor_reads_metadata_and_timeline_but_not_reporter_or_files(login):
    officer = f.integrity_officer()
    case = decide(open_case(officer), officer)
    auditor = login(f.auditor())
    page = auditor.get(reverse("integrity:case_detail", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert case.number in html and "请托属实" in html
    assert 'class="timeline"' in html and ">Decide</span>" in html
    assert REPORTER not in html and PHONE not in html
    evidence = case.evidence.get()
    assert reverse("integrity:case_evidence", args=[case.pk, evidence.pk]) not in html
    assert (
        auditor.get(reverse("integrity:case_evidence", args=[case.pk, evidence.pk])).status_code
        == 404
    )


@pytest.mark.parametrize("who", ["program_officer", "applicant", "reviewer", "agency"])
def test_others_get_404_on_case_pages_and_files(login, who):
    officer = f.integrity_officer()
    case = open_case(officer)
    user = {
        "program_officer": f.officer,
        "applicant": f.applicant,
        "reviewer": f.reviewer,
        "agency": lambda: f.agency_staff(f.AgencyFactory()),
    }[who]()
    client = login(user)
    evidence = case.evidence.get()
    assert client.get(reverse("integrity:case_list")).status_code == 404
    assert client.get(reverse("integrity:case_detail", args=[case.pk])).status_code == 404
    assert (
        client.get(reverse("integrity:case_evidence", args=[case.pk, evidence.pk])).status_code
        == 404
    )


def test_subject_sees_the_decision_never_the_reporter_or_evidence(login):
    officer = f.integrity_officer()
    subject = f.applicant()
    case = open_case(officer, subject=subject)
    client = login(subject)
    # Before the decision the subject knows nothing of the case.
    assert client.get(reverse("integrity:my_case", args=[case.pk])).status_code == 404
    assert case.number not in client.get(reverse("integrity:my_cases")).content.decode()
    decide(case, officer)
    listing = client.get(reverse("integrity:my_cases")).content.decode()
    assert case.number in listing
    page = client.get(reverse("integrity:my_case", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "请托属实" in html
        and 'action="' + reverse("integrity:my_case_appeal", args=[case.pk]) in html
    )
    assert REPORTER not in html and PHONE not in html
    assert "项目负责人托人" not in html  # the allegation as reported stays with the office
    evidence = case.evidence.get()
    assert client.get(reverse("integrity:case_detail", args=[case.pk])).status_code == 404
    assert (
        client.get(reverse("integrity:case_evidence", args=[case.pk, evidence.pk])).status_code
        == 404
    )


def test_reporting_user_does_not_read_the_case(login):
    reporter = f.applicant()
    client = login(reporter)
    response = client.post(
        reverse("integrity:case_report"),
        {
            "title": "数据造假",
            "allegation": "实验数据系伪造。",
            "kind": "fabrication",
            "subject_name": "赵六",
            "subject_identity": "某研究所",
            "evidence": pdf(),
        },
    )
    case = MisconductCase.objects.get()
    assert response.status_code == 200 and case.number in response.content.decode()
    assert case.reporter_user == reporter and case.channel == CaseChannel.USER
    assert case.evidence.count() == 1
    assert client.get(reverse("integrity:case_detail", args=[case.pk])).status_code == 404


def test_report_form_shows_errors_inline(login):
    response = login(f.applicant()).post(
        reverse("integrity:case_report"),
        {
            "title": "",
            "allegation": "x",
            "subject_name": "y",
            "evidence": SimpleUploadedFile("a.pdf", b"plain text"),
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'class="errorlist"' in html
    assert not MisconductCase.objects.exists()


# --- the list -------------------------------------------------------------------------------


def test_list_filters_by_state_kind_subject_and_overdue(login):
    officer = f.integrity_officer()
    subject = f.applicant(full_name="钱七")
    decided = decide(open_case(officer, subject=subject), officer)
    reported = open_case(officer)
    InvestigationRequest.objects.create(
        case=reported,
        institution=f.InstitutionFactory(),
        message="x",
        due_on=timezone.localdate() - timedelta(days=2),
    )
    client = login(officer)
    url = reverse("integrity:case_list")

    def numbers(query):
        html = client.get(url, query).content.decode().split('id="overdue-h"')[0]
        return {c.number for c in (decided, reported) if c.number in html}

    assert numbers({}) == {decided.number, reported.number}
    assert numbers({"state": "decided"}) == {decided.number}
    assert numbers({"kind": "false_information"}) == {decided.number}
    assert numbers({"subject": "钱七"}) == {decided.number}
    assert numbers({"overdue": "on"}) == {reported.number}


def test_list_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    officer = f.integrity_officer()
    client = login(officer)
    open_case(officer)
    client.get(reverse("integrity:case_list"))  # warm caches (content types, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("integrity:case_list"))
    for _ in range(29):
        case = open_case(officer, subject=f.applicant())
        cases.case_assign_investigator(case=case, user=officer, investigator=officer)
    with django_assert_num_queries(len(one)):
        response = client.get(reverse("integrity:case_list"), {"per_page": 50})
    assert response.content.decode().count("IC-") >= 30


# --- steps through the pages ----------------------------------------------------------------


def test_officer_decides_through_the_page_with_inline_errors(login):
    officer = f.integrity_officer()
    case = open_case(officer)
    client = login(officer)
    client.post(reverse("integrity:case_step", args=[case.pk, "investigate"]))
    case.refresh_from_db()
    assert case.state == S.INVESTIGATING
    url = reverse("integrity:case_step", args=[case.pk, "decide"])
    bad = client.post(url, {"decide-findings": "", "decide-kind": "plagiarism"})
    assert bad.status_code == 400 and 'class="errorlist"' in bad.content.decode()
    today = timezone.localdate()
    client.post(
        url,
        {
            "decide-findings": "抄袭属实。",
            "decide-kind": "plagiarism",
            "decide-sanctions": ["bar_apply", "public_criticism"],
            "decide-starts_on": today.isoformat(),
            "decide-ends_on": (today + timedelta(days=365)).isoformat(),
            "decide-deciding_body": "上海市科学技术委员会",
        },
    )
    case.refresh_from_db()
    assert case.state == S.DECIDED
    assert case.records.get().sanctions == ["bar_apply", "public_criticism"]


def test_auditor_cannot_take_steps(login):
    officer = f.integrity_officer()
    case = open_case(officer)
    response = login(f.auditor()).post(
        reverse("integrity:case_step", args=[case.pk, "investigate"])
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == S.REPORTED


def test_subject_appeals_through_the_page_and_late_appeal_is_refused(login):
    officer = f.integrity_officer()
    subject = f.applicant()
    case = decide(open_case(officer, subject=subject), officer)
    client = login(subject)
    url = reverse("integrity:my_case_appeal", args=[case.pk])
    client.post(url, {"comment": "事实认定有误。"})
    case.refresh_from_db()
    assert case.state == S.APPEALED and case.appeal_text == "事实认定有误。"

    late_subject = f.applicant()
    long_ago = timezone.make_aware(datetime(2025, 3, 3, 10, 0))
    late = decide(open_case(officer, subject=late_subject), officer, now=long_ago)
    response = login(late_subject).post(
        reverse("integrity:my_case_appeal", args=[late.pk]), {"comment": "补充申诉。"}
    )
    assert response.status_code == 409
    assert late.appeal_deadline.isoformat() in response.content.decode()
    late.refresh_from_db()
    assert late.state == S.DECIDED


# --- the institution's request page ---------------------------------------------------------


def test_institution_request_page_is_theirs_alone(login):
    institution = f.InstitutionFactory()
    admin = f.institution_admin(institution)
    officer = f.integrity_officer()
    case = open_case(officer, subject=f.applicant(institution=institution))
    inquiry = cases.investigation_request_create(
        case=case,
        user=officer,
        institution=institution,
        message="请先行调查。",
        due_on=timezone.localdate() + timedelta(days=20),
    )
    url = reverse("integrity:investigation_request", args=[inquiry.pk])
    for outsider in (
        f.institution_admin(f.InstitutionFactory()),
        f.applicant(institution=institution),
        f.auditor(),
    ):
        assert login(outsider).get(url).status_code == 404
    client = login(admin)
    page = client.get(url).content.decode()
    assert "请先行调查。" in page
    assert REPORTER not in page and "项目负责人托人" not in page
    assert (
        inquiry.pk
        and case.number in client.get(reverse("integrity:investigation_requests")).content.decode()
    )
    client.post(url, {"report": pdf("调查报告.pdf"), "summary": "已调查。"})
    inquiry.refresh_from_db()
    assert inquiry.answered_by == admin
    # Officers download it; auditors do not.
    report_url = reverse("integrity:case_request_report", args=[inquiry.pk])
    assert b"".join(login(officer).get(report_url).streaming_content) == PDF
    assert login(f.auditor()).get(report_url).status_code == 404


def test_officer_asks_an_institution_through_the_page(login):
    officer = f.integrity_officer()
    case = open_case(officer)
    institution = f.InstitutionFactory()
    login(officer).post(
        reverse("integrity:case_request_add", args=[case.pk]),
        {
            "req-institution": institution.pk,
            "req-message": "请调查。",
            "req-due_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
        },
    )
    assert case.investigation_requests.get().institution == institution


# --- the reviewer's intercession report -----------------------------------------------------


def test_reviewer_reports_intercession_from_the_assignment_page(login):
    assignment = f.ReviewAssignmentFactory(state="accepted")
    client = login(assignment.reviewer)
    page = client.get(reverse("review:assignment", args=[assignment.pk])).content.decode()
    url = reverse("review:assignment_intercession", args=[assignment.pk])
    assert url in page
    assert client.get(url).status_code == 200
    response = client.post(url, {"who": "张三", "identity": "某大学", "what": "请我打高分。"})
    case = MisconductCase.objects.get()
    assert response.status_code == 302
    assert case.channel == CaseChannel.INTERCESSION and case.reporter_user == assignment.reviewer
    other = login(f.reviewer())
    assert other.post(url, {"who": "x", "what": "y"}).status_code == 404
    assert MisconductCase.objects.count() == 1


def test_officer_page_renders_in_every_state_with_its_forms(login):
    officer = f.integrity_officer()
    subject = f.applicant()
    client = login(officer)
    case = open_case(officer, subject=subject)
    url = reverse("integrity:case_detail", args=[case.pk])
    expected = {
        "reported": "steps/investigate/",
        "investigating": "steps/decide/",
        "decided": "steps/finalize/",
        "appealed": "steps/decide_appeal/",
    }
    html = client.get(url).content.decode()
    assert expected["reported"] in html and "steps/dismiss/" in html
    case = cases.case_transition(case=case, name="investigate", user=officer)
    assert expected["investigating"] in client.get(url).content.decode()
    today = timezone.localdate()
    case = cases.case_transition(
        case=case,
        name="decide",
        user=officer,
        data={
            "findings": "属实。",
            "kind": "plagiarism",
            "sanctions": ["warning"],
            "starts_on": today,
            "deciding_body": "上海市科学技术委员会",
        },
    )
    html = client.get(url).content.decode()
    assert expected["decided"] in html and "my-cases" not in html
    cases.case_transition(case=case, name="appeal", user=subject, comment="不服。")
    html = client.get(url).content.decode()
    assert expected["appealed"] in html and 'name="appeal-outcome"' in html
