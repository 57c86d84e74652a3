"""The page cache answers a returning anonymous visitor before sessions, auth and routing:
no query, the inner middleware's headers replayed, a CSRF token valid for the visitor's own
cookie; a visitor with a session, or a changed page, goes through the whole stack."""

import re
from datetime import timedelta

import pytest
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.utils import timezone

from cms.models import CallPage
from cms.pages import build_site
from programs.models import Call
from tests import factories as f

pytestmark = pytest.mark.django_db


def _visitor(lang="zh-hans"):
    client = Client()
    client.cookies["django_language"] = lang
    return client


def _token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_returning_visitor_is_answered_without_a_query(django_assert_num_queries):
    call = f.CallFactory(closes_at=timezone.now() + timedelta(days=20))
    build_site()
    url = CallPage.objects.get(call=call, locale__language_code="zh-hans").url
    first = _visitor().get(url)  # renders and stores the page
    visitor = _visitor()
    visitor.get(url)  # gives this visitor a CSRF cookie
    with django_assert_num_queries(0):
        response = visitor.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and call.title in html
    assert response["X-Frame-Options"] == first["X-Frame-Options"]
    assert response["Content-Language"] == "zh-hans"
    assert "Set-Cookie" not in response or "sessionid" not in response["Set-Cookie"]
    secret = visitor.cookies["csrftoken"].value
    assert _unmask_cipher_token(_token(html)) == secret

    english = _visitor("en")
    english.get(url)
    assert english.get(url)["Content-Language"] == "en"


def test_signed_in_visitor_and_changed_pages_skip_the_early_answer(login):
    call = f.CallFactory(closes_at=timezone.now() + timedelta(days=20))
    build_site()
    url = CallPage.objects.get(call=call, locale__language_code="zh-hans").url
    visitor = _visitor()
    visitor.get(url)
    visitor.get(url)
    user = login(f.applicant())
    user.cookies["csrftoken"] = visitor.cookies["csrftoken"].value
    assert 'href="/dashboard/"' in user.get("/").content.decode()

    Call.objects.filter(pk=call.pk).update(title="改过的标题")
    Call.objects.get(pk=call.pk).save()  # what a real edit sends: the cache version moves
    assert "改过的标题" in visitor.get(url).content.decode()
