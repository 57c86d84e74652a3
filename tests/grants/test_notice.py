"""The public notice page and objections: who may object how, files checked by content, the
rate limit, confirmation numbers, and the objector's identity seen by integrity officers only."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import TransitionLog
from grants.enums import ApplicationState
from grants.models import Objection, ObjectionState
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
# A real 1×1 PNG: uploads are checked by libmagic, which wants the IHDR chunk.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU"
    b"\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82"
)


def in_notice(ends_in=timedelta(days=3), **kw):
    application = f.ApplicationFactory(**kw)
    now = timezone.now()
    return f.set_state(
        application,
        S.IN_NOTICE,
        number=f"BF-2027-{application.pk:06d}",
        notice_starts_at=now - timedelta(days=1),
        notice_ends_at=now + ends_in,
    )


def object_url(application):
    return reverse("notices:object", args=[application.pk])


def person(**extra):
    return {"kind": "person", "name": "李四", "phone": "+86 138 0000 0000",
            "text": "申请书中的论文并非申请人所写。", **extra}  # fmt: skip


def test_public_notice_lists_proposals_in_notice_without_login():
    shown = in_notice(applicant=f.applicant(full_name="王五"))
    f.set_state(f.ApplicationFactory(call=shown.call), S.REVIEWED, number="BF-2027-999999")
    response = Client().get(reverse("notices:list"))
    assert response.status_code == 200
    assert [a.pk for a in response.context["rows"]] == [shown.pk]
    html = response.content.decode()
    for text in (shown.number, shown.title, "王五", shown.institution.name, "850,000.00"):
        assert text in html
    assert "BF-2027-999999" not in html
    assert object_url(shown) in html
    per_call = Client().get(reverse("notices:call", args=[shown.call_id]))
    assert [a.pk for a in per_call.context["rows"]] == [shown.pk]
    other_call = Client().get(reverse("notices:call", args=[f.CallFactory().pk]))
    assert list(other_call.context["rows"]) == []


def test_notice_list_in_a_fixed_number_of_queries(django_assert_num_queries):
    in_notice()
    client = Client()
    client.get(reverse("notices:list"))
    with django_assert_num_queries(1):
        client.get(reverse("notices:list"))
    for _ in range(5):
        in_notice()
    with django_assert_num_queries(1):
        response = client.get(reverse("notices:list"))
    assert len(response.context["rows"]) == 6


def test_person_objection_is_stored_with_a_confirmation_number():
    application = in_notice()
    response = Client().post(object_url(application), person())
    assert response.status_code == 201
    objection = Objection.objects.get()
    assert objection.application == application
    assert (objection.kind, objection.name, objection.phone) == (
        "person", "李四", "+86 138 0000 0000",
    )  # fmt: skip
    assert objection.state == ObjectionState.OPEN
    year = timezone.localtime().year
    assert objection.confirmation_number == f"OBJ-{year}-000001"
    assert objection.confirmation_number in response.content.decode()
    Client().post(object_url(application), person())
    assert sorted(Objection.objects.values_list("confirmation_number", flat=True)) == [
        f"OBJ-{year}-000001", f"OBJ-{year}-000002",
    ]  # fmt: skip


def test_institution_objection_needs_its_seal_checked_by_content():
    application = in_notice()
    data = {"kind": "institution", "institution_name": "上海某大学", "text": "重复申报"}
    response = Client().post(object_url(application), data)
    assert response.status_code == 400
    assert "institution&#x27;s seal" in response.content.decode()
    fake = SimpleUploadedFile("seal.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = Client().post(object_url(application), {**data, "seal": fake})
    assert response.status_code == 400
    assert "Only PDF, JPEG or PNG files are accepted." in response.content.decode()
    assert not Objection.objects.exists()
    seal = SimpleUploadedFile("seal.png", PNG, content_type="image/png")
    response = Client().post(object_url(application), {**data, "seal": seal})
    assert response.status_code == 201
    objection = Objection.objects.get()
    assert objection.kind == "institution"
    assert objection.seal.name.endswith(".png")
    with objection.seal.open("rb") as handle:
        assert handle.read() == PNG


def test_anonymous_objection_without_evidence_is_refused_with_evidence_accepted():
    application = in_notice()
    data = {"kind": "anonymous", "text": "该项目存在利益输送。"}
    response = Client().post(object_url(application), data)
    assert response.status_code == 400
    assert "Anonymous objections without evidence are not accepted." in response.content.decode()
    assert not Objection.objects.exists()
    evidence = SimpleUploadedFile("proof.pdf", PDF, content_type="application/pdf")
    response = Client().post(object_url(application), {**data, "evidence": evidence})
    assert response.status_code == 201
    objection = Objection.objects.get()
    assert (objection.kind, objection.name, objection.phone) == ("anonymous", "", "")
    assert objection.evidence_name == "proof.pdf"


def test_person_without_name_or_phone_is_refused():
    application = in_notice()
    response = Client().post(object_url(application), person(name="", phone=""))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["Give your real name."]
    assert errors["phone"] == ["Give a phone number where you can be reached."]
    assert not Objection.objects.exists()


def test_evidence_size_limit(settings):
    settings.GRANTFLOW_OBJECTION_MAX_BYTES = 1024
    application = in_notice()
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, content_type="application/pdf")
    response = Client().post(object_url(application), person(evidence=big))
    assert response.status_code == 400
    assert response.context["form"].errors["evidence"] == ["The file is larger than 0 MB."]
    assert not Objection.objects.exists()


def test_rate_limit_per_address(settings):
    settings.GRANTFLOW_OBJECTION_RATE_LIMIT = 5
    application = in_notice()
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        assert client.post(object_url(application), person()).status_code == 201
    response = client.post(object_url(application), person())
    assert response.status_code == 429
    assert "Too many objections from your network" in response.content.decode()
    assert Objection.objects.count() == 5
    other = Client(REMOTE_ADDR="198.51.100.1")
    assert other.post(object_url(application), person()).status_code == 201
    assert Objection.objects.count() == 6


def test_no_objection_outside_the_window():
    closed = in_notice(ends_in=-timedelta(minutes=1))
    response = Client().post(object_url(closed), person())
    assert response.status_code == 302
    assert not Objection.objects.exists()
    reviewed = f.set_state(f.ApplicationFactory(), S.REVIEWED, number="BF-2027-000777")
    assert Client().get(object_url(reviewed)).status_code == 404


def test_identity_hidden_from_officers_and_the_public_visible_to_integrity(login):
    application = in_notice()
    Client().post(object_url(application), person(name="赵六", phone="13912345678"))
    objection = Objection.objects.get()
    list_url = reverse("notices:objection_list")
    detail_url = reverse("notices:objection_detail", args=[objection.pk])
    for viewer in (f.officer(), f.applicant(), f.auditor()):
        client = login(viewer)
        assert client.get(list_url).status_code == 404
        assert client.get(detail_url).status_code == 404
    assert Client().get(list_url).status_code == 302  # to the login page
    for page in (
        Client().get(reverse("notices:list")),
        login(f.officer()).get(reverse("grants:detail", args=[application.pk])),
    ):
        html = page.content.decode()
        assert "赵六" not in html and "13912345678" not in html
    integrity = login(f.integrity_officer())
    html = integrity.get(list_url).content.decode()
    assert "赵六" in html and "13912345678" in html
    html = integrity.get(detail_url).content.decode()
    assert "赵六" in html and "13912345678" in html and objection.text in html


def test_integrity_officer_upholds_with_reason_and_the_officer_can_revoke(login):
    application = in_notice()
    Client().post(object_url(application), person())
    objection = Objection.objects.get()
    integrity_user = f.integrity_officer()
    client = login(integrity_user)
    url = reverse("notices:objection_resolve", args=[objection.pk, "uphold"])
    response = client.post(url, {"uphold-reason": ""})
    assert response.status_code == 400
    objection.refresh_from_db()
    assert objection.state == ObjectionState.OPEN
    response = client.post(url, {"uphold-reason": "查实论文代写"})
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.state == ObjectionState.UPHELD
    assert (objection.resolved_by, objection.resolution) == (integrity_user, "查实论文代写")
    log = TransitionLog.objects.for_object(objection).get()
    assert (log.transition, log.actor, log.comment) == ("uphold", integrity_user, "查实论文代写")
    # officers cannot resolve objections
    other = in_notice()
    Client().post(object_url(other), person())
    second = Objection.objects.get(application=other)
    response = login(f.officer()).post(
        reverse("notices:objection_resolve", args=[second.pk, "dismiss"]),
        {"dismiss-reason": "x"},
    )
    assert response.status_code == 404
    second.refresh_from_db()
    assert second.state == ObjectionState.OPEN
    # the program officer revokes the approval
    officer = f.officer()
    response = login(officer).post(
        reverse("grants:transition", args=[application.pk, "revoke"]),
        {"t-revoke-comment": "异议成立"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.REJECTED


def test_integrity_officer_downloads_evidence(login):
    application = in_notice()
    evidence = SimpleUploadedFile("proof.pdf", PDF, content_type="application/pdf")
    Client().post(object_url(application), person(evidence=evidence))
    objection = Objection.objects.get()
    url = reverse("notices:objection_file", args=[objection.pk, "evidence"])
    assert login(f.officer()).get(url).status_code == 404
    response = login(f.integrity_officer()).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
