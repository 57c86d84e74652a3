"""An international reviewer (language en, country DE) follows the mailed invitation link,
signs the pledge, accepts, reads the proposal, saves a draft, is told about a score off the
scale beside the field, and submits — all in English. Screenshots in
test-artifacts/screenshots/ (reviewer-*.png)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from grants.enums import ApplicationState
from review import services
from review.models import AssignmentState, Review
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-test-pw-2026"
HAN = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")

# The page's text as a reader sees it, minus content marked as Chinese (the binding Chinese
# pledge text, the proposal's Chinese title) and the language selector, which names each
# language in itself by design.
CHROME_TEXT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('[lang^="zh"], #lang-select').forEach(e => e.remove());
  return clone.innerText;
}"""


def assert_english(page):
    assert page.locator("html").get_attribute("lang") == "en"
    text = page.evaluate(CHROME_TEXT)
    found = HAN.findall(text)
    assert not found, f"Chinese text on an English page: {''.join(found)[:80]!r}"


def test_international_reviewer_accepts_and_submits_in_english(live_server, page, screenshot):
    base = live_server.url
    today = timezone.localdate()
    program = f.ProgramFactory(name="基础研究", name_en="Basic Research", code="BR")
    call = f.CallFactory(
        program=program,
        title="2027年度基础研究项目",
        title_en="Basic research 2027",
        scoring_scheme="eu",
        review_deadline=today + timedelta(days=14),
    )
    pi = f.applicant(full_name="Li Xiaoming")
    application = f.ApplicationFactory(
        call=call,
        applicant=pi,
        title="城市内涝的短时预测方法研究",
        abstract="利用多源数据提高城市内涝短时预测精度。",
        title_en="Short-term prediction of urban flooding",
        abstract_en="We use multi-source data to improve short-term urban flood forecasts.",
        keywords_en=["urban flooding", "machine learning"],
    )
    f.set_state(application, ApplicationState.UNDER_REVIEW, number="BR-2027-000007")
    expert = f.reviewer(
        username="anna.schmidt",
        full_name="Anna Schmidt",
        country="DE",
        language="en",
        password=PASSWORD,
        email="anna.schmidt@example.de",
    )
    assignment = f.ReviewAssignmentFactory(
        application=application,
        reviewer=expert,
        state=AssignmentState.INVITED,
        respond_by=today + timedelta(days=5),
    )
    services.invite([assignment.pk])  # no transaction here: mailed at once

    # The invitation mail, in English, with the English title.
    (message,) = mail.outbox
    assert message.subject == "Invitation to review proposal BR-2027-000007"
    assert "Short-term prediction of urban flooding" in message.body
    assert not HAN.search(message.subject + message.body)
    accept_path = re.search(r"https?://\S+?(/review/invitation/\S+/accept/)", message.body)[1]

    # The link asks her to sign in first, then shows the invitation and the pledge.
    page.goto(base + accept_path)
    page.wait_for_selector("input[name=username]")
    assert_english(page)
    screenshot("reviewer-01-login-from-mail")
    page.fill("input[name=username]", expert.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + accept_path)
    page.wait_for_selector("#id_pledge-agree")
    assert "Short-term prediction of urban flooding" in page.inner_text("main")
    assert "Hiding an approach is misconduct" in page.inner_text("main")
    assert_english(page)
    screenshot("reviewer-02-invitation-and-pledge")

    # Accepting without ticking the pledge is refused beside the box.
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector(".has-error #id_pledge-agree")
    assert "Tick the box to sign the pledge." in page.inner_text("main")
    assert_english(page)
    page.check("#id_pledge-agree")
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector(".msg-success")
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.ACCEPTED
    assert page.inner_text("#state") == "Accepted"
    assert "We use multi-source data" in page.inner_text("main")
    assert "Li Xiaoming" in page.inner_text("main")
    assert_english(page)
    screenshot("reviewer-03-assignment-accepted")

    # The review form: a draft first.
    page.click(f"main a[href='{reverse('review:review', args=[assignment.pk])}']")
    page.wait_for_selector("#id_score_excellence")
    assert_english(page)
    page.fill("#id_score_excellence", "4.5")
    page.fill("#id_comment", "A clear plan with convincing preliminary data.")
    screenshot("reviewer-04-review-form")
    page.click("button[name=save]")
    page.wait_for_selector(".msg-success")
    review = Review.objects.get(assignment=assignment)
    assert review.scores == {"excellence": 4.5} and not review.is_locked
    assert page.input_value("#id_score_excellence") == "4.5"

    # A score off the scale: the error sits beside its field; nothing is submitted.
    page.fill("#id_score_impact", "4.3")
    page.fill("#id_score_implementation", "3.5")
    page.check("input[name=recommendation][value=fund]")
    page.click("button[name=submit]")
    page.wait_for_selector("#id_score_impact_error")
    assert "Impact: 4.3 is not on the scale" in page.inner_text("#id_score_impact_error")
    assert page.input_value("#id_score_impact") == "4.3"
    assert_english(page)
    screenshot("reviewer-05-inline-error")
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.ACCEPTED

    page.fill("#id_score_impact", "4")
    page.fill("#id_confidential_comment", "Among the best in my batch.")
    page.click("button[name=submit]")
    page.wait_for_selector(".msg-success")
    assignment.refresh_from_db()
    review.refresh_from_db()
    assert assignment.state == AssignmentState.SUBMITTED
    assert review.is_locked and review.total == Decimal("12")
    assert page.inner_text("#state") == "Review submitted"
    assert "Weighted total" in page.inner_text("main")
    assert page.locator(f"a[href='{reverse('review:review_pdf', args=[assignment.pk])}']").count()
    assert_english(page)
    screenshot("reviewer-06-submitted")

    # Read-only afterwards; the dashboard counts it.
    page.goto(base + reverse("review:review", args=[assignment.pk]))
    assert page.locator("#id_score_excellence").count() == 0
    assert "Submitted: this review is read-only." in page.inner_text("main")
    page.goto(base + reverse("dashboard"))
    assert_english(page)
    assert page.inner_text("#reviewer-due") == "0"
    screenshot("reviewer-07-dashboard")
