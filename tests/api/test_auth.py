"""POST /api/v1/auth/token/ and the Token header (api.md, Conventions)."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import applicant

pytestmark = pytest.mark.django_db


def test_token_for_good_credentials_then_token_auth_works():
    user = applicant(username="li.xiaoming")
    client = APIClient()

    response = client.post(
        "/api/v1/auth/token/", {"username": "li.xiaoming", "password": "pw"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = client.get("/api/v1/users/me/")
    assert me.json()["username"] == "li.xiaoming"


def test_same_token_on_second_request():
    applicant(username="wang")
    client = APIClient()
    first = client.post("/api/v1/auth/token/", {"username": "wang", "password": "pw"})
    second = client.post("/api/v1/auth/token/", {"username": "wang", "password": "pw"})
    assert first.json()["token"] == second.json()["token"]
    assert Token.objects.count() == 1


def test_bad_password_is_400_with_field_errors_and_no_token():
    applicant(username="zhang")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "zhang", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert not Token.objects.exists()


def test_missing_fields_are_field_errors():
    response = APIClient().post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_no_or_bad_credentials_are_401():
    client = APIClient()
    assert client.get("/api/v1/calls/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get("/api/v1/calls/")
    assert response.status_code == 401
    assert "detail" in response.json()
