"""Issue 7 (security; the rest is in tests/security/). No page breaks under the
Content-Security-Policy: Chromium walks pages of every role with
the policy enforced (no bypass) and the console must show no violation. Staff sign in
through the form with a real authenticator code."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cms.pages import build_site
from grants.enums import ApplicationState
from tests import factories as f
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Csp-browser-pw-2026"


@pytest.fixture
def strict_page(browser):
    """A page that enforces the site's CSP and records every violation in the console."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.violations = []

    def record(message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            page.violations.append((page.url, text))

    page.on("console", record)
    yield page
    context.close()


def visit(page, base, path):
    response = page.goto(base + path)
    assert response.status < 400, (path, response.status)
    page.wait_for_load_state("load")
    assert "Content-Security-Policy" in response.headers or "content-security-policy" in {
        k.lower() for k in response.headers
    }


def seed():
    call = f.CallFactory(closes_at=timezone.now() + timedelta(days=9))
    f.set_state(
        f.ApplicationFactory(call=call),
        ApplicationState.IN_NOTICE,
        number="BF-2027-000901",
        notice_starts_at=timezone.now() - timedelta(days=1),
        notice_ends_at=timezone.now() + timedelta(days=6),
    )
    build_site()


def test_pages_of_every_role_run_under_the_policy(live_server, strict_page):
    seed()
    base = live_server.url
    page = strict_page
    people = {
        "applicant": f.applicant(password=PASSWORD, language="en"),
        "reviewer": f.reviewer(password=PASSWORD, language="en"),
        "officer": f.officer(password=PASSWORD, language="en"),
        "integrity": f.integrity_officer(password=PASSWORD, language="en"),
        "auditor": f.auditor(password=PASSWORD, language="en"),
    }
    pages = {
        None: ["/", reverse("notices:list"), reverse("accounts:login")],
        "applicant": [reverse("dashboard"), reverse("grants:mine"), reverse("accounts:profile")],
        "reviewer": [reverse("dashboard")],
        "officer": [
            reverse("dashboard"),
            reverse("grants:formal_check_queue"),
            reverse("insights:index"),
            reverse("accounts:two_factor"),
        ],
        "integrity": [reverse("dashboard"), reverse("integrity:case_list")],
        "auditor": [reverse("dashboard"), reverse("audit:charts"), reverse("audit:log")],
    }
    for path in pages[None]:
        visit(page, base, path)
    # The language switch (script from static/js, not an inline handler) still works.
    page.goto(base + reverse("accounts:login"))
    with page.expect_navigation():
        page.select_option("#lang-select", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    for role, user in people.items():
        page.context.clear_cookies()
        device = sign_in(page, base, user.username, PASSWORD)
        assert (device is not None) == (role in ("officer", "integrity", "auditor")), role
        for path in pages[role]:
            visit(page, base, path)
    assert page.violations == []


def test_the_admin_sites_work_under_their_relaxed_policy(live_server, strict_page):
    build_site()  # the flush of transactional tests leaves Wagtail without its page tree
    admin = f.UserFactory(
        is_staff=True, is_superuser=True, password=PASSWORD, language="en", institution=None
    )
    base = live_server.url
    page = strict_page
    sign_in(page, base, admin.username, PASSWORD)
    for path in ["/admin/", "/admin/accounts/user/", "/cms-admin/", "/cms-admin/pages/"]:
        visit(page, base, path)
    assert page.violations == []


def test_swagger_page_is_allowed_its_cdn(live_server, strict_page):
    """The API docs page loads Swagger UI from its CDN (not reachable from every test
    machine: only the policy's own complaints count)."""
    visit(strict_page, live_server.url, reverse("api-docs"))
    assert [v for v in strict_page.violations if "cdn.jsdelivr.net" not in v[1]] == []
