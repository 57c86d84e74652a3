"""Repeated failed sign-ins lock one username on one address (django-axes)."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories as f

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def attempt(client, user, password):
    return client.post(LOGIN, {"username": user.username, "password": password})


def fail(client, user, times):
    for _ in range(times):
        response = attempt(client, user, "wrong")
        assert response.status_code == 200  # the form again, with its error
    return response


def test_locked_after_the_limit_even_with_the_right_password(settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = f.applicant()
    client = Client(REMOTE_ADDR="203.0.113.9")
    fail(client, user, 2)
    locked = attempt(client, user, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "for 30 minutes" in locked.content.decode()
    assert locked["Retry-After"] == "1800"
    right = attempt(client, user, "pw")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username=user.username).failures_since_start >= 3

    # The same account from another address, and another account from this one, still work.
    other_place = Client(REMOTE_ADDR="198.51.100.4")
    assert attempt(other_place, user, "pw").status_code == 302
    someone_else = f.applicant()
    assert attempt(client, someone_else, "pw").status_code == 302


def test_the_lockout_page_speaks_chinese(settings):
    settings.AXES_FAILURE_LIMIT = 1
    user = f.applicant()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.cookies["django_language"] = "zh-hans"
    locked = attempt(client, user, "wrong")
    assert locked.status_code == 429
    assert '<html lang="zh-Hans">' in locked.content.decode()


def test_axes_reset_lifts_the_lock(settings):
    settings.AXES_FAILURE_LIMIT = 2
    user = f.applicant()
    client = Client()
    fail(client, user, 1)
    assert attempt(client, user, "wrong").status_code == 429
    assert attempt(client, user, "pw").status_code == 429
    call_command("axes_reset_username", user.username)
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    assert attempt(client, user, "pw").status_code == 302


def test_a_good_sign_in_clears_the_failures(settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = f.applicant()
    client = Client()
    fail(client, user, 2)
    assert attempt(client, user, "pw").status_code == 302
    client.post(reverse("accounts:logout"))
    fail(client, user, 2)  # counted afresh: not locked yet
    assert attempt(client, user, "pw").status_code == 302


def test_the_api_token_endpoint_locks_out_too(settings):
    settings.AXES_FAILURE_LIMIT = 2
    user = f.applicant()
    api = APIClient()
    url = reverse("api-token")
    body = {"username": user.username, "password": "wrong"}
    assert api.post(url, body, format="json").status_code == 400
    locked = api.post(url, body, format="json")
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    again = api.post(url, {**body, "password": "pw"}, format="json")
    assert again.status_code == 429
