"""API v1: /review-assignments/ (own only; officers their programs'), transitions, the
pledge, /reviews/ drafts and locks, /calls/<id>/scoring-scheme/; 400/404/409 as api.md says."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from grants.enums import ApplicationState
from review import services
from review.models import AssignmentState, ConflictDeclaration, Review
from tests import factories as f

A = AssignmentState
S = ApplicationState
pytestmark = pytest.mark.django_db

ASSIGNMENTS = "/api/v1/review-assignments/"
REVIEWS = "/api/v1/reviews/"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def proposal(call=None, **kw):
    application = f.ApplicationFactory(call=call or f.CallFactory(scoring_scheme="eu"), **kw)
    return f.set_state(application, S.UNDER_REVIEW, number=f"BF-2027-{application.pk:06d}")


def assign(application=None, reviewer=None, state=A.INVITED):
    return f.ReviewAssignmentFactory(
        application=application or proposal(),
        reviewer=reviewer or f.reviewer(language="en"),
        state=state,
        respond_by=timezone.localdate() + timedelta(days=5),
    )


def accepted(application=None, reviewer=None):
    assignment = assign(application, reviewer)
    services.pledge_sign(reviewer=assignment.reviewer, call=assignment.application.call)
    return services.assignment_accept(assignment=assignment, user=assignment.reviewer)


def transition(client, assignment, name, **body):
    return client.post(f"{ASSIGNMENTS}{assignment.pk}/transitions/{name}/", body, format="json")


GOOD = {"excellence": 4.5, "impact": 4, "implementation": 3.5}


# --- review assignments ---------------------------------------------------------------------


def test_reviewer_lists_only_their_own_assignments(api):
    expert = f.reviewer(language="en", country="DE")
    mine = assign(proposal(title_en="Quantum materials"), expert)
    assign()  # someone else's
    response = api(expert).get(ASSIGNMENTS)
    assert response.status_code == 200
    assert response.data["count"] == 1
    (row,) = response.data["results"]
    assert {k: row[k] for k in ("id", "application", "reviewer", "state", "respond_by")} == {
        "id": mine.pk,
        "application": mine.application_id,
        "reviewer": expert.pk,
        "state": "invited",
        "respond_by": mine.respond_by.isoformat(),
    }
    assert row["is_international"] is True
    assert sorted(row["available_transitions"]) == ["accept", "declare_conflict", "decline"]
    assert row["proposal"]["title"] == "Quantum materials"


def test_other_reviewers_assignment_is_404(api):
    other = assign()
    client = api(f.reviewer())
    assert client.get(f"{ASSIGNMENTS}{other.pk}/").status_code == 404
    assert transition(client, other, "decline").status_code == 404
    assert client.post(f"{ASSIGNMENTS}{other.pk}/pledge/", {"agree": True}).status_code == 404
    other.refresh_from_db()
    assert other.state == A.INVITED


def test_officers_see_the_assignments_of_their_programs_and_answer_none(api):
    agency = f.AgencyFactory()
    delegated = f.CallFactory(program=f.ProgramFactory(agency=agency), scoring_scheme="eu")
    inside, outside = assign(proposal(delegated)), assign()
    staff = f.agency_staff(agency)
    ids = [row["id"] for row in api(staff).get(ASSIGNMENTS).data["results"]]
    assert ids == [inside.pk]
    assert api(staff).get(f"{ASSIGNMENTS}{outside.pk}/").status_code == 404
    officer_ids = {row["id"] for row in api(f.officer()).get(ASSIGNMENTS).data["results"]}
    assert officer_ids == {inside.pk, outside.pk}
    refused = transition(api(f.officer()), inside, "accept")
    assert refused.status_code == 409
    assert refused.data["code"] == "invalid_transition"
    assert api(f.applicant()).get(ASSIGNMENTS).data["count"] == 0


def test_anonymous_call_hides_the_applicant_from_the_reviewer_only(api):
    call = f.CallFactory(anonymous_review=True, scoring_scheme="eu")
    pi = f.applicant(full_name="李晓明")
    assignment = assign(proposal(call, applicant=pi))
    mine = api(assignment.reviewer).get(f"{ASSIGNMENTS}{assignment.pk}/").data["proposal"]
    assert (mine["anonymous"], mine["applicant"], mine["institution"]) == (True, None, None)
    officers = api(f.officer()).get(f"{ASSIGNMENTS}{assignment.pk}/").data["proposal"]
    assert officers["applicant"] == "李晓明"


def test_accept_needs_the_pledge_then_works(api):
    assignment = assign()
    client = api(assignment.reviewer)
    refused = transition(client, assignment, "accept")
    assert refused.status_code == 409
    assert refused.data["code"] == "invalid_transition"
    assert "integrity pledge" in refused.data["detail"]
    not_agreed = client.post(f"{ASSIGNMENTS}{assignment.pk}/pledge/", {"agree": False})
    assert not_agreed.status_code == 400 and "agree" in not_agreed.data
    assert client.post(f"{ASSIGNMENTS}{assignment.pk}/pledge/", {"agree": True}).status_code == 200
    response = transition(client, assignment, "accept")
    assert response.status_code == 200
    assert response.data["state"] == "accepted"
    assert sorted(response.data["available_transitions"]) == ["declare_conflict", "submit"]


def test_barred_reviewer_gets_integrity_block(api):
    assignment = assign()
    services.pledge_sign(reviewer=assignment.reviewer, call=assignment.application.call)
    f.CreditRecordFactory(subject_user=assignment.reviewer, bars_apply=False, bars_review=True)
    response = transition(api(assignment.reviewer), assignment, "accept")
    assert response.status_code == 409
    assert response.data["code"] == "integrity_block"
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED


def test_declare_conflict_needs_a_comment(api):
    assignment = accepted()
    client = api(assignment.reviewer)
    refused = transition(client, assignment, "declare_conflict")
    assert refused.status_code == 400
    assert "comment" in refused.data
    response = transition(client, assignment, "declare_conflict", comment="Co-author in 2025.")
    assert response.status_code == 200
    assert response.data["state"] == "conflict"
    assert ConflictDeclaration.objects.get().reason == "Co-author in 2025."


def test_decline_and_unknown_or_system_steps(api):
    assignment = assign()
    client = api(assignment.reviewer)
    for name in ("expire", "fly", "submit"):
        response = transition(client, assignment, name)
        assert response.status_code == 409, name
        assert response.data["code"] == "invalid_transition"
    response = transition(client, assignment, "decline", comment="Travelling.")
    assert (response.status_code, response.data["state"]) == (200, "declined")


def test_submit_requires_a_complete_review(api):
    assignment = accepted()
    client = api(assignment.reviewer)
    client.post(REVIEWS, {"assignment": assignment.pk, "scores": {"excellence": 4}}, format="json")
    incomplete = transition(client, assignment, "submit")
    assert incomplete.status_code == 400
    assert set(incomplete.data) == {"scores", "recommendation", "comment"}
    assert any("Impact: give a score." in m for m in incomplete.data["scores"])
    client.post(
        REVIEWS,
        {"assignment": assignment.pk, "scores": GOOD, "recommendation": "fund", "comment": "Good."},
        format="json",
    )
    response = transition(client, assignment, "submit")
    assert response.status_code == 200
    assert response.data["state"] == "submitted"
    assert response.data["available_transitions"] == []
    review = Review.objects.get(assignment=assignment)
    assert review.is_locked and review.total == Decimal("12")


def test_assignment_list_runs_in_fixed_queries(api):
    expert = f.reviewer(language="en")
    client = api(expert)
    accepted(reviewer=expert)

    def count():
        client.get(ASSIGNMENTS)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(ASSIGNMENTS, {"page_size": 100})
        return len(ctx.captured_queries), response

    one, _ = count()
    for i in range(29):
        assignment = assign(reviewer=expert)
        if i % 2:
            services.pledge_sign(reviewer=expert, call=assignment.application.call)
            services.assignment_accept(assignment=assignment, user=expert)
            services.review_save_draft(assignment=assignment, user=expert, comment="x")
    thirty, response = count()
    assert response.data["count"] == 30
    assert thirty == one


# --- reviews --------------------------------------------------------------------------------


def test_post_creates_then_updates_the_draft(api):
    assignment = accepted()
    client = api(assignment.reviewer)
    created = client.post(
        REVIEWS, {"assignment": assignment.pk, "scores": {"excellence": 4.5}}, format="json"
    )
    assert created.status_code == 201
    assert created.data["scores"] == {"excellence": 4.5}
    assert (created.data["total"], created.data["locked"]) == (None, False)
    updated = client.post(
        REVIEWS,
        {"assignment": assignment.pk, "scores": GOOD, "recommendation": "fund", "comment": "OK"},
        format="json",
    )
    assert updated.status_code == 201
    assert updated.data["id"] == created.data["id"]
    assert (updated.data["total"], updated.data["passes_thresholds"]) == ("12.000", True)
    assert Review.objects.count() == 1


@pytest.mark.parametrize(
    ("scores", "fragment"),
    [
        ({"excellence": 5.5}, "outside the scale 0–5"),
        ({"impact": 3.3}, "steps of 0.5"),
        ({"novelty": 3}, "not a criterion"),
        ({"impact": "good"}, "not a number"),
    ],
)
def test_scores_off_the_scale_are_400(api, scores, fragment):
    assignment = accepted()
    response = api(assignment.reviewer).post(
        REVIEWS, {"assignment": assignment.pk, "scores": scores}, format="json"
    )
    assert response.status_code == 400
    assert fragment in " ".join(response.data["scores"])
    assert not Review.objects.exclude(scores={}).exists()


def test_bad_recommendation_is_400(api):
    assignment = accepted()
    response = api(assignment.reviewer).post(
        REVIEWS, {"assignment": assignment.pk, "recommendation": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert "recommendation" in response.data


def test_locked_review_is_409(api):
    assignment = accepted()
    services.review_submit(
        assignment=assignment, user=assignment.reviewer, scores=GOOD, recommendation="fund",
        comment="Done.",
    )  # fmt: skip
    response = api(assignment.reviewer).post(
        REVIEWS, {"assignment": assignment.pk, "comment": "Changed."}, format="json"
    )
    assert response.status_code == 409
    assert response.data["code"] == "invalid_transition"
    assert Review.objects.get().comment == "Done."


def test_writing_to_someone_elses_assignment_is_refused(api):
    assignment = accepted()
    intruder = f.reviewer()
    response = api(intruder).post(
        REVIEWS, {"assignment": assignment.pk, "comment": "Mine now."}, format="json"
    )
    assert response.status_code == 400
    assert "assignment" in response.data
    assert not Review.objects.exists()


def test_reviews_are_read_by_their_author_and_officers_of_the_program(api):
    agency = f.AgencyFactory()
    call = f.CallFactory(program=f.ProgramFactory(agency=agency), scoring_scheme="eu")
    application = proposal(call)
    first, second = accepted(application), accepted(application)
    services.review_submit(
        assignment=first, user=first.reviewer, scores=GOOD, recommendation="fund", comment="A"
    )
    draft = services.review_save_draft(assignment=second, user=second.reviewer, comment="B")
    submitted = Review.objects.get(assignment=first)
    outside = accepted()
    services.review_submit(
        assignment=outside, user=outside.reviewer, scores=GOOD, recommendation="fund",
        comment="C",
    )  # fmt: skip

    def ids(user):
        return [row["id"] for row in api(user).get(REVIEWS).data["results"]]

    assert ids(first.reviewer) == [submitted.pk]
    assert ids(second.reviewer) == [draft.pk]
    # Reviewers never read each other's reviews, even on the same proposal.
    assert api(second.reviewer).get(f"{REVIEWS}{submitted.pk}/").status_code == 404
    assert api(first.reviewer).get(f"{REVIEWS}{draft.pk}/").status_code == 404
    # Agency staff: the submitted reviews of delegated programs, no drafts.
    assert ids(f.agency_staff(agency)) == [submitted.pk]
    assert len(ids(f.officer())) == 2
    assert ids(f.applicant()) == []


def test_review_list_runs_in_fixed_queries(api):
    officer = f.officer()
    client = api(officer)

    def make():
        assignment = accepted()
        services.review_submit(
            assignment=assignment, user=assignment.reviewer, scores=GOOD,
            recommendation="fund", comment="x",
        )  # fmt: skip

    def count():
        client.get(REVIEWS)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(REVIEWS, {"page_size": 100})
        return len(ctx.captured_queries), response

    make()
    one, _ = count()
    for _i in range(9):
        make()
    ten, response = count()
    assert response.data["count"] == 10
    assert ten == one


# --- the scoring scheme ---------------------------------------------------------------------


def test_eu_scoring_scheme(api):
    call = f.CallFactory(scoring_scheme="eu")
    response = api(f.reviewer()).get(f"/api/v1/calls/{call.pk}/scoring-scheme/")
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "EU (three criteria, 0–5)"
    assert data["criteria"][0] == {
        "code": "excellence",
        "label": "Excellence",
        "weight": 1,
        "min": 0,
        "max": 5,
        "step": 0.5,
        "threshold": 3,
        "labels": None,
    }
    assert data["overall_threshold"] == 10
    assert data["recommendations"] == ["fund", "do_not_fund"]


def test_nsfc_scoring_scheme_in_chinese_has_numbers_with_letters(api):
    call = f.CallFactory(scoring_scheme="nsfc")
    response = api(f.reviewer()).get(
        f"/api/v1/calls/{call.pk}/scoring-scheme/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    data = response.json()
    (criterion,) = data["criteria"]
    assert criterion["label"] == "综合评价"
    assert (criterion["min"], criterion["max"], criterion["step"]) == (1, 4, 1)
    assert criterion["labels"] == {"4": "A", "3": "B", "2": "C", "1": "D"}
    assert data["overall_threshold"] is None
    assert data["recommendations"] == ["fund", "fund_if_possible", "do_not_fund"]
    assert data["recommendation_labels"]["fund"] == "优先资助"


def test_scoring_scheme_of_a_hidden_or_missing_call_is_404(api):
    agency = f.AgencyFactory()
    not_delegated = f.CallFactory()
    staff = f.agency_staff(agency)
    assert api(staff).get(f"/api/v1/calls/{not_delegated.pk}/scoring-scheme/").status_code == 404
    assert api(f.reviewer()).get("/api/v1/calls/999999/scoring-scheme/").status_code == 404
    assert api().get(f"/api/v1/calls/{not_delegated.pk}/scoring-scheme/").status_code == 401
