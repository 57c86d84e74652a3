"""The assignment engine: never a conflicted or barred pair, quotas and loads hold, the result
equals an independent optimum (a MILP), unfilled seats come with reasons, re-runs fill only
holes, and the Celery path records progress and the result."""

from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone, translation
from scipy.optimize import Bounds, LinearConstraint, milp

from audit import workflow
from audit.models import TransitionLog
from grants.enums import ApplicationState
from grants.models import ExpertToAvoid, TeamMember
from review import affinity
from review.assignment import SCALE, Problem, assign_call, run_start, solve, upper_bound
from review.conflicts import conflicts_for_call, reviewer_pool
from review.credit import credit_for, credit_value
from review.models import (
    ACTIVE_ASSIGNMENT_STATES,
    Affiliation,
    AssignmentRun,
    Collaboration,
    ConflictDeclaration,
    Review,
    ReviewAssignment,
    ReviewRating,
)
from review.tasks import assign_call_task
from tests.factories import (
    ApplicationFactory,
    ReviewAssignmentFactory,
    UserFactory,
    officer,
)

from .staffing_data import bar_from_reviewing, make_call, proposal, reviewer

pytestmark = pytest.mark.django_db
today = timezone.localdate()


# --- an independent optimum -----------------------------------------------------------------


def milp_optimum(weights, eligible, international, capacity, seats, intl_seats):
    """max Σ round(w·SCALE)·x over eligible pairs, first filling as many seats as possible:
    per proposal at most ``seats`` in all and at most ``seats − intl_seats`` domestic, each
    reviewer at most ``capacity``. Returns (seats filled, affinity score) or None."""
    n, m = weights.shape
    pairs = [(i, j) for i in range(n) for j in range(m) if eligible[i, j]]
    if not pairs:
        return 0, 0
    big = SCALE * (n * m + 1)
    score = np.array([np.rint(weights[i, j] * SCALE) for i, j in pairs])
    rows, lb, ub = [], [], []
    for i in range(n):
        rows.append([1.0 if a == i else 0.0 for a, _b in pairs])
        lb.append(0)
        ub.append(seats[i])
        rows.append([1.0 if a == i and not international[b] else 0.0 for a, b in pairs])
        lb.append(0)
        ub.append(seats[i] - intl_seats[i])
    for j in range(m):
        rows.append([1.0 if b == j else 0.0 for _a, b in pairs])
        lb.append(0)
        ub.append(capacity[j])
    result = milp(
        -(score + big),
        constraints=LinearConstraint(np.array(rows), lb, ub),
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, 1),
    )
    assert result.status == 0
    x = np.rint(result.x).astype(bool)
    return int(x.sum()), int(score[x].sum())


def random_instance(seed, n=7, m=11):
    rng = np.random.default_rng(seed)
    weights = rng.random((n, m))
    eligible = rng.random((n, m)) > 0.2
    international = rng.random(m) < 0.35
    capacity = rng.integers(1, 4, m)
    seats = rng.integers(2, 4, n)
    intl_seats = np.minimum(rng.integers(0, 2, n), seats)
    return weights, eligible, international, capacity, seats, intl_seats


def core_problem(weights, eligible, international, capacity, seats, intl_seats, k=2):
    """Only the ``k`` best candidates per kind go into the graph: pricing must add the rest."""
    n, m = weights.shape
    app, rev, w = [], [], []
    tau = np.full((2, n), -1.0)
    for i in range(n):
        for kind in (0, 1):
            cols = sorted(
                (j for j in range(m) if eligible[i, j] and international[j] == bool(kind)),
                key=lambda j: -weights[i, j],
            )
            for j in cols[:k]:
                app.append(i)
                rev.append(j)
                w.append(weights[i, j])
            if len(cols) > k:
                tau[kind, i] = weights[i, cols[k]]
    return Problem(
        seats=seats,
        intl_seats=intl_seats,
        capacity=capacity,
        international=international,
        cand_app=np.array(app, dtype=np.int64),
        cand_rev=np.array(rev, dtype=np.int64),
        cand_weight=np.array(w),
        tau=tau,
        price_rows=lambda rows: np.where(eligible[rows], weights[rows], -1.0),
    )


@pytest.mark.parametrize("seed", range(8))
def test_core_equals_the_milp_optimum(seed):
    instance = random_instance(seed)
    weights, eligible, international, capacity, seats, intl_seats = instance
    solution = solve(core_problem(*instance))
    assert solution.optimal
    filled = len(solution.app)
    score = int(
        sum(np.rint(weights[a, r] * SCALE) for a, r in zip(solution.app, solution.rev, strict=True))
    )
    assert (filled, score) == milp_optimum(*instance)
    # Constraints, seat by seat.
    assert all(eligible[a, r] for a, r in zip(solution.app, solution.rev, strict=True))
    assert (np.bincount(solution.rev, minlength=len(capacity)) <= capacity).all()
    per_app = np.bincount(solution.app, minlength=len(seats))
    open_seats = solution.unfilled_general + solution.unfilled_international
    assert (per_app == seats - open_seats).all()
    intl = np.bincount(solution.app[international[solution.rev]], minlength=len(seats))
    assert (intl >= intl_seats - solution.unfilled_international).all()


def test_upper_bound_is_each_proposals_best_feasible_set():
    # Proposal 0: 2 seats, 1 international: best international 0.5 + best other 0.9.
    bound = upper_bound(
        seats=[2],
        intl_seats=[1],
        international=np.array([False, False, True, True]),
        cand_app=np.array([0, 0, 0, 0]),
        cand_rev=np.array([0, 1, 2, 3]),
        cand_weight=np.array([0.9, 0.8, 0.5, 0.1]),
    )
    assert bound == pytest.approx(1.4)


# --- the engine on the database -------------------------------------------------------------


def weights_of(call):
    """Credit-weighted affinity of the call's proposals × pool, as the engine defines it."""
    from grants.models import Application

    apps = list(
        Application.objects.filter(call=call, state__in=["accepted", "under_review"])
        .order_by("pk")
        .values("pk", "title", "abstract", "keywords", "title_en", "abstract_en", "keywords_en")
    )
    revs = [
        {"pk": pk, "country": c, "expertise": zh or [], "expertise_en": en or []}
        for pk, c, zh, en in reviewer_pool()
        .order_by("pk")
        .values_list("pk", "country", "expert_profile__expertise", "expert_profile__expertise_en")
    ]
    credit = credit_for([r["pk"] for r in revs])
    dense = affinity.model_for(apps, revs).dense()
    dense *= np.array([credit[r["pk"]] for r in revs])[None, :]
    return [a["pk"] for a in apps], revs, dense


def check_constraints(call):
    active = list(
        ReviewAssignment.objects.filter(application__call=call, state__in=ACTIVE_ASSIGNMENT_STATES)
    )
    conflicts = conflicts_for_call(call)
    assert not [a for a in active if (a.application_id, a.reviewer_id) in conflicts]
    per_app, intl, load = {}, {}, {}
    for a in active:
        per_app[a.application_id] = per_app.get(a.application_id, 0) + 1
        intl[a.application_id] = intl.get(a.application_id, 0) + int(a.is_international)
        load[a.reviewer_id] = load.get(a.reviewer_id, 0) + 1
        assert a.is_international == (str(a.reviewer.country) != "CN")
    assert max(per_app.values()) <= call.reviewers_per_application
    assert max(load.values()) <= call.max_assignments_per_reviewer
    return per_app, intl, load


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_assignment_equals_the_milp_optimum(seed):
    call, apps, pool = make_call(apps=5, reviewers=10, seed=seed, per_app=3, intl=1, load=2)
    result = assign_call(call)
    app_ids, revs, weights = weights_of(call)
    conflicts = conflicts_for_call(call)
    eligible = np.array([[(a, r["pk"]) not in conflicts for r in revs] for a in app_ids])
    international = np.array([str(r["country"]) != "CN" for r in revs])
    n, m = weights.shape
    expected = milp_optimum(
        weights, eligible, international, np.full(m, 2), np.full(n, 3), np.full(n, 1)
    )
    chosen = ReviewAssignment.objects.filter(application__call=call)
    col = {r["pk"]: j for j, r in enumerate(revs)}
    row = {a: i for i, a in enumerate(app_ids)}
    score = int(
        sum(np.rint(weights[row[a.application_id], col[a.reviewer_id]] * SCALE) for a in chosen)
    )
    assert (len(chosen), score) == expected
    assert result.optimal is True
    assert result.assigned == len(chosen)
    check_constraints(call)


def test_planted_conflicts_of_every_kind_are_never_assigned():
    call, apps, pool = make_call(apps=6, reviewers=24, seed=5, per_app=3, intl=1, load=3)
    target = apps[0]
    pi = target.applicant
    # Plant one of each kind against proposal 0; make those reviewers the best fit for it.
    planted = [reviewer(topic=0) for _ in range(7)]
    planted[0].institution = pi.institution
    planted[0].save()
    member = UserFactory()
    TeamMember.objects.create(application=target, user=member)
    planted[1].institution = member.institution
    planted[1].save()
    Affiliation.objects.create(
        user=planted[2], institution=pi.institution, ended_on=today - timedelta(days=400)
    )
    Collaboration.objects.create(
        person=planted[3], partner=pi, kind="award", on=today - timedelta(days=30)
    )
    ExpertToAvoid.objects.create(application=target, name="x", user=planted[4], reason="r")
    ConflictDeclaration.objects.create(application=target, reviewer=planted[5], reason="r")
    bar_from_reviewing(planted[6])
    pi.groups.add(Group.objects.get(name="reviewer"))  # the PI is in the pool too
    result = assign_call(call)
    assert result.unfilled == {}
    per_app, intl, load = check_constraints(call)
    assigned = set(
        ReviewAssignment.objects.filter(application=target).values_list("reviewer_id", flat=True)
    )
    assert assigned.isdisjoint({u.pk for u in planted} | {pi.pk})
    # The barred reviewer reviews nothing at all.
    assert not ReviewAssignment.objects.filter(reviewer=planted[6]).exists()
    assert per_app == dict.fromkeys((a.pk for a in apps), 3)
    assert all(intl[a.pk] >= 1 for a in apps)


@translation.override("en")
def test_unfilled_proposals_are_reported_with_reasons():
    call, apps, pool = make_call(
        apps=3, reviewers=4, seed=2, per_app=3, intl=1, load=3, intl_share=0
    )
    lonely = proposal(call, topic=1)
    for r in pool:  # every reviewer is at the lonely proposal's institution
        r.institution = lonely.institution
        r.save()
    result = assign_call(call)
    assert set(result.unfilled) == {a.pk for a in apps} | {lonely.pk}
    assert result.unfilled[apps[0].pk] == (
        "No eligible international reviewer (all conflicted or none in the pool)."
    )
    assert result.unfilled[lonely.pk].startswith("No eligible international reviewer")
    assert (
        "Not enough reviewers without a conflict (0 eligible, 3 seats open)."
        in result.unfilled[lonely.pk]
    )
    # The rest is staffed: two domestic seats per proposal (the third needs someone abroad).
    assert ReviewAssignment.objects.filter(application=apps[0]).count() == 2
    assert not ReviewAssignment.objects.filter(application=lonely).exists()


@translation.override("en")
def test_loads_exhausted_is_the_reason_when_everyone_is_full():
    call, apps, pool = make_call(apps=4, reviewers=4, seed=3, per_app=3, intl=0, load=2)
    result = assign_call(call)
    assert result.assigned == 8  # 4 reviewers × load 2
    assert sum(
        1 for r in result.unfilled.values() if r == "Reviewers' loads are exhausted."
    ) == len(result.unfilled)
    assert len(result.unfilled) >= 2


def test_rerun_after_decline_and_conflict_fills_only_the_holes():
    call, apps, pool = make_call(apps=4, reviewers=14, seed=4, per_app=3, intl=1, load=3)
    first = assign_call(call)
    assert first.assigned == 12 and first.unfilled == {}
    rows = list(ReviewAssignment.objects.filter(application__call=call).order_by("id"))
    declined, conflicted, accepted = rows[0], rows[4], rows[7]
    workflow.perform(declined, "decline", user=declined.reviewer)
    workflow.perform(accepted, "accept", user=accepted.reviewer)
    workflow.perform(conflicted, "declare_conflict", user=conflicted.reviewer, comment="my student")
    before = {
        a.pk: (a.application_id, a.reviewer_id, a.state, a.token)
        for a in ReviewAssignment.objects.filter(application__call=call)
    }
    second = assign_call(call)
    assert second.assigned == 2
    after = ReviewAssignment.objects.filter(application__call=call)
    kept = {
        a.pk: (a.application_id, a.reviewer_id, a.state, a.token) for a in after if a.pk in before
    }
    assert kept == before  # same rows, same ids, same states
    new = [a for a in after if a.pk not in before]
    assert sorted(a.application_id for a in new) == sorted(
        [declined.application_id, conflicted.application_id]
    )
    new_pairs = {(a.application_id, a.reviewer_id) for a in new}
    assert (declined.application_id, declined.reviewer_id) not in new_pairs
    assert (conflicted.application_id, conflicted.reviewer_id) not in new_pairs
    per_app, intl, load = check_constraints(call)
    assert per_app == dict.fromkeys((a.pk for a in apps), 3)
    assert all(intl[a.pk] >= 1 for a in apps)
    # A third run has nothing to do.
    assert assign_call(call).assigned == 0


def test_existing_assignments_count_towards_loads_and_quotas():
    call, apps, pool = make_call(apps=2, reviewers=8, seed=6, per_app=2, intl=1, load=1)
    abroad = next(r for r in pool if str(r.country) != "CN")
    ReviewAssignmentFactory(application=apps[0], reviewer=abroad, state="accepted")
    result = assign_call(call)
    assert result.assigned == 3
    assert ReviewAssignment.objects.filter(reviewer=abroad).count() == 1
    per_app, intl, load = check_constraints(call)
    assert per_app == {apps[0].pk: 2, apps[1].pk: 2}


def test_engine_writes_assignments_starts_review_and_mails_invitations(
    django_capture_on_commit_callbacks,
):
    call, apps, pool = make_call(apps=2, reviewers=8, seed=7, per_app=2, intl=1, load=2)
    boss = officer()
    with django_capture_on_commit_callbacks(execute=True):
        result = assign_call(call, actor=boss)
    rows = list(ReviewAssignment.objects.filter(application__call=call).select_related("reviewer"))
    assert len(rows) == result.assigned == 4
    assert {a.respond_by for a in rows} == {today + timedelta(days=7)}
    assert all(a.state == "invited" and 0 <= a.affinity <= 1 for a in rows)
    for app in apps:
        app.refresh_from_db()
        assert app.state == ApplicationState.UNDER_REVIEW
        log = TransitionLog.objects.for_object(app).get()
        assert (log.actor, log.transition) == (boss, "start_review")
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.reviewer.email for a in rows)


def test_respond_by_comes_before_a_near_review_deadline():
    call, apps, pool = make_call(apps=1, reviewers=4, seed=8, per_app=2, intl=0, load=2)
    call.review_deadline = today + timedelta(days=4)
    call.save()
    assign_call(call)
    assert set(ReviewAssignment.objects.values_list("respond_by", flat=True)) == {
        today + timedelta(days=3)
    }


def test_without_an_actor_proposals_stay_accepted():
    call, apps, pool = make_call(apps=1, reviewers=4, seed=9, per_app=2, intl=0, load=2)
    assign_call(call, actor=None)
    apps[0].refresh_from_db()
    assert apps[0].state == ApplicationState.ACCEPTED


def test_only_accepted_and_under_review_proposals_are_staffed():
    call, apps, pool = make_call(apps=1, reviewers=6, seed=10, per_app=2, intl=0, load=3)
    draft = ApplicationFactory(call=call)
    reviewed = proposal(call, state=ApplicationState.REVIEWED)
    assign_call(call)
    assert set(ReviewAssignment.objects.values_list("application_id", flat=True)) == {apps[0].pk}
    assert draft.pk != reviewed.pk


# --- the task ---------------------------------------------------------------------------------


def test_task_records_progress_and_result():
    call, apps, pool = make_call(apps=3, reviewers=9, seed=11, per_app=2, intl=1, load=2)
    boss = officer()
    payload = assign_call_task.delay(call.pk, boss.pk).get()
    run = AssignmentRun.objects.get(call=call)
    assert run.status == AssignmentRun.Status.DONE and run.progress == 100
    assert run.result["assigned"] == payload["assigned"] == 6
    assert run.result["unfilled"] == {}
    assert run.result["optimal"] is True
    assert run.started_by == boss
    assert ReviewAssignment.objects.filter(application__call=call).count() == 6


def test_large_calls_go_through_the_task(monkeypatch, django_capture_on_commit_callbacks):
    from review import assignment

    monkeypatch.setattr(assignment, "SYNC_LIMIT", 1)
    call, apps, pool = make_call(apps=2, reviewers=6, seed=12, per_app=2, intl=0, load=2)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_start(call=call, actor=officer())
    assert run.status == AssignmentRun.Status.PENDING  # as returned, before the worker ran
    run.refresh_from_db()
    assert (run.status, run.progress, run.result["assigned"]) == ("done", 100, 4)


# --- credit -----------------------------------------------------------------------------------


def test_credit_rule():
    assert credit_value() == 1.0
    assert credit_value(submitted=4, rating_sum=16, rating_count=4) == 1.0
    low = credit_value(submitted=4, late=4, flagged=4, rating_sum=4, rating_count=4)
    assert low == pytest.approx(1 - 0.4 * (4 - 12 / 6) / 3 - 0.3 * 4 / 6 - 0.4 * 4 / 6)
    assert credit_value(submitted=1, late=1, flagged=1, rating_sum=1, rating_count=1) > 0


def test_credit_for_reads_ratings_lateness_and_flags_in_one_query(django_assert_num_queries):
    call, apps, pool = make_call(apps=2, reviewers=3, seed=13, per_app=1, intl=0, load=2)
    call.review_deadline = today - timedelta(days=10)
    call.save()
    good, bad, new = pool
    for app, who, late, flag, rating in [
        (apps[0], good, False, "", 4),
        (apps[1], bad, True, "bias", 1),
    ]:
        a = ReviewAssignmentFactory(application=app, reviewer=who, state="submitted")
        submitted = timezone.now() - timedelta(days=1 if late else 20)
        r = Review.objects.create(assignment=a, submitted_at=submitted, flagged_by_officer=flag)
        ReviewRating.objects.create(review=r, rating=rating)
    with django_assert_num_queries(1):
        credit = credit_for([good.pk, bad.pk, new.pk])
    assert credit == {
        good.pk: 1.0,
        bad.pk: pytest.approx(
            credit_value(submitted=1, late=1, flagged=1, rating_sum=1, rating_count=1)
        ),
        new.pk: 1.0,
    }
    assert credit[bad.pk] < 0.8
