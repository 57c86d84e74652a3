"""Who may open a proposal's page, its attachments and its PDF: everyone else gets 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grants import services
from grants.enums import ApplicationState
from grants.models import Attachment
from tests import factories as f

S = ApplicationState

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf_upload(name="plan.pdf", content=PDF_BYTES):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def world():
    agency = f.AgencyFactory()
    application = f.ApplicationFactory(call__program__agency=agency)
    attachment = services.attachment_add(
        application=application,
        uploaded_by=application.applicant,
        title="研究计划",
        file=pdf_upload(),
    )
    f.set_state(application, S.SUBMITTED, number="BF-2026-000042")
    return {"agency": agency, "application": application, "attachment": attachment}


def urls(world):
    app, att = world["application"], world["attachment"]
    return [
        reverse("grants:detail", args=[app.pk]),
        reverse("grants:attachment", args=[app.pk, att.pk]),
        reverse("grants:pdf", args=[app.pk]),
    ]


def outsiders(world):
    other_institution = f.InstitutionFactory()
    return {
        "reviewer": f.reviewer(),
        "other applicant": f.applicant(institution=world["application"].institution),
        "other institution's admin": f.institution_admin(other_institution),
        "other agency's staff": f.agency_staff(f.AgencyFactory()),
    }


@pytest.mark.parametrize(
    "who", ["reviewer", "other applicant", "other institution's admin", "other agency's staff"]
)
def test_outsiders_get_404_on_detail_attachment_and_pdf(login, world, who):
    client = login(outsiders(world)[who])
    app = world["application"]
    statuses = [client.get(url).status_code for url in urls(world)]
    assert statuses == [404, 404, 404]
    response = client.post(reverse("grants:transition", args=[app.pk, "endorse"]))
    assert response.status_code == 404
    app.refresh_from_db()
    assert app.state == S.SUBMITTED


def test_institution_admin_does_not_see_unsubmitted_drafts(login):
    application = f.ApplicationFactory()
    admin = f.institution_admin(application.institution)
    assert login(admin).get(reverse("grants:detail", args=[application.pk])).status_code == 404


def test_attachment_is_streamed_privately(login, world):
    app, att = world["application"], world["attachment"]
    for user in [
        app.applicant,
        f.institution_admin(app.institution),
        f.agency_staff(world["agency"]),
    ]:
        response = login(user).get(reverse("grants:attachment", args=[app.pk, att.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "plan.pdf" in response["Content-Disposition"]
    # Pages link the checking view, never the stored file.
    html = login(app.applicant).get(reverse("grants:detail", args=[app.pk])).content.decode()
    assert reverse("grants:attachment", args=[app.pk, att.pk]) in html
    assert Attachment.objects.get(pk=att.pk).file.name not in html


def test_pdf_of_a_visible_proposal(login, world):
    app = world["application"]
    response = login(f.officer()).get(reverse("grants:pdf", args=[app.pk]))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_upload_takes_pdfs_only_and_remove_deletes(login):
    application = f.ApplicationFactory()
    client = login(application.applicant)
    url = reverse("grants:edit", args=[application.pk, "attachments"])
    response = client.post(
        url, {"title": "伪装", "file": pdf_upload("fake.pdf", b"<html>not a pdf</html>")}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["Only PDF files are accepted."]
    assert 'value="伪装"' in response.content.decode()
    response = client.post(url, {"title": "预算说明", "file": pdf_upload("budget.pdf")})
    assert response.status_code == 302
    attachment = application.attachments.get()
    assert (attachment.title, attachment.original_name) == ("预算说明", "budget.pdf")
    response = client.post(
        reverse("grants:attachment_remove", args=[application.pk, attachment.pk])
    )
    assert response.status_code == 302
    assert not application.attachments.exists()


def test_upload_size_limit(login, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    application = f.ApplicationFactory()
    client = login(application.applicant)
    big = PDF_BYTES + b"0" * (1024 * 1024)
    response = client.post(
        reverse("grants:edit", args=[application.pk, "attachments"]),
        {"title": "", "file": pdf_upload("big.pdf", big)},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["The file is larger than 1 MB."]
    assert not application.attachments.exists()


def test_team_member_reads_but_does_not_edit(login):
    member = f.applicant()
    application = f.ApplicationFactory(team=[member])
    client = login(member)
    assert client.get(reverse("grants:detail", args=[application.pk])).status_code == 200
    response = client.post(
        reverse("grants:edit", args=[application.pk, "content"]), {"title": "篡改"}
    )
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.title != "篡改"


def test_applicant_cannot_use_the_officer_queues(login):
    client = login(f.applicant())
    assert client.get(reverse("grants:formal_check_queue")).status_code == 403
    assert client.get(reverse("grants:institution_queue")).status_code == 403
