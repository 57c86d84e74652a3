"""Security headers on every page; the CSP strict on the public site and the staff pages,
relaxed only where third-party pages need it; no inline script or style in our templates."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def directives(response):
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def assert_strict(response):
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response["Permissions-Policy"].startswith("accelerometer=()")
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_public_pages_are_strict():
    for path in [
        reverse("accounts:login"),
        reverse("notices:list"),
        reverse("accounts:password_reset"),
    ]:
        response = Client().get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_staff_pages_are_strict(login):
    client = login(f.officer())
    for path in [reverse("dashboard"), reverse("grants:formal_check_queue")]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_api_docs_may_load_swagger_from_its_cdn():
    csp = directives(Client().get(reverse("api-docs")))
    assert "https://cdn.jsdelivr.net" in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"]  # only what swagger needs is relaxed


def test_wagtail_admin_is_relaxed_for_its_own_scripts_only(login):
    admin = f.UserFactory(is_staff=True, is_superuser=True)
    response = login(admin).get("/cms-admin/")
    assert response.status_code == 200
    csp = directives(response)
    assert "'unsafe-inline'" in csp["script-src"]
    assert csp["frame-ancestors"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\sstyle=\"", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+=\"", re.I), "event-handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_have_no_inline_script_or_style():
    """What the CSP would block. PDF templates are rendered by WeasyPrint, not browsers."""
    found = []
    for path in TEMPLATES.rglob("*.html"):
        if "pdf" in path.name or "/pdf/" in path.as_posix():
            continue
        text = path.read_text()
        for pattern, what in INLINE:
            if pattern.search(text):
                found.append((path.relative_to(TEMPLATES).as_posix(), what))
    assert found == []
