"""API v1 /api/v1/integrity/cases/: officers list, read, open and move cases; auditors read
without the reporter and the evidence; a subject reads their decision and appeals in time;
everyone else sees nothing."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from integrity import cases
from integrity.models import CaseChannel, CaseState, CreditRecord, MisconductCase
from integrity.services import check_eligibility
from tests import factories as f

pytestmark = pytest.mark.django_db
S = CaseState
URL = "/api/v1/integrity/cases/"
REPORTER = "王五举报人"


def open_case(officer, subject):
    return cases.case_report(
        channel=CaseChannel.PAPER,
        title="抄袭",
        allegation="第三章抄袭。",
        subjects=[{"user": subject}],
        reporter_name=REPORTER,
        reporter_phone="13912345678",
        created_by=officer,
    )


def decision(today=None):
    today = today or timezone.localdate()
    return {
        "findings": "抄袭属实。",
        "kind": "plagiarism",
        "sanctions": ["bar_apply"],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
        "deciding_body": "上海市科学技术委员会",
    }


def test_officer_opens_and_runs_a_case_through_the_api(api):
    officer = f.integrity_officer()
    subject = f.applicant()
    client = api(officer)
    created = client.post(
        URL,
        {
            "title": "论文抄袭",
            "allegation": "第三章与他人论文相同。",
            "kind": "plagiarism",
            "subjects": [{"user": subject.pk}],
            "reporter": {"name": REPORTER, "phone": "13912345678"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    case = MisconductCase.objects.get(pk=body["id"])
    assert body["state"] == "reported" and body["channel"] == "paper"
    assert sorted(body["available_transitions"]) == ["dismiss", "investigate"]
    assert body["reporter"]["name"] == REPORTER and case.reporter_name == REPORTER
    assert body["subjects"][0]["user"] == subject.pk

    step = client.post(f"{URL}{case.pk}/transitions/investigate/", {}, format="json")
    assert step.status_code == 200 and step.json()["state"] == "investigating"
    decided = client.post(f"{URL}{case.pk}/transitions/decide/", decision(), format="json")
    assert decided.status_code == 200, decided.json()
    body = decided.json()
    assert body["state"] == "decided" and body["appeal_deadline"]
    (record_id,) = body["records"]
    assert CreditRecord.objects.get(pk=record_id).subject_user == subject
    assert not check_eligibility("apply", users=[subject])

    again = client.post(f"{URL}{case.pk}/transitions/decide/", decision(), format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    unknown = client.post(f"{URL}{case.pk}/transitions/explode/", {}, format="json")
    assert unknown.status_code == 409 and unknown.json()["code"] == "invalid_transition"


def test_decision_errors_are_400_by_field(api):
    officer = f.integrity_officer()
    case = cases.case_transition(
        case=open_case(officer, f.applicant()), name="investigate", user=officer
    )
    response = api(officer).post(
        f"{URL}{case.pk}/transitions/decide/", {**decision(), "findings": ""}, format="json"
    )
    assert response.status_code == 400 and "findings" in response.json()


def test_auditor_reads_without_reporter_or_evidence(api):
    officer = f.integrity_officer()
    case = open_case(officer, f.applicant())
    client = api(f.auditor())
    listing = client.get(URL).json()
    assert [c["id"] for c in listing["results"]] == [case.pk]
    detail = client.get(f"{URL}{case.pk}/").json()
    assert detail["number"] == case.number and detail["available_transitions"] == []
    assert "reporter" not in detail and "evidence" not in detail
    assert REPORTER not in str(listing) and REPORTER not in str(detail)
    refused = client.post(f"{URL}{case.pk}/transitions/investigate/", {}, format="json")
    assert refused.status_code == 409
    assert client.post(URL, {"title": "x", "allegation": "y"}, format="json").status_code == 403


@pytest.mark.parametrize("maker", [f.officer, f.applicant, f.reviewer])
def test_others_see_nothing(api, maker):
    officer = f.integrity_officer()
    case = open_case(officer, f.applicant())
    client = api(maker())
    assert client.get(URL).json()["count"] == 0
    assert client.get(f"{URL}{case.pk}/").status_code == 404
    assert client.post(f"{URL}{case.pk}/transitions/investigate/", {}).status_code == 404
    assert client.post(URL, {"title": "x", "allegation": "y"}, format="json").status_code == 403
    assert api(None).get(URL).status_code == 401


def test_subject_reads_the_decision_and_appeals_in_time(api):
    officer = f.integrity_officer()
    subject = f.applicant()
    case = open_case(officer, subject)
    client = api(subject)
    assert client.get(f"{URL}{case.pk}/").status_code == 404  # not decided yet
    case = cases.case_transition(case=case, name="investigate", user=officer)
    api(officer).post(f"{URL}{case.pk}/transitions/decide/", decision(), format="json")
    body = client.get(f"{URL}{case.pk}/").json()
    assert body["state"] == "decided" and body["available_transitions"] == ["appeal"]
    assert "reporter" not in body and "allegation" not in body and "evidence" not in body
    assert REPORTER not in str(body)
    appealed = client.post(
        f"{URL}{case.pk}/transitions/appeal/", {"comment": "事实有误。"}, format="json"
    )
    assert appealed.status_code == 200 and appealed.json()["state"] == "appealed"
    final = api(officer).post(
        f"{URL}{case.pk}/transitions/decide_appeal/",
        {"comment": "维持原决定。", "outcome": "uphold"},
        format="json",
    )
    assert final.status_code == 200 and final.json()["state"] == "final"


def test_late_appeal_through_the_api_is_409_with_the_date(api):
    officer = f.integrity_officer()
    subject = f.applicant()
    case = cases.case_transition(case=open_case(officer, subject), name="investigate", user=officer)
    long_ago = timezone.make_aware(datetime(2025, 3, 3, 10, 0))
    case = cases.case_transition(
        case=case,
        name="decide",
        user=officer,
        now=long_ago,
        data={**decision(long_ago.date()), "starts_on": long_ago.date(), "ends_on": None,
              "sanctions": ["permanent_bar"]},
    )  # fmt: skip
    response = api(subject).post(
        f"{URL}{case.pk}/transitions/appeal/", {"comment": "补充。"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert case.appeal_deadline.isoformat() in response.json()["detail"]
    case.refresh_from_db()
    assert case.state == S.DECIDED


def test_list_queries_do_not_grow_with_rows(api, django_assert_num_queries):
    officer = f.integrity_officer()
    client = api(officer)
    open_case(officer, f.applicant())
    client.get(URL)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(9):
        open_case(officer, f.applicant())
    with django_assert_num_queries(len(one)):
        assert client.get(URL).json()["count"] == 10
