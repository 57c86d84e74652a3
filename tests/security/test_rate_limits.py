"""Rate limits (django-ratelimit) on sign-in, password reset, the API token and public
objections: over the limit, 429 with a page or the API's error body."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from grants.enums import ApplicationState
from grants.models import Objection
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    def set_limit(**rates):
        settings.GRANTFLOW_RATE_LIMITS = {**settings.GRANTFLOW_RATE_LIMITS, **rates}

    return set_limit


def test_sign_in_is_limited_per_address(limits):
    limits(login="3/h")
    users = [f.applicant() for _ in range(4)]
    client = Client(REMOTE_ADDR="203.0.113.20")
    for user in users[:3]:
        response = client.post(
            reverse("accounts:login"), {"username": user.username, "password": "wrong"}
        )
        assert response.status_code == 200
    response = client.post(
        reverse("accounts:login"), {"username": users[3].username, "password": "pw"}
    )
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="198.51.100.20")
    assert (
        other.post(
            reverse("accounts:login"), {"username": users[3].username, "password": "pw"}
        ).status_code
        == 302
    )


def test_password_reset_mails_a_working_link(mailoutbox):
    user = f.applicant(email="li.na@example.org")
    response = Client().post(reverse("accounts:password_reset"), {"email": "li.na@example.org"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["li.na@example.org"]
    link = next(w for w in mailoutbox[0].body.split() if "/password/reset/" in w)
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Quiet-river-2026", "new_password2": "Quiet-river-2026"},
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("Quiet-river-2026")


def test_password_reset_is_limited_per_address(limits, mailoutbox):
    limits(password_reset="2/h")
    client = Client(REMOTE_ADDR="203.0.113.30")
    for n in range(2):
        f.applicant(email=f"p{n}@example.org")
        response = client.post(reverse("accounts:password_reset"), {"email": f"p{n}@example.org"})
        assert response.status_code == 302
    response = client.post(reverse("accounts:password_reset"), {"email": "p0@example.org"})
    assert response.status_code == 429
    assert len(mailoutbox) == 2


def test_password_reset_is_limited_per_email(limits, mailoutbox):
    limits(password_reset_email="2/h")
    f.applicant(email="wang@example.org")
    for n in range(2):
        client = Client(REMOTE_ADDR=f"203.0.113.{40 + n}")
        assert (
            client.post(
                reverse("accounts:password_reset"), {"email": "Wang@example.org "}
            ).status_code
            == 302
        )
    client = Client(REMOTE_ADDR="203.0.113.99")
    response = client.post(reverse("accounts:password_reset"), {"email": "wang@example.org"})
    assert response.status_code == 429
    assert len(mailoutbox) == 2


def test_api_token_limit_answers_in_the_api_error_format(limits):
    limits(api_token="2/h")
    user = f.applicant()
    api = APIClient()
    url = reverse("api-token")
    for _ in range(2):
        body = {"username": user.username, "password": "pw"}
        assert api.post(url, body, format="json").status_code == 200
    response = api.post(url, {"username": user.username, "password": "pw"}, format="json")
    assert response.status_code == 429
    assert response.json() == {
        "code": "rate_limited",
        "detail": "Too many attempts. Please wait a while and try again.",
    }
    assert response["Retry-After"] == "3600"


def test_objection_attempts_are_limited_per_address(limits):
    limits(objection="2/h")
    application = f.ApplicationFactory()
    now = timezone.now()
    f.set_state(
        application,
        ApplicationState.IN_NOTICE,
        number=f"BF-2027-{application.pk:06d}",
        notice_starts_at=now - timedelta(days=1),
        notice_ends_at=now + timedelta(days=4),
    )
    url = reverse("notices:object", args=[application.pk])
    client = Client(REMOTE_ADDR="203.0.113.50")
    for _ in range(2):  # invalid forms count as well: every attempt does
        assert client.post(url, {"kind": "person"}).status_code == 400
    response = client.post(
        url, {"kind": "person", "name": "赵六", "phone": "13912345678", "text": "抄袭"}
    )
    assert response.status_code == 429
    assert not Objection.objects.exists()
    assert client.get(url).status_code == 200  # reading the form is not limited
