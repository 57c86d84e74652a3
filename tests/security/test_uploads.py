"""Uploads are checked by their content (libmagic), not their name; uploaded files are
served as attachments that a browser neither sniffs nor runs."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from finance import evaluation
from grants import notice
from grants.models import Attachment
from integrity import cases
from tests import factories as f

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


FAKES = {"html": HTML, "zip": zip_bytes(), "exe": EXE}


def upload(name, content):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.mark.parametrize("kind", FAKES)
def test_a_fake_pdf_attachment_is_refused_inline(login, kind):
    application = f.ApplicationFactory()
    client = login(application.applicant)
    response = client.post(
        reverse("grants:edit", args=[application.pk, "attachments"]),
        {"title": "Plan", "file": upload("plan.pdf", FAKES[kind])},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["Only PDF files are accepted."]
    assert "Only PDF files are accepted." in response.content.decode()
    assert not Attachment.objects.exists()


def test_a_real_pdf_is_stored_and_served_safely(login):
    application = f.ApplicationFactory()
    client = login(application.applicant)
    response = client.post(
        reverse("grants:edit", args=[application.pk, "attachments"]),
        {"title": "Plan", "file": upload("plan.pdf", PDF)},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get(application=application)
    download = client.get(reverse("grants:attachment", args=[application.pk, attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert download["Cache-Control"] == "private, no-store"


def test_the_service_refuses_a_fake_too():
    """Whatever the caller (form, API, import), the service checks the content itself."""
    from grants import services

    application = f.ApplicationFactory()
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(
            application=application,
            uploaded_by=application.applicant,
            title="",
            file=upload("report.pdf", HTML),
        )
    assert exc.value.message_dict == {"file": ["Only PDF files are accepted."]}


@pytest.mark.parametrize("name", ["seal.png", "seal.jpg", "seal.pdf"])
def test_objection_files_are_checked_by_content(name):
    with pytest.raises(ValidationError) as exc:
        notice.check_file(SimpleUploadedFile(name, HTML), "seal")
    assert exc.value.message_dict == {"seal": ["Only PDF, JPEG or PNG files are accepted."]}
    assert notice.check_file(SimpleUploadedFile("scan.bin", PDF), "seal") == "pdf"


def test_objection_form_shows_the_refusal_beside_the_field():
    from datetime import timedelta

    from django.utils import timezone

    from grants.enums import ApplicationState
    from grants.models import Objection

    application = f.ApplicationFactory()
    now = timezone.now()
    f.set_state(
        application,
        ApplicationState.IN_NOTICE,
        number=f"BF-2027-{application.pk:06d}",
        notice_starts_at=now - timedelta(days=1),
        notice_ends_at=now + timedelta(days=3),
    )
    response = Client().post(
        reverse("notices:object", args=[application.pk]),
        {"kind": "anonymous", "text": "见附件。", "evidence": upload("evidence.pdf", EXE)},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["evidence"] == [
        "Only PDF, JPEG or PNG files are accepted."
    ]
    assert not Objection.objects.exists()


def test_integrity_evidence_is_checked_by_content():
    with pytest.raises(ValidationError) as exc:
        cases.check_file(SimpleUploadedFile("evidence.jpg", zip_bytes()), "file")
    assert exc.value.message_dict == {"file": ["Only PDF, JPEG or PNG files are accepted."]}
    assert cases.check_file(SimpleUploadedFile("x.dat", PDF), "file") == ("pdf", "application/pdf")


def test_finance_reports_are_checked_by_content():
    from decimal import Decimal

    from grants.models import Project

    application = f.ApplicationFactory()
    f.set_state(application, "awarded", number=f"BF-2027-{application.pk:06d}")
    project = Project.objects.create(
        application=application,
        number=f"XM-2027-{application.pk:06d}",
        approved_budget=Decimal("850000.00"),
    )
    with pytest.raises(ValidationError) as exc:
        evaluation.midterm_submit(
            project=project,
            user=application.applicant,
            text="Half-way.",
            file=upload("midterm.pdf", HTML),
        )
    assert exc.value.message_dict["file"] == ["Only PDF files are accepted."]
    files = {name: upload(f"{name}.pdf", PDF) for name in evaluation.FINAL_INPUTS}
    files["audit_report"] = upload("audit.png", EXE)
    with pytest.raises(ValidationError) as exc:
        evaluation.final_submit(
            project=project,
            user=application.applicant,
            files=files,
            st_report={
                "file": upload("st.pdf", zip_bytes()),
                "title": "T",
                "abstract": "A",
                "keywords": "k",
                "results_summary": "R",
            },
        )
    assert exc.value.message_dict == {
        "audit_report": ["Only PDF, JPEG or PNG files are accepted."],
        "st_report": ["Only PDF files are accepted."],
    }
