"""A visitor walks the public site — home, a call, the notice, a report — in Chinese and in
English; every page is screenshotted and checked with axe-core (vendored in
static/vendor/axe/): no serious or critical violation."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cms.models import CallPage, NoticeIndexPage, ReportIndexPage
from cms.pages import build_site
from finance.models.evaluation import STReport
from grants.enums import ApplicationState
from grants.models import Project
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe" / "axe.min.js"
HTML_LANG = {"en": "en", "zh-hans": "zh-Hans"}


def axe_violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def seed():
    call = f.CallFactory(closes_at=timezone.now() + timedelta(days=9, hours=1))
    in_notice = f.set_state(
        f.ApplicationFactory(call=call),
        ApplicationState.IN_NOTICE,
        number="BF-2027-000777",
        notice_starts_at=timezone.now() - timedelta(days=1),
        notice_ends_at=timezone.now() + timedelta(days=6),
    )
    awarded = f.set_state(
        f.ApplicationFactory(call=call), ApplicationState.AWARDED, number="BF-2026-000001"
    )
    project = Project.objects.create(
        application=awarded, number=awarded.number, approved_budget=500000
    )
    report = STReport.objects.create(
        project=project, file="st-reports/x.pdf", title="拓扑量子材料科技报告",
        abstract="研究拓扑量子材料。", keywords=["量子"], results_summary="发表论文三篇。",
        published_at=timezone.now(),
    )  # fmt: skip
    build_site()
    return call, in_notice, report


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_walk_the_public_site(live_server, page, screenshot, language):
    call, in_notice, report = seed()
    base = live_server.url
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    lang = "en" if language == "en" else "zh-hans"
    call_page = CallPage.objects.get(call=call, locale__language_code=lang)
    notice_page = NoticeIndexPage.objects.get(locale__language_code=lang)
    reports = ReportIndexPage.objects.get(locale__language_code=lang)
    title = call.title_en if language == "en" else call.title

    walk = [
        ("home", "/", title),
        ("call", call_page.url, str(call.pk) and title),
        ("notice", notice_page.url, in_notice.number),
        ("reports", reports.url + "?q=量子", report.title),
        ("report", f"{reports.url}{report.pk}/", report.results_summary),
    ]
    for name, path, expected in walk:
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == HTML_LANG[language]
        assert expected in page.locator("main").inner_text(), (name, path)
        screenshot(f"public-{name}-{language}")
        assert axe_violations(page) == [], (name, path)

    # from the home page, the visitor follows the call link and finds the apply button
    page.goto(base + "/")
    page.get_by_role("link", name=title).first.click()
    page.wait_for_url(base + call_page.url)
    apply = page.locator(f"a[href='/proposals/new/?call={call.pk}']")
    assert apply.count() == 1
