"""The review board: who sees it (404 for the rest), what it shows (reviewer names to officers
only), queries independent of the call's size, bulk steps with per-row errors, flags; the
ranking API; the dashboard's links to boards."""

from decimal import Decimal

import pytest
from django.urls import reverse

from grants.enums import ApplicationState
from grants.models import Application
from review.models import Review
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def proposal(call, state=S.UNDER_REVIEW, budget="100000"):
    application = f.ApplicationFactory(call=call, budget={"business": Decimal(budget)})
    return f.set_state(application, state, number=f"BF-2027-{application.pk:06d}")


@pytest.fixture
def world():
    agency = f.AgencyFactory()
    call = f.CallFactory(
        program=f.ProgramFactory(agency=agency), scoring_scheme="eu",
        total_budget=Decimal("150000"),
    )  # fmt: skip
    best, second = proposal(call), proposal(call)
    expert = f.reviewer(full_name="Dr. Visible Name", username="visible_expert")
    f.review(best, 14, "fund", assignment={"reviewer": expert}, confidential_comment="between us")
    f.review(best, 6, "do_not_fund")
    f.review(second, 9, "fund")
    f.ReviewAssignmentFactory(application=second, state="invited")
    f.ReviewAssignmentFactory(application=second, state="accepted")
    return {
        "call": call,
        "best": best,
        "second": second,
        "expert": expert,
        "agency_staff": f.agency_staff(agency),
        "other_staff": f.agency_staff(f.AgencyFactory()),
    }


def board_url(call):
    return reverse("review:board", args=[call.pk])


def test_board_for_officers_and_delegated_agency_staff_only(world, login):
    call = world["call"]
    for user in (f.officer(), world["agency_staff"]):
        assert login(user).get(board_url(call)).status_code == 200
    for user in (world["other_staff"], f.applicant(), world["expert"], f.auditor(),
                 f.integrity_officer()):  # fmt: skip
        assert login(user).get(board_url(call)).status_code == 404
    response = login(world["other_staff"]).post(
        reverse("review:board_decide", args=[call.pk]),
        {"step": "close_review", "ids": [world["best"].pk]},
    )
    assert response.status_code == 404
    assert Application.objects.get(pk=world["best"].pk).state == S.UNDER_REVIEW


def test_board_shows_progress_reviews_divergence_and_line(world, login):
    response = login(f.officer()).get(board_url(world["call"]))
    ranking = response.context["ranking"]
    best, second = ranking.rows
    assert (best.pk, best.score, best.spread, best.divergent) == (
        world["best"].pk, Decimal("10.000"), Decimal("8"), True,
    )  # fmt: skip
    assert (second.pk, second.score, second.divergent) == (world["second"].pk, Decimal("9.000"),
                                                           False)  # fmt: skip
    assert (best.invited, best.accepted, best.submitted) == (2, 2, 2)
    assert (second.invited, second.accepted, second.submitted) == (3, 2, 1)
    assert [row.above_line for row in ranking] == [True, False]
    html = response.content.decode()
    assert "divergent" in html and "between us" in html


def test_reviewer_names_to_officers_only(world, login):
    officer_html = login(f.officer()).get(board_url(world["call"])).content.decode()
    assert "Dr. Visible Name" in officer_html
    staff_html = login(world["agency_staff"]).get(board_url(world["call"])).content.decode()
    assert "Dr. Visible Name" not in staff_html and "visible_expert" not in staff_html
    assert "Reviewer 1" in staff_html


def test_board_queries_do_not_grow_with_the_call(login, django_assert_num_queries):
    call = f.CallFactory(scoring_scheme="nsfc", total_budget=Decimal("1000000"))
    client = login(f.officer())
    first = proposal(call)
    f.review(first, 3, "fund")
    approved = [proposal(call, state=S.IN_NOTICE)]
    client.get(board_url(call))  # warm caches (content types, sessions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(board_url(call))
    for n in range(8):
        application = proposal(call)
        f.review(application, 1 + n % 4, "fund")
        f.review(application, 4, "fund_if_possible")
        f.ReviewAssignmentFactory(application=application, state="invited")
    approved += [proposal(call, state=S.IN_NOTICE) for _ in range(3)]
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(board_url(call))
    assert len(response.context["ranking"]) == 9
    assert [a.pk for a in response.context["in_notice"]] == [a.pk for a in approved]


def test_close_review_then_bulk_decide_with_per_row_errors(world, login):
    call, best, second = world["call"], world["best"], world["second"]
    client = login(f.officer())
    decide = reverse("review:board_decide", args=[call.pk])
    response = client.post(decide, {"step": "close_review", "ids": [best.pk, second.pk]})
    assert response.status_code == 302
    assert set(Application.objects.filter(call=call).values_list("state", flat=True)) == {
        S.REVIEWED
    }
    third = proposal(call)  # still under review: approve is refused for it
    response = client.post(
        decide,
        {"step": "reject", "ids": [best.pk, second.pk, third.pk],
         f"reason-{second.pk}": "Below the funding line."},
    )  # fmt: skip
    assert response.status_code == 400
    states = dict(Application.objects.filter(call=call).values_list("pk", "state"))
    assert states == {best.pk: S.REVIEWED, second.pk: S.REJECTED, third.pk: S.UNDER_REVIEW}
    rows = {row.pk: row for row in response.context["ranking"]}
    assert rows[best.pk].result.errors == ["A reason is required to reject a proposal."]
    assert "A reason is required to reject a proposal." in response.content.decode()
    assert response.context["selected"] == {best.pk, third.pk}
    response = client.post(decide, {"step": "approve", "ids": [best.pk, third.pk]})
    assert response.status_code == 400
    rows = {row.pk: row for row in response.context["ranking"]}
    assert third.pk in rows and rows[third.pk].result is not None
    assert "Under review" in rows[third.pk].result.errors[0]
    assert Application.objects.get(pk=best.pk).state == S.IN_NOTICE
    # an approved proposal appears in the notice section with an award button
    assert [a.pk for a in response.context["in_notice"]] == [best.pk]


def test_bulk_needs_a_selection_and_a_step(world, login):
    client = login(f.officer())
    decide = reverse("review:board_decide", args=[world["call"].pk])
    response = client.post(decide, {"step": "approve"}, follow=True)
    assert "Select at least one proposal." in response.content.decode()
    response = client.post(decide, {"ids": [world["best"].pk]}, follow=True)
    assert "Choose a step." in response.content.decode()
    foreign = proposal(f.CallFactory())
    response = client.post(decide, {"step": "close_review", "ids": [foreign.pk]})
    assert response.status_code == 404
    assert Application.objects.get(pk=foreign.pk).state == S.UNDER_REVIEW


def test_officer_flags_a_review(world, login):
    review = Review.objects.filter(assignment__application=world["best"]).first()
    url = reverse("review:board_flag", args=[review.pk])
    assert login(world["other_staff"]).post(url, {"kind": "bias"}).status_code == 404
    response = login(world["agency_staff"]).post(url, {"kind": "lateness", "note": "9 days late"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.flagged_by_officer == "lateness: 9 days late"
    login(f.officer()).post(url, {"kind": "nonsense"})
    review.refresh_from_db()
    assert review.flagged_by_officer == "lateness: 9 days late"
    login(f.officer()).post(url, {"kind": ""})
    review.refresh_from_db()
    assert review.flagged_by_officer == ""


def test_ranking_api(world, api):
    url = f"/api/v1/calls/{world['call'].pk}/ranking/"
    response = api(world["agency_staff"]).get(url)
    assert response.status_code == 200
    data = response.json()
    assert [(r["application"], r["rank"], r["score"], r["reviews"]) for r in data] == [
        (world["best"].pk, 1, "10.000", 2), (world["second"].pk, 2, "9.000", 1),
    ]  # fmt: skip
    assert data[0]["number"] == world["best"].number and data[0]["title"] == world["best"].title
    assert [(r["divergent"], r["above_line"]) for r in data] == [(True, True), (False, False)]
    for user in (world["other_staff"], f.applicant(), world["expert"]):
        assert api(user).get(url).status_code == 404
    assert api().get(url).status_code in (401, 403)


def test_dashboard_links_to_boards(world, login):
    html = login(f.officer()).get(reverse("dashboard")).content.decode()
    assert board_url(world["call"]) in html
    html = login(world["other_staff"]).get(reverse("dashboard")).content.decode()
    assert board_url(world["call"]) not in html
    response = login(f.officer()).get(reverse("review:boards"))
    assert [c.pk for c in response.context["calls"]] == [world["call"].pk]
    assert response.context["calls"][0].under_review == 2
