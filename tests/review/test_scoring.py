"""Scoring schemes as data: the EU and NSFC presets, checks of range and step, the weighted
total, thresholds, recommendations; drafts save, submission locks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.workflow import WorkflowError
from grants.enums import ApplicationState
from review import scoring, services
from review.models import AssignmentState, Review, ScoringScheme
from tests import factories as f

A = AssignmentState
S = ApplicationState
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def eu():
    return scoring.scheme_for_code("eu")


@pytest.fixture
def nsfc():
    return scoring.scheme_for_code("nsfc")


def score_errors(exc):
    """criterion code → messages, from a ValidationError of the scoring module."""
    out = {}
    for error in exc.error_dict["scores"]:
        out.setdefault(error.params["criterion"], []).extend(error.messages)
    return out


# --- the EU preset --------------------------------------------------------------------------


def test_eu_preset_is_three_criteria_0_to_5_in_half_points(eu):
    assert [c.code for c in eu.criteria] == ["excellence", "impact", "implementation"]
    for c in eu.criteria:
        assert (c.min, c.max, c.step, c.threshold, c.weight) == (0, 5, Decimal("0.5"), 3, 1)
    assert eu.overall_threshold == 10
    assert eu.recommendation_codes == ["fund", "do_not_fund"]


def test_eu_total_and_thresholds(eu):
    good = eu.evaluate({"excellence": 4.5, "impact": "4", "implementation": 3}, complete=True)
    assert good.total == Decimal("11.5")
    assert good.passes_thresholds is True
    assert good.as_json() == {"excellence": 4.5, "impact": 4, "implementation": 3}
    # Each criterion at its threshold but the sum under 10: fails overall.
    low_sum = eu.evaluate({"excellence": 3, "impact": 3, "implementation": 3.5})
    assert (low_sum.total, low_sum.passes_thresholds) == (Decimal("9.5"), False)
    # A high sum with one criterion under its threshold: fails.
    one_low = eu.evaluate({"excellence": 5, "impact": 5, "implementation": 2.5})
    assert (one_low.total, one_low.passes_thresholds) == (Decimal("12.5"), False)
    # Exactly on every threshold: passes.
    edge = eu.evaluate({"excellence": 3.5, "impact": 3.5, "implementation": 3})
    assert (edge.total, edge.passes_thresholds) == (Decimal("10"), True)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5.5, "Excellence: 5.5 is outside the scale 0–5."),
        (-0.5, "Excellence: -0.5 is outside the scale 0–5."),
        (3.2, "Excellence: 3.2 is not on the scale (steps of 0.5 from 0)."),
        ("4.25", "Excellence: 4.25 is not on the scale (steps of 0.5 from 0)."),
        ("very good", "Excellence: “very good” is not a number."),
        ("NaN", "Excellence: “NaN” is not a number."),
        (True, "Excellence: “True” is not a number."),
    ],
)
def test_eu_scores_off_the_scale_are_refused(eu, value, message):
    with pytest.raises(ValidationError) as exc:
        eu.evaluate({"excellence": value, "impact": 4, "implementation": 4})
    assert score_errors(exc.value) == {"excellence": [message]}


def test_every_bad_criterion_is_named_and_unknown_codes_refused(eu):
    with pytest.raises(ValidationError) as exc:
        eu.evaluate({"excellence": 6, "impact": 0.3, "novelty": 4}, complete=True)
    errors = score_errors(exc.value)
    assert set(errors) == {"excellence", "impact", "implementation", "novelty"}
    assert errors["implementation"] == ["Implementation: give a score."]
    assert "is not a criterion of this scheme" in errors["novelty"][0]


def test_a_partial_draft_is_fine_but_has_no_total(eu):
    result = eu.evaluate({"excellence": 4})
    assert (result.complete, result.total, result.passes_thresholds) == (False, None, None)


def test_labels_follow_the_language(eu):
    assert eu.criteria[0].label("en") == "Excellence"
    assert eu.criteria[0].label("zh-hans") == "科学性与创新性"
    assert eu.name("en") == "EU (three criteria, 0–5)"


# --- the NSFC preset ------------------------------------------------------------------------


def test_nsfc_letter_scale_is_numbers_with_labels(nsfc):
    (overall,) = nsfc.criteria
    assert overall.is_letter_scale
    assert [(scoring.plain(v), overall.display(v)) for v in overall.values()] == [
        ("4", "A"),
        ("3", "B"),
        ("2", "C"),
        ("1", "D"),
    ]
    assert nsfc.recommendation_codes == ["fund", "fund_if_possible", "do_not_fund"]
    assert nsfc.recommendation_label("fund_if_possible", "en") == "Fund if possible"


def test_nsfc_total_and_threshold(nsfc):
    a = nsfc.evaluate({"overall": 4}, complete=True)
    assert (a.total, a.passes_thresholds) == (Decimal("4"), True)
    c = nsfc.evaluate({"overall": 2}, complete=True)
    assert (c.total, c.passes_thresholds) == (Decimal("2"), False)


@pytest.mark.parametrize("value", [0, 5, 2.5, "A"])
def test_nsfc_refuses_what_is_not_a_grade(nsfc, value):
    with pytest.raises(ValidationError) as exc:
        nsfc.evaluate({"overall": value})
    assert list(score_errors(exc.value)) == ["overall"]


def test_recommendation_must_be_one_of_the_schemes(nsfc):
    with pytest.raises(ValidationError) as exc:
        scoring.validate_review(
            nsfc, scores={"overall": 3}, recommendation="maybe", comment="ok", complete=True
        )
    assert list(exc.value.message_dict) == ["recommendation"]
    with pytest.raises(ValidationError) as exc:
        scoring.validate_review(nsfc, scores={"overall": 3}, recommendation="", complete=True)
    assert set(exc.value.message_dict) == {"recommendation", "comment"}
    result, code = scoring.validate_review(
        nsfc, scores={"overall": 3}, recommendation="fund_if_possible", comment="ok", complete=True
    )
    assert (result.total, code) == (Decimal("3"), "fund_if_possible")


# --- a scheme the funder defines ------------------------------------------------------------


def test_a_custom_weighted_scheme():
    ScoringScheme.objects.create(
        code="weighted",
        name="加权",
        name_en="Weighted",
        criteria=[
            {
                "code": "science",
                "label_en": "Science",
                "weight": "2",
                "min": "1",
                "max": "10",
                "step": "1",
                "threshold": "6",
            },
            {
                "code": "team",
                "label_en": "Team",
                "weight": "0.5",
                "min": "0",
                "max": "10",
                "step": "0.1",
            },
        ],  # fmt: skip
        overall_threshold="15",
        recommendations=[],
    )
    scheme = scoring.scheme_for_code("weighted")
    result = scheme.evaluate({"science": 7, "team": "3.3"})
    assert result.total == Decimal("15.65")  # 2 × 7 + 0.5 × 3.3
    assert result.passes_thresholds is True
    with pytest.raises(ValidationError):
        scheme.evaluate({"team": "3.35"})
    # No recommendations in the scheme: none is required.
    scoring.validate_review(
        scheme, scores={"science": 7, "team": 1}, recommendation="", comment="x", complete=True
    )


def test_a_call_uses_its_own_scheme_or_its_programs():
    call = f.CallFactory(scoring_scheme="nsfc")
    assert scoring.scheme_for_call(call).code == "nsfc"
    program = f.ProgramFactory(default_scoring_scheme="eu")
    assert scoring.scheme_for_call(f.CallFactory(program=program, scoring_scheme="")).code == "eu"


# --- drafts and submission through the service ----------------------------------------------


def accepted(scheme="eu"):
    call = f.CallFactory(scoring_scheme=scheme)
    application = f.ApplicationFactory(call=call)
    f.set_state(application, S.UNDER_REVIEW, number=f"BF-2027-{application.pk:06d}")
    assignment = f.ReviewAssignmentFactory(
        application=application,
        state=A.INVITED,
        respond_by=timezone.localdate() + timedelta(days=5),
    )
    services.pledge_sign(reviewer=assignment.reviewer, call=call)
    return services.assignment_accept(assignment=assignment, user=assignment.reviewer)


def test_drafts_save_partial_reviews_and_submission_locks():
    assignment = accepted()
    reviewer = assignment.reviewer
    draft = services.review_save_draft(
        assignment=assignment, user=reviewer, scores={"excellence": "4.5"}, comment="Start."
    )
    assert (draft.scores, draft.total, draft.submitted_at) == ({"excellence": 4.5}, None, None)
    draft = services.review_save_draft(
        assignment=assignment, user=reviewer, scores={"excellence": 4.5, "impact": 4}
    )
    assert draft.comment == "Start."  # fields not given are kept
    assert Review.objects.count() == 1

    with pytest.raises(ValidationError) as exc:
        services.review_submit(assignment=assignment, user=reviewer)
    assert set(exc.value.message_dict) == {"scores", "recommendation"}
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED

    review = services.review_submit(
        assignment=assignment,
        user=reviewer,
        scores={"excellence": 4.5, "impact": 4, "implementation": 3.5},
        recommendation="fund",
    )
    assert review.total == Decimal("12")
    assert review.submitted_at is not None and review.is_locked
    assignment.refresh_from_db()
    assert assignment.state == A.SUBMITTED

    for call in (services.review_save_draft, services.review_submit):
        with pytest.raises(WorkflowError) as exc:
            call(assignment=assignment, user=reviewer, comment="Changed my mind.")
        assert exc.value.code == "invalid_transition"
    review.refresh_from_db()
    assert review.comment == "Start."


def test_a_draft_with_a_score_off_the_scale_is_refused_and_nothing_saved():
    assignment = accepted()
    with pytest.raises(ValidationError) as exc:
        services.review_save_draft(
            assignment=assignment, user=assignment.reviewer, scores={"impact": 4.2}
        )
    assert list(score_errors(exc.value)) == ["impact"]
    assert not Review.objects.filter(assignment=assignment, scores__has_key="impact").exists()


def test_no_review_before_accepting():
    assignment = f.ReviewAssignmentFactory(state=A.INVITED)
    with pytest.raises(WorkflowError):
        services.review_save_draft(assignment=assignment, user=assignment.reviewer, comment="x")


def test_nsfc_review_submits_with_a_letter_grade():
    assignment = accepted("nsfc")
    review = services.review_submit(
        assignment=assignment,
        user=assignment.reviewer,
        scores={"overall": 3},
        recommendation="fund_if_possible",
        comment="Solid, but the plan is thin.",
    )
    assert (review.scores, review.total) == ({"overall": 3}, Decimal("3"))


def test_barred_reviewer_cannot_submit():
    assignment = accepted()
    services.review_save_draft(
        assignment=assignment,
        user=assignment.reviewer,
        scores={"excellence": 4, "impact": 4, "implementation": 4},
        recommendation="fund",
        comment="Good.",
    )
    f.CreditRecordFactory(subject_user=assignment.reviewer, bars_apply=False, bars_review=True)
    with pytest.raises(WorkflowError) as exc:
        services.review_submit(assignment=assignment, user=assignment.reviewer)
    assert exc.value.code == "integrity_block"
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED
    assert Review.objects.get(assignment=assignment).submitted_at is None


def test_submitting_without_the_pledge_is_refused():
    assignment = accepted()
    services.review_save_draft(
        assignment=assignment,
        user=assignment.reviewer,
        scores={"excellence": 4, "impact": 4, "implementation": 4},
        recommendation="fund",
        comment="Good.",
    )
    # The pledge row is gone (say, an admin removed a wrongly recorded one).
    assignment.reviewer.pledges.all().delete()
    with pytest.raises(WorkflowError) as exc:
        services.review_submit(assignment=assignment, user=assignment.reviewer)
    assert "integrity pledge" in exc.value.detail
