"""Decisions: approve/reject (one and many, per-row errors), decision mails with the reviews
anonymised, and the PI's ratings of reviews (1–4, once, only the PI, only after decision)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from grants.enums import ApplicationState
from review import decisions
from review.models import ReviewRating
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def reviewed(state=S.REVIEWED, **kw):
    call = kw.pop("call", None) or f.CallFactory(scoring_scheme="eu", notice_days=7)
    pi = kw.pop("applicant", None) or f.applicant(email="pi@example.org", language="en")
    application = f.ApplicationFactory(call=call, applicant=pi, **kw)
    return f.set_state(application, state, number=f"BF-2027-{application.pk:06d}")


def eu_review(application, reviewer, scores, recommendation, comment, confidential):
    total = sum(scores.values())
    return f.ReviewFactory(
        assignment=f.ReviewAssignmentFactory(application=application, reviewer=reviewer),
        scores=scores,
        total=total,
        recommendation=recommendation,
        comment=comment,
        confidential_comment=confidential,
    )


@pytest.fixture
def decided_world(django_capture_on_commit_callbacks):
    application = reviewed()
    reviewers = [
        f.reviewer(username="expert_wang", full_name="Wang Expert", email="wang@uni.example"),
        f.reviewer(username="expert_smith", full_name="John Smith", email="smith@uni.example",
                   country="GB"),
    ]  # fmt: skip
    eu_review(
        application, reviewers[0], {"excellence": 4.5, "impact": 4, "implementation": 3.5},
        "fund", "Strong methods; the work plan is tight.", "I know the PI's group well.",
    )  # fmt: skip
    eu_review(
        application, reviewers[1], {"excellence": 3, "impact": 3, "implementation": 3},
        "do_not_fund", "The impact section is thin.", "SECRET: weak group.",
    )  # fmt: skip
    return application, reviewers


def test_approve_sends_the_decision_mail_with_anonymised_reviews(
    decided_world, django_capture_on_commit_callbacks
):
    application, reviewers = decided_world
    officer = f.officer()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.board_step(application=application, name="approve", user=officer)
    application.refresh_from_db()
    assert application.state == S.IN_NOTICE
    assert application.notice_ends_at - application.notice_starts_at == timedelta(days=7)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pi@example.org"]
    assert f"Proposal {application.number} approved for funding" in message.subject
    body = message.body
    assert "Review 1" in body and "Review 2" in body
    assert "Strong methods; the work plan is tight." in body
    assert "The impact section is thin." in body
    assert "Excellence: 4.5" in body and "Weighted score: 12" in body
    assert "Recommendation: Fund" in body and "Recommendation: Do not fund" in body
    for reviewer in reviewers:
        for secret in (reviewer.username, reviewer.full_name, reviewer.email):
            assert secret not in body and secret not in message.subject
    assert "I know the PI's group well." not in body
    assert "SECRET" not in body


def test_reject_needs_a_reason_and_mails_it_in_the_pis_language(
    decided_world, django_capture_on_commit_callbacks
):
    application, reviewers = decided_world
    application.applicant.language = "zh-hans"
    application.applicant.save()
    officer = f.officer()
    with pytest.raises(ValidationError):
        decisions.board_step(application=application, name="reject", user=officer, comment=" ")
    application.refresh_from_db()
    assert application.state == S.REVIEWED
    with django_capture_on_commit_callbacks(execute=True):
        decisions.board_step(
            application=application, name="reject", user=officer, comment="排名在资助线以下"
        )
    application.refresh_from_db()
    assert application.state == S.REJECTED
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "排名在资助线以下" in body
    assert "The impact section is thin." in body
    assert "SECRET" not in body and "John Smith" not in body


def test_bulk_is_all_or_nothing_per_row_with_clear_errors(django_capture_on_commit_callbacks):
    officer = f.officer()
    call = f.CallFactory(notice_days=7)
    ok_one, ok_two = reviewed(call=call), reviewed(call=call)
    still_under_review = reviewed(call=call, state=S.UNDER_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        results = decisions.board_bulk(
            applications=[ok_one, still_under_review, ok_two], name="approve", user=officer
        )
    assert [(r.application.pk, r.ok) for r in results] == [
        (ok_one.pk, True), (still_under_review.pk, False), (ok_two.pk, True),
    ]  # fmt: skip
    assert "not possible for you while the proposal is 'Under review'" in results[1].errors[0]
    states = {a.pk: a.state for a in type(ok_one).objects.filter(call=call)}
    assert states == {ok_one.pk: S.IN_NOTICE, still_under_review.pk: S.UNDER_REVIEW,
                      ok_two.pk: S.IN_NOTICE}  # fmt: skip
    assert len(mail.outbox) == 2


def test_bulk_reject_requires_a_reason_per_row_or_for_all():
    officer = f.officer()
    call = f.CallFactory()
    a, b, c = reviewed(call=call), reviewed(call=call), reviewed(call=call)
    results = decisions.board_bulk(
        applications=[a, b, c], name="reject", user=officer, comments={b.pk: "duplicate"}
    )
    assert [r.ok for r in results] == [False, True, False]
    assert results[0].errors == ["A reason is required to reject a proposal."]
    results = decisions.board_bulk(
        applications=[a, c], name="reject", user=officer, comment="below the funding line"
    )
    assert [r.ok for r in results] == [True, True]
    a.refresh_from_db()
    assert a.state == S.REJECTED


# --- ratings ---------------------------------------------------------------------------------


def test_rating_once_one_to_four_by_the_pi_after_decision(decided_world, api):
    application, _reviewers = decided_world
    review = application.review_assignments.first().review
    pi = application.applicant
    url = f"/api/v1/reviews/{review.pk}/rating/"
    # before the decision: refused
    response = api(pi).post(url, {"rating": 3}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    f.set_state(application, S.REJECTED)
    # out of range
    for bad in (0, 5):
        response = api(pi).post(url, {"rating": bad}, format="json")
        assert response.status_code == 400
        assert "rating" in response.json()
    # others: 404 (the review is not theirs to see)
    for other in (f.applicant(), f.officer(), review.assignment.reviewer):
        assert api(other).post(url, {"rating": 3}, format="json").status_code == 404
    assert not ReviewRating.objects.exists()
    response = api(pi).post(url, {"rating": 3}, format="json")
    assert response.status_code == 201
    assert response.json() == {"review": review.pk, "rating": 3}
    response = api(pi).post(url, {"rating": 4}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert list(ReviewRating.objects.values_list("review_id", "rating")) == [(review.pk, 3)]


def test_rating_service_refuses_a_team_member(decided_world):
    application, _reviewers = decided_world
    member = f.applicant()
    application.team.create(user=member)
    f.set_state(application, S.AWARDED)
    review = application.review_assignments.first().review
    with pytest.raises(PermissionDenied):
        decisions.review_rate(review=review, user=member, rating=2)


def test_pi_reads_anonymised_reviews_and_rates_on_the_proposal_page(decided_world, login, api):
    application, reviewers = decided_world
    pi = application.applicant
    page = reverse("grants:detail", args=[application.pk])
    assert "Expert reviews" not in login(pi).get(page).content.decode()  # not decided yet
    f.set_state(application, S.IN_NOTICE)
    html = login(pi).get(page).content.decode()
    assert "Expert reviews" in html
    assert "Strong methods; the work plan is tight." in html
    for reviewer in reviewers:
        assert reviewer.full_name not in html and reviewer.username not in html
    assert "SECRET" not in html and "I know the PI&#x27;s group well." not in html
    # not for an officer reading the same page
    assert "Expert reviews" not in login(f.officer()).get(page).content.decode()
    # the API lists them with the ids to rate
    data = api(pi).get(f"/api/v1/applications/{application.pk}/reviews/").json()
    assert [r["label"] for r in data] == ["Review 1", "Review 2"]
    assert set(data[0]) == {"id", "label", "scores", "total", "recommendation", "comment",
                            "rating"}  # fmt: skip
    assert (
        api(f.applicant()).get(f"/api/v1/applications/{application.pk}/reviews/").status_code == 404
    )
    review_id = data[1]["id"]
    response = login(pi).post(reverse("review:review_rate", args=[review_id]), {"rating": "2"})
    assert response.status_code == 302
    assert ReviewRating.objects.get(review_id=review_id).rating == 2
    html = login(pi).get(page).content.decode()
    assert "Your rating: 2 of 4." in html
    response = login(pi).post(reverse("review:review_rate", args=[review_id]), {"rating": "4"})
    assert ReviewRating.objects.get(review_id=review_id).rating == 2
    other = login(f.applicant()).post(
        reverse("review:review_rate", args=[review_id]), {"rating": "4"}
    )
    assert other.status_code == 404
