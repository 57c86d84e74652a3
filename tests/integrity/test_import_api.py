"""API v1: POST /api/v1/integrity/records/import/ and GET …/records/export/ (api.md)."""

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from integrity import services
from integrity.models import CreditRecord, ImportBatch
from tests.factories import (
    InstitutionFactory,
    UserFactory,
    applicant,
    auditor,
    integrity_officer,
    officer,
)

from .identities import id_number, orcid, row

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrity/records/import/"
EXPORT = "/api/v1/integrity/records/export/"


def payload():
    inst = InstitutionFactory(name="复旦大学")
    known = UserFactory(full_name="李四", institution=inst, orcid=orcid(1))
    UserFactory(full_name="赵六", institution=inst)
    UserFactory(full_name="赵六", institution=inst)
    return known, {
        "source": "上海市教育委员会",
        "records": [
            row(name="李四", orcid=orcid(1)),
            row(name="孙七", id_number=id_number(7)),
            row(name="赵六", institution="复旦大学"),
            row(name="李四", orcid=orcid(1)),
            row(name="坏", category="nonsense"),
        ],
    }


def test_a_json_import_answers_the_counts_of_api_md(api):
    known, body = payload()
    body_bytes = json.dumps(body).encode()
    response = api(integrity_officer()).post(URL, body_bytes, content_type="application/json")
    assert response.status_code == 201
    data = response.json()
    assert (data["created"], data["duplicates"]) == (3, 1)
    assert data["rejected"] == [
        {"row": 5, "errors": {"category": ["Unknown misconduct: nonsense."]}}
    ]
    assert (data["matched"], data["ambiguous"], data["unmatched"]) == (1, 1, 1)
    assert data["report"]["matched"] == [
        {"row": 1, "subject": "李四", "via": "orcid", "user": known.pk}
    ]
    assert data["dry_run"] is False and data["batch"] == ImportBatch.objects.get().pk
    assert ImportBatch.objects.get().sha256 == hashlib.sha256(body_bytes).hexdigest()

    again = api(integrity_officer()).post(URL, body, format="json").json()
    assert (again["created"], again["duplicates"]) == (0, 4)
    assert CreditRecord.objects.count() == 3


def test_a_dry_run_previews_and_writes_nothing(api):
    _, body = payload()
    response = api(integrity_officer()).post(f"{URL}?dry_run=1", body, format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 3 and response.json()["dry_run"] is True
    assert CreditRecord.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_a_csv_file_imports_with_the_source_as_a_field(api):
    _, body = payload()
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(body["records"][0]) + ["orcid", "id_number", "institution"]
    )
    writer.writeheader()
    for r in body["records"]:
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in r.items()})
    upload = io.BytesIO(out.getvalue().encode())
    upload.name = "list.csv"
    response = api(integrity_officer()).post(
        URL, {"source": "上海市教育委员会", "file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["created"], data["duplicates"], len(data["rejected"])) == (3, 1, 1)
    batch = ImportBatch.objects.get()
    assert (batch.file_format, batch.filename, batch.source) == (
        "csv",
        "list.csv",
        "上海市教育委员会",
    )
    assert CreditRecord.objects.filter(source_department="上海市教育委员会").count() == 3


def test_a_list_without_a_source_or_records_is_a_400(api):
    client = api(integrity_officer())
    response = client.post(URL, {"records": [row()]}, format="json")
    assert response.status_code == 400 and "source" in response.json()
    response = client.post(URL, {"source": "x", "records": "nope"}, format="json")
    assert response.status_code == 400 and "records" in response.json()
    response = client.post(URL, b"{not json", content_type="application/json")
    assert response.status_code == 400 and "file" in response.json()
    assert CreditRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("make", "status"),
    [(officer, 403), (auditor, 403), (applicant, 404)],
)
def test_only_integrity_officers_import_and_export(api, make, status):
    """Writing a record is refused (403) to all others; the export, a read, is 403 to those
    who read the records and hidden (404) from everyone else."""
    _, body = payload()
    client = api(make())
    assert client.post(URL, body, format="json").status_code == 403
    assert client.get(EXPORT).status_code == status
    assert CreditRecord.objects.count() == 0
    assert api().post(URL, body, format="json").status_code == 401


def test_the_export_carries_its_checksum_and_sidecar(api):
    services.record_create(
        created_by=None,
        subject_user=UserFactory(full_name="郑十一"),
        category="fabrication",
        sanctions=["serious_dishonesty_list"],
        starts_on=timezone.localdate() - timedelta(days=1),
        decision="列入严重失信行为记录名单",
        deciding_body="上海市科学技术委员会",
    )
    client = api(integrity_officer())
    for fmt in ("csv", "json"):
        response = client.get(EXPORT, {"fmt": fmt})
        assert response.status_code == 200
        body = response.content
        assert "郑十一" in body.decode()
        assert response["X-Checksum-SHA256"] == hashlib.sha256(body).hexdigest()
        assert response["Content-Disposition"].endswith(f'.{fmt}"')
        sidecar = client.get(EXPORT, {"fmt": fmt, "sidecar": 1})
        digest, name = sidecar.content.decode().split()
        assert digest == hashlib.sha256(body).hexdigest() and name.endswith(f".{fmt}")
    assert client.get(EXPORT, {"fmt": "xml"}).status_code == 400


def test_records_api_shows_subjects_sanctions_and_the_manage_bar(api):
    staff = UserFactory()
    client = api(integrity_officer())
    response = client.post(
        "/api/v1/integrity/records/",
        {
            "subject_user": staff.pk,
            "category": "leaking_review",
            "sanctions": ["bar_manage", "public_criticism"],
            "bars": ["review"],
            "starts_on": timezone.localdate().isoformat(),
            "ends_on": (timezone.localdate() + timedelta(days=365)).isoformat(),
            "decision": "d",
            "deciding_body": "b",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["bars"] == ["review", "manage"]
    assert data["sanctions"] == ["bar_manage", "public_criticism"]
    assert (data["subject_kind"], data["match_status"]) == ("researcher", "matched")
    listed = client.get("/api/v1/integrity/records/", {"bars": "manage"}).json()
    assert [r["id"] for r in listed["results"]] == [data["id"]]
