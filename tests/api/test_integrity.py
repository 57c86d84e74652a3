"""Integrity records and the eligibility check through the API (api.md, Resources)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrity.models import CreditRecord
from tests.factories import (
    AgencyFactory,
    CreditRecordFactory,
    InstitutionFactory,
    agency_staff,
    applicant,
    auditor,
    institution_admin,
    integrity_officer,
    officer,
    reviewer,
)

pytestmark = pytest.mark.django_db

RECORD_FIELDS = {
    "id", "subject_user", "subject_institution", "category", "bars", "starts_on", "ends_on",
    "source", "description",
}  # fmt: skip


def test_integrity_officer_records_then_check_refuses(api):
    io, pi = integrity_officer(), applicant()
    today = timezone.localdate()
    client = api(io)

    response = client.post(
        "/api/v1/integrity/records/",
        {
            "subject_user": pi.pk,
            "category": "plagiarism",
            "bars": ["apply", "review"],
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=3 * 365)).isoformat(),
            "decision": "取消申报资格三年",
            "deciding_body": "上海市科学技术委员会",
            "legal_basis": "上海市科技信用信息管理办法",
            "description": "抄袭他人申报书",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    record = CreditRecord.objects.get()
    assert record.created_by == io
    assert (record.bars_apply, record.bars_review, record.bars_receive_funds) == (
        True,
        True,
        False,
    )
    data = response.json()
    assert RECORD_FIELDS <= set(data)
    assert data["bars"] == ["apply", "review"]
    assert data["source"] == "own"
    assert data["ends_on"] == (today + timedelta(days=3 * 365)).isoformat()

    apply = client.get(f"/api/v1/integrity/check/?user={pi.pk}&action=apply").json()
    funds = client.get(f"/api/v1/integrity/check/?user={pi.pk}&action=receive_funds").json()
    assert apply["allowed"] is False
    assert len(apply["reasons"]) == 1
    assert str(record.pk) in apply["reasons"][0]
    assert funds == {"allowed": True, "reasons": []}


def test_record_without_subject_or_with_bad_period_is_400(api):
    client = api(integrity_officer())
    today = timezone.localdate()
    no_subject = client.post(
        "/api/v1/integrity/records/",
        {"category": "plagiarism", "bars": ["apply"], "starts_on": today.isoformat()},
        format="json",
    )
    backwards = client.post(
        "/api/v1/integrity/records/",
        {
            "subject_institution": InstitutionFactory().pk,
            "category": "plagiarism",
            "bars": ["flying"],
            "starts_on": today.isoformat(),
        },
        format="json",
    )
    assert no_subject.status_code == 400
    assert list(no_subject.json()) == ["non_field_errors"]
    assert backwards.status_code == 400
    assert list(backwards.json()) == ["bars"]
    assert not CreditRecord.objects.exists()


def test_ends_before_start_is_400(api):
    today = timezone.localdate()
    response = api(integrity_officer()).post(
        "/api/v1/integrity/records/",
        {
            "subject_user": applicant().pk,
            "category": "other",
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "ends_on" in response.json()
    assert not CreditRecord.objects.exists()


@pytest.mark.parametrize("maker", [officer, auditor])
def test_officers_and_auditors_read_but_do_not_record(api, maker):
    record = CreditRecordFactory(subject_user=applicant())
    client = api(maker())
    listing = client.get("/api/v1/integrity/records/").json()
    assert [r["id"] for r in listing["results"]] == [record.pk]
    response = client.post(
        "/api/v1/integrity/records/",
        {"subject_user": record.subject_user_id, "category": "other", "starts_on": "2027-01-01"},
        format="json",
    )
    assert response.status_code == 403
    assert CreditRecord.objects.count() == 1


@pytest.mark.parametrize("who", ["subject", "applicant", "reviewer", "inst_admin", "staff"])
def test_others_see_no_records(api, who):
    subject = applicant()
    record = CreditRecordFactory(subject_user=subject)
    user = {
        "subject": lambda: subject,
        "applicant": applicant,
        "reviewer": reviewer,
        "inst_admin": lambda: institution_admin(subject.institution),
        "staff": lambda: agency_staff(AgencyFactory()),
    }[who]()
    client = api(user)
    assert client.get("/api/v1/integrity/records/").json()["count"] == 0
    assert client.get(f"/api/v1/integrity/records/{record.pk}/").status_code == 404


def test_records_are_never_edited_or_deleted(api):
    record = CreditRecordFactory(subject_user=applicant(), description="原始")
    client = api(integrity_officer())
    url = f"/api/v1/integrity/records/{record.pk}/"
    assert client.patch(url, {"description": "改"}, format="json").status_code == 405
    assert client.put(url, {"description": "改"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
    record.refresh_from_db()
    assert record.description == "原始"


def test_record_list_queries_do_not_grow(same_queries):
    CreditRecordFactory(subject_user=applicant())

    def add_rows():
        for _i in range(29):
            CreditRecordFactory(subject_institution=InstitutionFactory())

    same_queries(auditor(), "/api/v1/integrity/records/", add_rows)


# --- the check -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "maker",
    [officer, auditor, integrity_officer, lambda: agency_staff(AgencyFactory())],
)
def test_staff_check_anyone(api, maker):
    barred = reviewer()
    CreditRecordFactory(subject_user=barred, bars_apply=False, bars_review=True, ends_on=None)
    data = api(maker()).get(f"/api/v1/integrity/check/?user={barred.pk}&action=review").json()
    assert data["allowed"] is False
    assert len(data["reasons"]) == 1


def test_expired_records_do_not_bar(api):
    user = applicant()
    today = timezone.localdate()
    CreditRecordFactory(
        subject_user=user, starts_on=today - timedelta(days=400), ends_on=today - timedelta(1)
    )
    data = api(officer()).get(f"/api/v1/integrity/check/?user={user.pk}&action=apply").json()
    assert data == {"allowed": True, "reasons": []}


def test_a_user_checks_themselves_but_nobody_else(api):
    me, other = applicant(), applicant()
    CreditRecordFactory(subject_user=me)
    client = api(me)
    mine = client.get(f"/api/v1/integrity/check/?user={me.pk}&action=apply")
    theirs = client.get(f"/api/v1/integrity/check/?user={other.pk}&action=apply")
    nobody = client.get("/api/v1/integrity/check/?user=999999&action=apply")
    assert mine.json()["allowed"] is False
    assert theirs.status_code == 403
    assert nobody.status_code == 403  # same answer whether the account exists or not


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"user", "action"}),
        ("?user=1", {"action"}),
        ("?action=apply", {"user"}),
        ("?user=abc&action=apply", {"user"}),
        ("?user=1&action=fly", {"action"}),
        ("?user=999999&action=apply", {"user"}),
    ],
)
def test_check_bad_parameters_are_400(api, query, fields):
    response = api(officer()).get("/api/v1/integrity/check/" + query)
    assert response.status_code == 400
    assert set(response.json()) == fields
