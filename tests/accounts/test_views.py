import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Institution, User
from accounts.roles import Role
from tests.factories import (
    InstitutionFactory,
    UserFactory,
    applicant,
    auditor,
    integrity_officer,
    make_credit_code,
    officer,
)

from .helpers import error_texts, get_counting, totp_token

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


# --- login ------------------------------------------------------------------------------


def test_login_without_device_needs_only_username_and_password():
    user = applicant(language="en")
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": "pw"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert signed_in_user_id(client) == str(user.pk)
    # The user's language preference becomes the UI language.
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_login_with_wrong_password_stays_anonymous():
    user = applicant()
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": "no"})
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    assert response.context["form"].non_field_errors()


def test_login_with_device_requires_and_checks_the_token():
    user = officer()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    url = reverse("accounts:login")

    client = Client()
    response = client.post(url, {"username": user.username, "password": "pw"})
    assert signed_in_user_id(client) is None
    assert error_texts(response) == ["Enter the code from your authenticator app."]

    good = totp_token(device)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post(url, {"username": user.username, "password": "pw", "otp_token": wrong})
    assert signed_in_user_id(client) is None
    assert error_texts(response) == ["The authentication code is not correct. Please try again."]

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(url, {"username": user.username, "password": "pw", "otp_token": good})
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)
    assert client.session.get("otp_device_id") == device.persistent_id


def test_unconfirmed_device_does_not_demand_a_token():
    user = officer()
    TOTPDevice.objects.create(user=user, name="pending", confirmed=False)
    client = Client()
    client.post(reverse("accounts:login"), {"username": user.username, "password": "pw"})
    assert signed_in_user_id(client) == str(user.pk)


def test_logout_is_a_post():
    user = applicant()
    client = Client()
    client.force_login(user)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert signed_in_user_id(client) == str(user.pk)
    client.post(reverse("accounts:logout"))
    assert signed_in_user_id(client) is None


# --- two-factor setup ----------------------------------------------------------------------


def test_two_factor_setup_confirm_then_login_demands_token():
    user = integrity_officer()
    client = Client()
    client.force_login(user)  # signed in, no authenticator yet: the set-up page is open
    response = client.get(reverse("accounts:two_factor"))
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    body = response.content.decode()
    assert "<svg" in body
    assert response.context["secret"].replace(" ", "") in body.replace(" ", "")

    # A wrong code leaves the device unconfirmed, with the error beside the field.
    response = client.post(reverse("accounts:two_factor"), {"action": "confirm", "token": "000000"})
    device.refresh_from_db()
    if totp_token(device) != "000000":
        assert device.confirmed is False
        assert error_texts(response, "token") == ["The code is not correct. Please try again."]

    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(
        reverse("accounts:two_factor"), {"action": "confirm", "token": totp_token(device)}
    )
    device.refresh_from_db()
    assert device.confirmed is True
    assert "Two-factor authentication is on" in str(list(response.wsgi_request._messages)[0])

    fresh = Client()
    fresh.post(reverse("accounts:login"), {"username": user.username, "password": "pw"})
    assert signed_in_user_id(fresh) is None


def test_two_factor_disable_needs_the_password(login, settings):
    settings.GRANTFLOW_REQUIRE_STAFF_2FA = False  # required (tests/security): no turning off
    user = auditor()
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = login(user)
    response = client.post(reverse("accounts:two_factor"), {"action": "disable", "password": "x"})
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert error_texts(response, "password") == ["The password is not correct."]
    client.post(reverse("accounts:two_factor"), {"action": "disable", "password": "pw"})
    assert TOTPDevice.objects.filter(user=user).count() == 0
    fresh = Client()
    fresh.post(reverse("accounts:login"), {"username": user.username, "password": "pw"})
    assert signed_in_user_id(fresh) == str(user.pk)


def test_two_factor_is_for_staff_only(login):
    user = applicant()
    response = login(user).get(reverse("accounts:two_factor"))
    assert response.status_code == 404
    assert not TOTPDevice.objects.filter(user=user).exists()


# --- password, profile ----------------------------------------------------------------------


def test_password_change(login):
    user = applicant()
    client = login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "wrong",
            "new_password1": "Tr1cky-horse-42",
            "new_password2": "Tr1cky-horse-42",
        },
    )
    assert "old_password" in response.context["form"].errors
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "pw",
            "new_password1": "Tr1cky-horse-42",
            "new_password2": "Tr1cky-horse-42",
        },
    )
    assert response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password("Tr1cky-horse-42")
    # Still signed in after the change.
    assert signed_in_user_id(client) == str(user.pk)


def test_profile_language_switches_the_ui(login):
    user = applicant(language="zh-hans")
    client = login(user)
    response = client.post(
        reverse("accounts:profile"),
        {
            "full_name": "Ada Lovelace",
            "email": "ada@example.org",
            "language": "en",
            "country": "GB",
            "orcid": "0000000218250097",
        },
    )
    user.refresh_from_db()
    assert (user.language, user.full_name, str(user.country.code)) == ("en", "Ada Lovelace", "GB")
    assert user.orcid == "0000-0002-1825-0097"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(reverse("accounts:profile"))
    assert '<html lang="en">' in page.content.decode()
    assert "Your profile has been saved." in page.content.decode()

    client.post(
        reverse("accounts:profile"),
        {
            "full_name": "Ada Lovelace",
            "email": "ada@example.org",
            "language": "zh-hans",
            "country": "GB",
            "orcid": "",
        },
    )
    page = client.get(reverse("accounts:profile"))
    assert '<html lang="zh-Hans">' in page.content.decode()


def test_profile_rejects_a_bad_orcid_inline(login):
    user = applicant()
    client = login(user)
    response = client.post(
        reverse("accounts:profile"),
        {
            "full_name": "X",
            "email": "x@example.org",
            "language": "en",
            "country": "CN",
            "orcid": "0000-0002-1825-0098",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["orcid"]
    assert 'id="id_orcid_error"' in response.content.decode()
    user.refresh_from_db()
    assert user.orcid == ""


# --- users and institutions ------------------------------------------------------------------


def test_officer_creates_an_applicant(login):
    actor = officer()
    institution = InstitutionFactory()
    response = login(actor).post(
        reverse("accounts:user_create"),
        {
            "username": "newpi",
            "full_name": "王五",
            "email": "newpi@example.org",
            "institution": institution.pk,
            "roles": ["applicant"],
        },
    )
    assert response["Location"] == reverse("accounts:user_list")
    created = User.objects.get(username="newpi")
    assert created.role_names == frozenset({Role.APPLICANT})
    assert created.institution == institution
    assert not created.has_usable_password()


def test_officer_may_not_create_a_program_officer(login):
    actor = officer()
    response = login(actor).post(
        reverse("accounts:user_create"),
        {"username": "boss", "roles": ["program_officer"]},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["roles"]
    assert not User.objects.filter(username="boss").exists()


def test_superuser_may_create_staff(login):
    admin = UserFactory(is_superuser=True, institution=None)
    login(admin).post(
        reverse("accounts:user_create"),
        {"username": "aud2", "roles": ["auditor"], "password": "Tr1cky-horse-42"},
    )
    created = User.objects.get(username="aud2")
    assert created.role_names == frozenset({Role.AUDITOR})
    assert created.check_password("Tr1cky-horse-42")


def test_user_pages_hidden_from_applicants(login):
    client = login(applicant())
    assert client.get(reverse("accounts:user_list")).status_code == 404
    assert (
        client.post(
            reverse("accounts:user_create"), {"username": "x", "roles": ["applicant"]}
        ).status_code
        == 404
    )
    assert not User.objects.filter(username="x").exists()
    assert client.get(reverse("accounts:institution_list")).status_code == 404


def test_user_list_filters_by_role_and_search(login):
    actor = officer(username="officer-one")
    pi = applicant(username="pi-zhang", full_name="张三")
    applicant(username="pi-li", full_name="李四")
    client = login(actor)
    response = client.get(reverse("accounts:user_list"), {"role": "applicant"})
    names = {row.record.username for row in response.context["table"].page.object_list}
    assert names == {"pi-zhang", "pi-li"}
    response = client.get(reverse("accounts:user_list"), {"q": "张"})
    assert [row.record for row in response.context["table"].page.object_list] == [pi]
    response = client.get(reverse("accounts:user_list"), {"institution": pi.institution_id})
    assert [row.record for row in response.context["table"].page.object_list] == [pi]


def test_user_list_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    actor = officer()
    client = login(actor)
    url = reverse("accounts:user_list")
    count, _ = get_counting(client, url)
    group = Group.objects.get(name=Role.APPLICANT)
    for _i in range(29):
        UserFactory().groups.add(group)
    with django_assert_num_queries(count):
        response = client.get(url)
    assert len(response.context["table"].page.object_list) == 25
    assert response.context["table"].paginator.count == 30


def test_institution_create_validates_the_credit_code(login):
    client = login(officer())
    code = make_credit_code(424242)
    wrong_check = code[:17] + ("1" if code[17] != "1" else "2")
    response = client.post(
        reverse("accounts:institution_create"), {"name": "上海某大学", "credit_code": wrong_check}
    )
    assert response.context["form"].errors["credit_code"] == [
        "Enter a valid 18-character unified social credit code."
    ]
    assert not Institution.objects.filter(name="上海某大学").exists()
    response = client.post(
        reverse("accounts:institution_create"), {"name": "上海某大学", "credit_code": code}
    )
    assert response["Location"] == reverse("accounts:institution_list")
    assert Institution.objects.get(credit_code=code).name == "上海某大学"


def test_institution_list_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    client = login(officer())
    InstitutionFactory()
    url = reverse("accounts:institution_list")
    count, _ = get_counting(client, url)
    InstitutionFactory.create_batch(29)
    with django_assert_num_queries(count):
        response = client.get(url)
    assert response.context["table"].paginator.count == 30


def test_profile_keeps_a_resident_id_only_as_hash_and_mask(login):
    from accounts.models import User
    from tests import factories as f

    user = f.applicant()
    client = login(user)
    data = {
        "full_name": user.full_name,
        "email": user.email,
        "language": "en",
        "country": "CN",
        "orcid": "",
    }
    refused = client.post(reverse("accounts:profile"), {**data, "id_number": "110101199003070000"})
    assert "id_number" in refused.context["form"].errors
    assert User.objects.get(pk=user.pk).id_number_hash == ""
    number = "11010519491231002X"
    client.post(reverse("accounts:profile"), {**data, "id_number": number})
    stored = User.objects.get(pk=user.pk)
    assert stored.id_number_hash and number not in stored.id_number_hash
    assert stored.id_number_masked.startswith("1101") and stored.id_number_masked.endswith("002X")
    page = client.get(reverse("accounts:profile"))
    assert number not in page.content.decode()
    assert stored.id_number_masked in page.content.decode()
