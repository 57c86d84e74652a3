"""An applicant writes and submits a proposal in the browser; the institution admin
endorses it. Once in English, once in Chinese; screenshots in test-artifacts/screenshots/."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from grants.enums import ApplicationState
from grants.models import Application
from tests import factories as f
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-test-pw-2026"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML_LANG = {"en": "en", "zh-hans": "zh-Hans"}


def log_in(page, base, username):
    sign_in(page, base, username, PASSWORD)


def log_out(page):
    page.locator("header form button[type=submit]").click()
    page.wait_for_load_state()


def state_label(state, language):
    with translation.override(language):
        return str(ApplicationState(state).label)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_submit_and_endorse_in_the_browser(live_server, page, screenshot, tmp_path, language):
    base = live_server.url
    institution = f.InstitutionFactory()
    call = f.CallFactory(max_budget=Decimal("1000000.00"))
    # The applicant starts in English and switches with the selector; the admin's own
    # language is set at login (the django_language cookie).
    pi = f.applicant(
        username=f"pi-{language}", institution=institution, password=PASSWORD, language="en"
    )
    admin = f.institution_admin(
        institution, username=f"office-{language}", password=PASSWORD, language=language
    )

    log_in(page, base, pi.username)
    if language != "en":
        page.select_option("#lang-select", language)
        page.wait_for_function(
            "expected => document.documentElement.lang === expected", arg=HTML_LANG[language]
        )
    assert page.locator("html").get_attribute("lang") == HTML_LANG[language]
    screenshot(f"{language}-01-applicant-dashboard")

    page.locator(f"main a[href='{reverse('grants:create')}']").first.click()
    page.select_option("#id_call", str(call.pk))
    page.fill("#id_title", "基于机器学习的城市内涝预测方法研究")
    page.locator("main form button[type=submit]").click()

    # Content
    page.wait_for_selector("#id_abstract")
    page.fill("#id_abstract", "利用多源数据和机器学习方法，提高城市内涝短时预测的精度。")
    page.fill("#id_keywords", "城市内涝、机器学习，短时预测")
    page.select_option("#id_discipline", "D")
    page.fill("#id_title_en", "Machine-learning prediction of urban flooding")
    page.fill("#id_abstract_en", "We improve short-term urban flood prediction.")
    page.fill("#id_keywords_en", "urban flooding, machine learning")
    screenshot(f"{language}-02-content")
    page.click("button[name=save_next]")

    # Team: nobody besides the PI.
    page.wait_for_selector("#id_team-0-member")
    page.click("button[name=save_next]")

    # Budget: first too much (refused, typed values kept), then within the cap.
    page.wait_for_selector("#id_equipment")
    page.fill("#id_equipment", "100000")
    page.fill("#id_business", "800000")
    page.fill("#id_labor", "200000")
    page.click("button[name=save]")
    page.wait_for_selector(".form-errors")
    assert "1,000,000.00" in page.inner_text(".form-errors")
    assert page.input_value("#id_business") == "800000"
    screenshot(f"{language}-03-budget-over-cap")
    page.fill("#id_business", "300000")
    page.click("button[name=save_next]")

    # Attachments
    pdf = tmp_path / "research-plan.pdf"
    pdf.write_bytes(PDF_BYTES)
    page.wait_for_selector("#id_file")
    page.fill("#id_title", "研究计划书")
    page.set_input_files("#id_file", str(pdf))
    page.locator("main form[enctype] button[type=submit]").click()
    page.wait_for_selector("main table a:has-text('研究计划书')")
    page.locator("main a[href$='/edit/experts/']").last.click()

    # Experts to avoid
    page.wait_for_selector("#id_experts-0-name")
    page.fill("#id_experts-0-name", "王五")
    page.fill("#id_experts-0-institution", "某大学")
    page.fill("#id_experts-0-reason", "存在直接竞争关系")
    page.click("button[name=save_next]")

    # Detail: everything is there; submit.
    page.wait_for_selector("button[value=submit]")
    application = Application.objects.get(applicant=pi)
    assert page.inner_text("table.budget tfoot").endswith("750,000.00")
    screenshot(f"{language}-04-detail-draft")
    page.click("button[value=submit]")
    page.wait_for_selector(".msg-success")
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    assert application.number
    assert page.inner_text("#state") == state_label("submitted", language)
    assert application.number in page.inner_text("main")
    screenshot(f"{language}-05-submitted")
    log_out(page)

    # The research office endorses it.
    log_in(page, base, admin.username)
    assert page.locator("html").get_attribute("lang") == HTML_LANG[language]
    page.locator(f"nav a[href='{reverse('grants:institution_queue')}']").click()
    page.wait_for_selector(f"main table a:has-text('{application.title}')")
    screenshot(f"{language}-06-institution-queue")
    page.click(f"main table a:has-text('{application.title}')")
    page.wait_for_selector("button[value=endorse]")
    screenshot(f"{language}-07-admin-detail")
    page.click("button[value=endorse]")
    page.wait_for_selector(".msg-success")
    application.refresh_from_db()
    assert application.state == ApplicationState.ENDORSED
    assert page.inner_text("#state") == state_label("endorsed", language)
    screenshot(f"{language}-08-endorsed")
