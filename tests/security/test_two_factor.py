"""Two-factor sign-in is required for staff (officers, agency staff, integrity officers,
auditors, admin users) and for nobody else."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories as f
from tests.security.conftest import totp_code

pytestmark = pytest.mark.django_db

QUEUE = reverse("grants:formal_check_queue")


def signed_in(user):
    """Signed in with the password alone (no code): what a session is before the second
    factor."""
    client = Client()
    client.force_login(user)
    return client


def sign_in_form(client, user, **extra):
    return client.post(
        reverse("accounts:login"), {"username": user.username, "password": "pw", **extra}
    )


@pytest.mark.parametrize(
    "make", [f.officer, f.auditor, f.integrity_officer, lambda: f.agency_staff(f.AgencyFactory())]
)
def test_staff_without_a_device_are_sent_to_set_one_up(make):
    user = make()
    client = signed_in(user)
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert (
        response["Location"] == f"{reverse('accounts:two_factor')}?next={QUEUE.replace('/', '%2F')}"
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "set up two-factor authentication before you go on" in page.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_enrolling_verifies_the_session_and_returns_to_the_page():
    user = f.officer()
    client = signed_in(user)
    enrol = client.get(client.get(QUEUE)["Location"])
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert enrol.context["next"] == QUEUE
    response = client.post(
        reverse("accounts:two_factor"),
        {"action": "confirm", "token": totp_code(device), "next": QUEUE},
    )
    assert response["Location"] == QUEUE
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(QUEUE).status_code == 200


def test_a_device_without_a_code_in_this_session_asks_for_the_code():
    user = f.officer()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = signed_in(user)
    response = client.get(QUEUE)
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    refused = client.post(response["Location"], {"token": wrong})
    assert refused.status_code == 200
    assert refused.context["form"].errors["token"] == ["The code is not correct. Please try again."]
    assert client.get(QUEUE).status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    done = client.post(response["Location"], {"token": totp_code(device), "next": QUEUE})
    assert done["Location"] == QUEUE
    assert client.get(QUEUE).status_code == 200


def test_staff_signing_in_with_password_and_code_open_the_queue():
    user = f.officer()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert sign_in_form(client, user).status_code == 200  # the code is required
    assert "_auth_user_id" not in client.session
    response = sign_in_form(client, user, otp_token=totp_code(device))
    assert response.status_code == 302
    assert client.get(QUEUE).status_code == 200


def test_the_login_fixture_gives_staff_a_real_verified_device(login):
    user = f.officer()
    client = login(user)
    assert client.get(QUEUE).status_code == 200
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed and client.session["otp_device_id"] == device.persistent_id


@pytest.mark.parametrize("make", [f.applicant, f.reviewer])
def test_applicants_and_reviewers_are_not_forced(make):
    client = signed_in(make())
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("grants:mine")).status_code == 200


def test_institution_admins_are_not_forced():
    client = signed_in(f.institution_admin(f.InstitutionFactory()))
    assert client.get(reverse("grants:institution_queue")).status_code == 200


@pytest.mark.parametrize("path", ["/admin/", "/cms-admin/"])
def test_the_admin_sites_need_the_second_factor(path):
    admin = f.UserFactory(is_staff=True, is_superuser=True)
    client = signed_in(admin)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor"))
    verified = Client()
    verified.force_login(admin)
    from tests.conftest import verify_two_factor

    verify_two_factor(verified, admin)
    assert verified.get(path).status_code == 200


def test_a_session_without_the_code_gets_403_from_the_api():
    client = signed_in(f.auditor())
    response = client.get("/api/v1/users/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_staff_need_a_code_for_an_api_token():
    user = f.officer()
    api = APIClient()
    url = reverse("api-token")
    response = api.post(url, {"username": user.username, "password": "pw"}, format="json")
    assert response.status_code == 400
    assert response.json()["otp_token"] == [
        "Set up two-factor authentication on the website first."
    ]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    response = api.post(
        url, {"username": user.username, "password": "pw", "otp_token": "12"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["otp_token"] == ["The authentication code is not correct."]
    assert not Token.objects.filter(user=user).exists()
    # django-otp slows down guessing after a wrong code; the next try comes later.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    response = api.post(
        url,
        {"username": user.username, "password": "pw", "otp_token": totp_code(device)},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=user).key == token
    # The token works on its own: it was issued against the code.
    me = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/users/me/")
    assert me.status_code == 200 and me.json()["username"] == user.username


def test_applicants_get_a_token_with_the_password():
    user = f.applicant()
    response = APIClient().post(
        reverse("api-token"), {"username": user.username, "password": "pw"}, format="json"
    )
    assert response.status_code == 200 and response.json()["token"]


def test_staff_may_not_turn_two_factor_off(login):
    user = f.auditor()
    client = login(user)
    page = client.get(reverse("accounts:two_factor"))
    assert page.context["disable_form"] is None
    client.post(reverse("accounts:two_factor"), {"action": "disable", "password": "pw"})
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_the_setting_turns_the_requirement_off(settings):
    settings.GRANTFLOW_REQUIRE_STAFF_2FA = False
    assert signed_in(f.officer()).get(QUEUE).status_code == 200
