"""Integrity officers' exchange pages: upload, preview, confirm; import list; export."""

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrity import services
from integrity.models import CreditRecord, ImportBatch
from tests.factories import UserFactory, applicant, auditor, integrity_officer, officer

from .identities import id_number, orcid, row

pytestmark = pytest.mark.django_db


def upload(rows, name="list.json", source="上海市教育委员会"):
    f = io.BytesIO(json.dumps({"source": source, "records": rows}).encode())
    f.name = name
    return f


def rows():
    UserFactory(full_name="李四", orcid=orcid(1))
    return [row(name="李四", orcid=orcid(1)), row(name="孙七", id_number=id_number(7)),
            row(name="坏", category="gossip")]  # fmt: skip


def test_preview_writes_nothing_then_confirm_imports(login):
    client = login(integrity_officer())
    response = client.post(
        reverse("integrity:import_start"), {"file": upload(rows()), "dry_run": "on"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Would be created" in html and "gossip" in html and "Confirm the import" in html
    assert CreditRecord.objects.count() == 0 and ImportBatch.objects.count() == 0
    token = response.context["confirm"].initial["token"]

    response = client.post(reverse("integrity:import_confirm"), {"token": token, "source": ""})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "integrity:import_detail", args=[batch.pk]
    )
    assert (batch.created, batch.rejected, batch.matched, batch.unmatched) == (2, 1, 1, 1)
    # The stashed file is gone: confirming twice imports nothing more.
    again = client.post(reverse("integrity:import_confirm"), {"token": token})
    assert again.status_code == 302 and CreditRecord.objects.count() == 2

    page = client.get(reverse("integrity:import_detail", args=[batch.pk])).content.decode()
    assert "上海市教育委员会" in page and "gossip" in page and "李四" in page
    listing = client.get(reverse("integrity:import_list")).content.decode()
    assert "上海市教育委员会" in listing


def test_an_import_without_preview_and_a_csv_without_source(login):
    client = login(integrity_officer())
    response = client.post(reverse("integrity:import_start"), {"file": upload(rows())})
    assert response.status_code == 302 and CreditRecord.objects.count() == 2

    csv_file = io.BytesIO(b"category,starts_on\nplagiarism,2026-01-01\n")
    csv_file.name = "x.csv"
    response = client.post(reverse("integrity:import_start"), {"file": csv_file})
    assert response.status_code == 200
    assert "Name the sending department." in response.content.decode()
    assert ImportBatch.objects.count() == 1


def test_the_export_page_and_files_carry_checksums(login):
    services.record_create(
        created_by=None,
        subject_user=UserFactory(full_name="郑十一"),
        category="fabrication",
        sanctions=["serious_dishonesty_list"],
        starts_on=timezone.localdate() - timedelta(days=1),
        decision="d",
        deciding_body="b",
    )
    client = login(integrity_officer())
    page = client.get(reverse("integrity:export"))
    assert page.status_code == 200
    for fmt in ("csv", "json"):
        body = client.get(reverse("integrity:export_download", args=[fmt])).content
        sha = hashlib.sha256(body).hexdigest()
        assert sha in page.content.decode() and "郑十一" in body.decode()
        sidecar = client.get(reverse("integrity:export_sidecar", args=[fmt])).content.decode()
        assert sidecar.startswith(sha + "  serious-dishonesty-")


@pytest.mark.parametrize("make", [officer, auditor, applicant])
def test_nobody_else_sees_the_exchange_pages(login, make):
    client = login(make())
    for name, args in (
        ("import_list", []),
        ("import_start", []),
        ("export", []),
        ("export_download", ["csv"]),
    ):
        assert client.get(reverse(f"integrity:{name}", args=args)).status_code == 404
    assert (
        client.post(reverse("integrity:import_start"), {"file": upload(rows())}).status_code == 404
    )
    assert CreditRecord.objects.count() == 0


def test_the_import_list_makes_the_same_queries_for_1_and_30_batches(
    login, django_assert_num_queries
):
    user = integrity_officer()
    client = login(user)
    ImportBatch.objects.create(source="a", file_format="csv", created_by=user)
    client.get(reverse("integrity:import_list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("integrity:import_list"))
    for i in range(29):
        ImportBatch.objects.create(source=f"s{i}", file_format="json", created_by=UserFactory())
    with django_assert_num_queries(len(one)):
        client.get(reverse("integrity:import_list"))
