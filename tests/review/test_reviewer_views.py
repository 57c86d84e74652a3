"""The reviewer's pages: only the assigned proposal, in the reviewer's language; anonymous
calls hide the applicant; reviewers never see each other; the review form saves drafts,
shows errors inline and locks on submission; the review PDF; lists in fixed queries."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from grants import services as grant_services
from grants.enums import ApplicationState
from review import services
from review.models import AssignmentState, Review
from tests import factories as f

A = AssignmentState
S = ApplicationState
pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def proposal(call=None, **kw):
    application = f.ApplicationFactory(call=call or f.CallFactory(), **kw)
    return f.set_state(application, S.UNDER_REVIEW, number=f"BF-2027-{application.pk:06d}")


def assign(application, reviewer=None, state=A.INVITED):
    return f.ReviewAssignmentFactory(
        application=application,
        reviewer=reviewer or f.reviewer(language="en"),
        state=state,
        respond_by=timezone.localdate() + timedelta(days=5),
    )


def accepted(application, reviewer=None):
    assignment = assign(application, reviewer)
    services.pledge_sign(reviewer=assignment.reviewer, call=application.call)
    return services.assignment_accept(assignment=assignment, user=assignment.reviewer)


def with_attachment(application, title="Research plan"):
    return grant_services.attachment_add(
        application=application,
        uploaded_by=application.applicant,
        title=title,
        file=SimpleUploadedFile("plan.pdf", PDF_BYTES, content_type="application/pdf"),
    )


@pytest.fixture
def world():
    call = f.CallFactory(scoring_scheme="eu", review_deadline=timezone.localdate() + timedelta(20))
    pi = f.applicant(full_name="李晓明")
    member = f.UserFactory(full_name="王芳", institution=pi.institution)
    mine = f.ApplicationFactory(
        call=call,
        applicant=pi,
        team=[member],
        title="量子材料研究",
        title_en="Quantum materials",
        abstract="研究拓扑相变。",
        abstract_en="We study topological transitions.",
        keywords_en=["topology"],
    )
    attachment = with_attachment(mine)
    f.set_state(mine, S.UNDER_REVIEW, number="BF-2027-000101")
    other = f.ApplicationFactory(call=call, title="别人的项目", title_en="Someone else's")
    other_attachment = with_attachment(other, "Other plan")
    f.set_state(other, S.UNDER_REVIEW, number="BF-2027-000102")
    expert = f.reviewer(full_name="Anna Schmidt", country="DE", language="en")
    colleague = f.reviewer(full_name="Wang Wei", language="en")
    mine_assignment = accepted(mine, expert)
    colleague_assignment = accepted(mine, colleague)
    services.review_submit(
        assignment=colleague_assignment,
        user=colleague,
        scores={"excellence": 2, "impact": 2, "implementation": 2},
        recommendation="do_not_fund",
        comment="COLLEAGUE-SECRET comment.",
    )
    other_assignment = accepted(other, colleague)
    return {
        "call": call,
        "mine": mine,
        "attachment": attachment,
        "other": other,
        "other_attachment": other_attachment,
        "expert": expert,
        "colleague": colleague,
        "assignment": mine_assignment,
        "colleague_assignment": colleague_assignment,
        "other_assignment": other_assignment,
        "pi": pi,
    }


# --- what a reviewer may read ---------------------------------------------------------------


def test_assignment_page_shows_the_proposal_in_the_reviewers_language(world, login):
    client = login(world["expert"])
    page = client.get(reverse("review:assignment", args=[world["assignment"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["proposal"]["title"] == "Quantum materials"
    assert "We study topological transitions." in html
    assert "topology" in html
    assert "Research plan" in html  # attachments listed
    assert "李晓明" in html and "王芳" in html  # not an anonymous call: PI and team shown


def test_assignment_page_in_chinese_shows_the_chinese_content(world, login):
    expert = f.reviewer(language="zh-hans")
    assignment = accepted(world["mine"], expert)
    client = login(expert)
    page = client.get(
        reverse("review:assignment", args=[assignment.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert page.context["proposal"]["title"] == "量子材料研究"
    assert "研究拓扑相变。" in page.content.decode()


def test_anonymous_call_hides_applicant_institution_and_team(login):
    call = f.CallFactory(anonymous_review=True)
    pi = f.applicant(full_name="李晓明")
    member = f.UserFactory(full_name="王芳", institution=pi.institution)
    application = proposal(call, applicant=pi, team=[member])
    assignment = accepted(application)
    client = login(assignment.reviewer)
    page = client.get(reverse("review:assignment", args=[assignment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Hidden: this call is reviewed anonymously." in html
    for secret in ("李晓明", "王芳", pi.institution.name, pi.institution.name_en):
        assert secret not in html
    assert "pi" not in page.context["proposal"]
    assert "team" not in page.context
    invitation_page = client.get(reverse("review:invitation_accept", args=[assignment.token]))
    assert "李晓明" not in invitation_page.content.decode()
    review_page = client.get(reverse("review:review", args=[assignment.pk])).content.decode()
    assert "李晓明" not in review_page and pi.institution.name not in review_page


def test_reviewer_cannot_read_anything_not_assigned(world, login):
    client = login(world["expert"])
    other = world["other_assignment"]
    not_mine = [
        reverse("review:assignment", args=[other.pk]),
        reverse("review:review", args=[other.pk]),
        reverse("review:review_pdf", args=[other.pk]),
        reverse("review:assignment_attachment", args=[other.pk, world["other_attachment"].pk]),
        # the colleague's assignment on the same proposal, and its submitted review
        reverse("review:assignment", args=[world["colleague_assignment"].pk]),
        reverse("review:review", args=[world["colleague_assignment"].pk]),
        reverse("review:review_pdf", args=[world["colleague_assignment"].pk]),
        # another proposal's attachment through one's own assignment
        reverse(
            "review:assignment_attachment",
            args=[world["assignment"].pk, world["other_attachment"].pk],
        ),
        # the proposal pages of grants stay closed to reviewers
        reverse("grants:detail", args=[world["mine"].pk]),
        reverse("grants:attachment", args=[world["mine"].pk, world["attachment"].pk]),
        reverse("grants:pdf", args=[world["mine"].pk]),
    ]
    for url in not_mine:
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("review:assignment_step", args=[other.pk, "declare_conflict"]),
        {"conflict-comment": "x"},
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.state == A.ACCEPTED


def test_attachment_of_the_assigned_proposal_downloads(world, login):
    client = login(world["expert"])
    url = reverse(
        "review:assignment_attachment", args=[world["assignment"].pk, world["attachment"].pk]
    )
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Cache-Control"] == "private, no-store"


def test_attachments_only_after_accepting_and_never_after_closing(world, login):
    newcomer = assign(world["mine"])
    client = login(newcomer.reviewer)
    url = reverse("review:assignment_attachment", args=[newcomer.pk, world["attachment"].pk])
    assert client.get(url).status_code == 404  # invited: title and abstract only
    page = client.get(reverse("review:assignment", args=[newcomer.pk]))
    assert page.context["proposal"]["title"] == "Quantum materials"
    assert "attachments" not in page.context
    services.assignment_decline(assignment=newcomer, user=newcomer.reviewer)
    assert client.get(url).status_code == 404
    closed = client.get(reverse("review:assignment", args=[newcomer.pk]))
    assert closed.context["proposal"] is None
    assert "Quantum materials" not in closed.content.decode()


def test_reviewers_never_see_each_other(world, login):
    client = login(world["expert"])
    pages = [
        client.get(reverse("review:assignment", args=[world["assignment"].pk])),
        client.get(reverse("review:review", args=[world["assignment"].pk])),
        client.get(reverse("review:assignment_list")),
        client.get(reverse("dashboard")),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert "Wang Wei" not in html
        assert world["colleague"].username not in html
        assert "COLLEAGUE-SECRET" not in html
    rows = pages[2].context["table"].paginated_rows
    assert [row.record.pk for row in rows] == [world["assignment"].pk]


# --- the list and the dashboard -------------------------------------------------------------


def count_queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_assignment_list_filters_and_runs_in_fixed_queries(login):
    expert = f.reviewer(language="en")
    client = login(expert)
    url = reverse("review:assignment_list")
    first = accepted(proposal(), expert)
    services.review_save_draft(assignment=first, user=expert, comment="Draft.")
    one, _response = count_queries(client, url)
    for i in range(29):
        assignment = assign(proposal(), expert)
        if i % 3 == 0:
            services.pledge_sign(reviewer=expert, call=assignment.application.call)
            services.assignment_accept(assignment=assignment, user=expert)
            services.review_save_draft(assignment=assignment, user=expert, comment="Draft.")
    thirty, response = count_queries(client, url + "?per_page=50")
    assert thirty == one
    assert len(response.context["table"].paginated_rows) == 30
    invited = client.get(url, {"state": "invited"})
    states = {row.record.state for row in invited.context["table"].paginated_rows}
    assert states == {A.INVITED}
    assert len(invited.context["table"].paginated_rows) == 19
    html = response.content.decode()
    assert "Draft saved" in html and 'scope="col"' in html


def test_dashboard_counts_invitations_and_reviews_due(login):
    expert = f.reviewer(language="en")
    client = login(expert)
    url = reverse("dashboard")
    assign(proposal(), expert)
    one, _ = count_queries(client, url)
    for _i in range(5):
        assign(proposal(), expert)
    call = f.CallFactory(review_deadline=timezone.localdate() + timedelta(days=9))
    for _i in range(3):
        accepted(proposal(call), expert)
    again, response = count_queries(client, url)
    assert again == one
    section = response.context["reviewer"]
    assert (section["invited"], section["due"], section["submitted"]) == (6, 3, 0)
    assert section["next_deadline"] == call.review_deadline
    assert "invitations waiting for your answer" in response.content.decode()


# --- answering on the page ------------------------------------------------------------------


def test_accept_on_the_page_signs_the_pledge_and_decline_needs_no_reason(login):
    call = f.CallFactory()
    expert = f.reviewer(language="en")
    first, second = assign(proposal(call), expert), assign(proposal(call), expert)
    client = login(expert)
    refused = client.post(reverse("review:assignment_step", args=[first.pk, "accept"]))
    assert refused.status_code == 400
    assert "Tick the box to sign the pledge." in refused.content.decode()
    first.refresh_from_db()
    assert first.state == A.INVITED
    client.post(
        reverse("review:assignment_step", args=[first.pk, "accept"]), {"pledge-agree": "on"}
    )
    client.post(reverse("review:assignment_step", args=[second.pk, "decline"]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (A.ACCEPTED, A.DECLINED)
    # Accepting again is refused (409) and says why.
    again = client.post(reverse("review:assignment_step", args=[first.pk, "accept"]))
    assert again.status_code == 409


# --- the review form ------------------------------------------------------------------------


def form_data(**scores):
    data = {f"score_{code}": value for code, value in scores.items()}
    return data


def test_review_form_is_built_from_the_scheme(world, login):
    client = login(world["expert"])
    page = client.get(reverse("review:review", args=[world["assignment"].pk]))
    form = page.context["form"]
    assert list(form.fields) == [
        "score_excellence",
        "score_impact",
        "score_implementation",
        "recommendation",
        "comment",
        "confidential_comment",
    ]
    html = page.content.decode()
    assert 'step="0.5"' in html and 'max="5"' in html
    assert "0 to 5, in steps of 0.5" in html


def test_nsfc_form_offers_the_letter_grades(login):
    call = f.CallFactory(scoring_scheme="nsfc")
    assignment = accepted(proposal(call))
    page = login(assignment.reviewer).get(reverse("review:review", args=[assignment.pk]))
    field = page.context["form"].fields["score_overall"]
    assert [label for value, label in field.choices if value] == ["A", "B", "C", "D"]
    assert dict(field.choices)["4"] == "A"


def test_save_draft_then_inline_errors_then_submit_locks(world, login):
    client = login(world["expert"])
    assignment = world["assignment"]
    url = reverse("review:review", args=[assignment.pk])

    saved = client.post(
        url, {**form_data(excellence="4.5"), "comment": "First notes.", "save": "1"}
    )
    assert saved.status_code == 302
    review = Review.objects.get(assignment=assignment)
    assert (review.scores, review.comment, review.submitted_at) == (
        {"excellence": 4.5},
        "First notes.",
        None,
    )
    again = client.get(url)
    assert again.context["form"].initial["score_excellence"] == "4.5"

    bad = client.post(
        url,
        {
            **form_data(excellence="4.5", impact="4.3", implementation=""),
            "recommendation": "fund",
            "comment": "Notes.",
            "submit": "1",
        },
    )
    assert bad.status_code == 400
    errors = bad.context["form"].errors
    assert errors["score_impact"] == ["Impact: 4.3 is not on the scale (steps of 0.5 from 0)."]
    assert errors["score_implementation"] == ["Implementation: give a score."]
    assert 'id="id_score_impact_error"' in bad.content.decode()
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED
    review.refresh_from_db()
    assert review.comment == "First notes."  # a refused submission changes nothing

    done = client.post(
        url,
        {
            **form_data(excellence="4.5", impact="4", implementation="3.5"),
            "recommendation": "fund",
            "comment": "A strong proposal.",
            "confidential_comment": "Best of my batch.",
            "submit": "1",
        },
    )
    assert done.status_code == 302
    assignment.refresh_from_db()
    review.refresh_from_db()
    assert assignment.state == A.SUBMITTED
    assert review.total == Decimal("12") and review.is_locked

    read_only = client.get(url)
    assert read_only.context["locked"] is True
    assert "form" not in read_only.context
    assert "Submitted: this review is read-only." in read_only.content.decode()
    client.post(url, {**form_data(excellence="0"), "comment": "Changed.", "save": "1"})
    review.refresh_from_db()
    assert review.comment == "A strong proposal."


def test_review_form_before_accepting_redirects(login):
    assignment = assign(proposal())
    response = login(assignment.reviewer).get(reverse("review:review", args=[assignment.pk]))
    assert response.status_code == 302
    assert not Review.objects.exists()


# --- the review PDF -------------------------------------------------------------------------


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def test_review_pdf_has_the_review_and_nobody_elses(world, login):
    expert, assignment = world["expert"], world["assignment"]
    services.review_submit(
        assignment=assignment,
        user=expert,
        scores={"excellence": 4.5, "impact": 4, "implementation": 3.5},
        recommendation="fund",
        comment="Convincing preliminary data.",
    )
    client = login(expert)
    page = client.get(reverse("review:assignment", args=[assignment.pk])).content.decode()
    pdf_url = reverse("review:review_pdf", args=[assignment.pk])
    assert pdf_url in page
    response = client.get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Expertreview" in text
    assert "Quantummaterials" in text
    assert "Convincingpreliminarydata." in text
    assert "12" in text and "Fund" in text
    assert "COLLEAGUE-SECRET" not in text and "WangWei" not in text


def test_review_pdf_of_a_draft_is_404(world, login):
    services.review_save_draft(
        assignment=world["assignment"], user=world["expert"], comment="Draft."
    )
    client = login(world["expert"])
    assert (
        client.get(reverse("review:review_pdf", args=[world["assignment"].pk])).status_code == 404
    )
