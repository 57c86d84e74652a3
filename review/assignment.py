"""The assignment engine: an optimal reviewer assignment for a call (docs/affinity.md).

Two layers:

* the **core** (:func:`solve`, :func:`upper_bound`) works on plain numpy arrays, so the
  benchmark (``benchmarks/assignment.py``) and the tests call it without the database;
* :func:`assign_call` reads the call (proposals, reviewer pool, existing assignments,
  conflicts, credit), runs the core and writes the assignments in one transaction.

The model is a min-cost flow (OR-Tools ``SimpleMinCostFlow``)::

    source ─(remaining load, 0)→ reviewer ─(1, −affinity)→ proposal node ← demand
                                                   │
    international reviewers go to the proposal's *international* node, whose demand is
    the remaining international seats; it overflows into the general node (0 cost).
    source ─(seats, BIG)→ each proposal node: dummy arcs that keep the flow feasible and
    mark a seat that cannot be filled.

Affinity is credit-weighted and scaled to integers (``SCALE``); ``BIG`` exceeds any gain a
reshuffle can make, so the flow first fills as many seats as possible, then maximises total
affinity. The solved graph holds only each proposal's best candidates (top K per kind of
reviewer); optimality over *all* pairs is then proven by LP duality: node potentials of the
residual graph (Bellman–Ford) price every left-out pair, first in bulk through the bound
``tau`` on what was left out, then exactly for the proposals that bound cannot clear. A
left-out pair with a negative reduced cost joins the graph and the flow is solved again.
``optimal`` is true only when no left-out pair can improve the solution.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import workflow
from grants.enums import ApplicationState
from grants.models import Application
from outbox.dispatch import enqueue
from programs.models import Call

from . import affinity as affinity_mod
from .conflicts import Reason, conflict_set, explain_pair, reviewer_pool, sorted_unique
from .credit import credit_for
from .models import (
    ACTIVE_ASSIGNMENT_STATES,
    CLOSED_ASSIGNMENT_STATES,
    AssignmentRun,
    ReviewAssignment,
)

logger = logging.getLogger(__name__)

SCALE = 10_000
#: Proposals in these states are staffed.
STAFFED_STATES = [ApplicationState.ACCEPTED, ApplicationState.UNDER_REVIEW]
#: Days a reviewer has to answer an invitation (less when the review deadline is nearer).
RESPOND_DAYS = 7
#: Calls with more proposals than this run as a Celery task from the staffing page.
SYNC_LIMIT = 200


# --- the core: arrays in, assignment out ----------------------------------------------------


@dataclass
class Problem:
    """What the core needs; indices are positions in the caller's arrays.

    ``seats[i]``: seats of proposal ``i`` still to fill; ``intl_seats[i]`` of them must go to
    international reviewers. ``capacity[j]``: reviewer ``j``'s remaining load;
    ``international[j]``: country other than CN. ``cand_*``: candidate pairs (eligible
    only) with credit-weighted affinity in [0, 1]. ``tau`` (2 × n): bound on the weight of
    every eligible non-candidate pair per kind (−1: none left out). ``price_rows(rows)``:
    dense weights of proposals ``rows`` × all reviewers, −1 where the pair is not eligible
    (used to price left-out pairs; None when the candidates are every eligible pair).
    """

    seats: np.ndarray
    intl_seats: np.ndarray
    capacity: np.ndarray
    international: np.ndarray
    cand_app: np.ndarray
    cand_rev: np.ndarray
    cand_weight: np.ndarray
    tau: np.ndarray | None = None
    price_rows: object = None


@dataclass
class Solution:
    app: np.ndarray
    rev: np.ndarray
    weight: np.ndarray
    unfilled_international: np.ndarray
    unfilled_general: np.ndarray
    optimal: bool
    status: str
    rounds: int = 1
    priced_pairs: int = 0
    seconds_flow: float = 0.0
    seconds_pricing: float = 0.0

    @property
    def total(self):
        return float(self.weight.sum())


def _build(problem, app, rev, weight):
    from ortools.graph.python import min_cost_flow

    n, m = len(problem.seats), len(problem.capacity)
    seats = np.asarray(problem.seats, dtype=np.int64)
    iseats = np.minimum(np.asarray(problem.intl_seats, dtype=np.int64), seats)
    cap = np.asarray(problem.capacity, dtype=np.int64)
    intl = np.asarray(problem.international, dtype=bool)
    n_nodes = 1 + m + 2 * n
    big = SCALE * (n_nodes + 1)
    rev_node = 1 + np.arange(m, dtype=np.int64)
    gen = 1 + m + np.arange(n, dtype=np.int64)
    inn = 1 + m + n + np.arange(n, dtype=np.int64)
    zeros_m = np.zeros(m, dtype=np.int64)
    zeros_n = np.zeros(n, dtype=np.int64)
    tails = np.concatenate([zeros_m, rev_node[rev], inn, zeros_n, zeros_n])
    heads = np.concatenate([rev_node, np.where(intl[rev], inn[app], gen[app]), gen, inn, gen])
    caps = np.concatenate([cap, np.ones(len(app), dtype=np.int64), seats - iseats, iseats, seats])
    costs = np.concatenate(
        [
            zeros_m,
            -np.rint(np.asarray(weight) * SCALE).astype(np.int64),
            zeros_n,
            np.full(n, big, dtype=np.int64),
            np.full(n, big, dtype=np.int64),
        ]
    )
    supply = np.zeros(n_nodes, dtype=np.int64)
    supply[0] = seats.sum()
    supply[gen] = -(seats - iseats)
    supply[inn] = -iseats
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    flow.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supply)
    return flow, (tails, heads, caps, costs), (rev_node, gen, inn)


def potentials(arcs, flows, n_nodes, max_iterations=None):
    """Shortest distances in the residual graph from a virtual root joined to every node
    (vectorised Bellman–Ford): feasible dual potentials of an optimal flow. None when it
    does not settle (it always does when the flow is optimal)."""
    tails, heads, caps, costs = arcs
    fwd = flows < caps
    bwd = flows > 0
    rt = np.concatenate([tails[fwd], heads[bwd]])
    rh = np.concatenate([heads[fwd], tails[bwd]])
    rc = np.concatenate([costs[fwd], -costs[bwd]])
    order = np.argsort(rh, kind="stable")
    rt, rh, rc = rt[order], rh[order], rc[order]
    dist = np.zeros(n_nodes, dtype=np.int64)
    if not len(rh):
        return dist
    starts = np.flatnonzero(np.r_[True, rh[1:] != rh[:-1]])
    heads_u = rh[starts]
    for _iteration in range(max_iterations or n_nodes + 1):
        best = np.minimum.reduceat(dist[rt] + rc, starts)
        improved = best < dist[heads_u]
        if not improved.any():
            return dist
        dist[heads_u[improved]] = best[improved]
    return None


def _price(problem, dist, nodes, in_graph_keys, *, per_row=8, chunk=500):
    """Left-out eligible pairs with a negative reduced cost (at most ``per_row`` per proposal
    and kind): ``(app, rev, weight)`` arrays, and how many proposals were priced exactly."""
    rev_node, gen, inn = nodes
    n, m = len(problem.seats), len(problem.capacity)
    intl = np.asarray(problem.international, dtype=bool)
    available = np.asarray(problem.capacity) > 0
    d_rev = dist[rev_node]
    node_pot = np.stack([dist[gen], dist[inn]])  # kind 0 → general node, 1 → international
    suspicious = np.zeros(n, dtype=bool)
    if problem.tau is None:
        suspicious[:] = True
    else:
        for kind in (0, 1):
            members = available & (intl if kind else ~intl)
            if not members.any():
                continue
            slack = d_rev[members].min() - node_pot[kind]
            tau = problem.tau[kind]
            suspicious |= (tau >= 0) & (np.rint(tau * SCALE) > slack)
    rows = np.flatnonzero(suspicious & (np.asarray(problem.seats) > 0))
    if not len(rows) or problem.price_rows is None:
        empty = np.empty(0, dtype=np.int64)
        return (empty, empty, np.empty(0)), 0
    kind_of_col = intl.astype(np.int64)
    out_a, out_r, out_w = [], [], []
    for lo in range(0, len(rows), chunk):
        block_rows = rows[lo : lo + chunk]
        weights = np.asarray(problem.price_rows(block_rows), dtype=np.float64)
        weights[:, ~available] = -1.0
        # Pairs already in the graph are priced by the flow itself.
        keys = block_rows[:, None].astype(np.int64) * m + np.arange(m, dtype=np.int64)[None, :]
        weights[np.isin(keys, in_graph_keys)] = -1.0
        pot = node_pot[kind_of_col[None, :], block_rows[:, None]]
        gain = np.rint(weights * SCALE) - (d_rev[None, :] - pot)
        gain[weights < 0] = 0
        for kind in (0, 1):
            cols = np.flatnonzero(intl if kind else ~intl)
            if not len(cols):
                continue
            sub = gain[:, cols]
            k = min(per_row, len(cols))
            top = np.argpartition(-sub, k - 1, axis=1)[:, :k]
            g = np.take_along_axis(sub, top, axis=1)
            ok = g > 0
            r_idx = np.repeat(np.arange(len(block_rows)), k).reshape(len(block_rows), k)[ok]
            out_a.append(block_rows[r_idx])
            out_r.append(cols[top[ok]])
            out_w.append(weights[r_idx, cols[top[ok]]])
    if not out_a:
        empty = np.empty(0, dtype=np.int64)
        return (empty, empty, np.empty(0)), len(rows)
    return (np.concatenate(out_a), np.concatenate(out_r), np.concatenate(out_w)), len(rows)


def solve(problem: Problem, *, max_rounds=12) -> Solution:
    """The optimal assignment for ``problem`` (see the module's docstring)."""
    app = np.asarray(problem.cand_app, dtype=np.int64)
    rev = np.asarray(problem.cand_rev, dtype=np.int64)
    weight = np.asarray(problem.cand_weight, dtype=np.float64)
    n, m = len(problem.seats), len(problem.capacity)
    seconds_flow = seconds_pricing = 0.0
    priced = 0
    optimal = False
    status = "not_solved"
    round_no = 0
    while round_no < max_rounds:
        round_no += 1
        t0 = time.perf_counter()
        flow, arcs, nodes = _build(problem, app, rev, weight)
        result = flow.solve()
        status = result.name.lower()
        seconds_flow += time.perf_counter() - t0
        if result != flow.OPTIMAL:
            break
        flows = flow.flows(np.arange(flow.num_arcs()))
        t1 = time.perf_counter()
        dist = potentials(arcs, flows, 1 + m + 2 * n)
        if dist is None:
            seconds_pricing += time.perf_counter() - t1
            break
        keys = sorted_unique(app * m + rev)
        (pa, pr, pw), rows = _price(problem, dist, nodes, keys)
        priced += rows
        seconds_pricing += time.perf_counter() - t1
        if not len(pa):
            optimal = True
            break
        app = np.concatenate([app, pa])
        rev = np.concatenate([rev, pr])
        weight = np.concatenate([weight, pw])
    if status != "optimal":
        empty = np.empty(0, dtype=np.int64)
        return Solution(
            empty, empty, np.empty(0), np.asarray(problem.intl_seats), np.asarray(problem.seats),
            False, status, round_no, priced, seconds_flow, seconds_pricing,
        )  # fmt: skip
    k = len(app)
    pair_flows = flows[m : m + k]
    chosen = pair_flows > 0
    dummy = flows[m + k + n :]
    return Solution(
        app=app[chosen],
        rev=rev[chosen],
        weight=weight[chosen],
        unfilled_international=dummy[:n],
        unfilled_general=dummy[n:],
        optimal=optimal,
        status=status,
        rounds=round_no,
        priced_pairs=priced,
        seconds_flow=seconds_flow,
        seconds_pricing=seconds_pricing,
    )


def upper_bound(seats, intl_seats, international, cand_app, cand_rev, cand_weight):
    """Each proposal's best feasible reviewers ignoring loads, summed: the best ``intl``
    international ones plus the best of the rest (exact when the candidates hold at least
    ``seats`` of each kind per proposal, as :func:`affinity.top_candidates` gives)."""
    seats = np.asarray(seats, dtype=np.int64)
    iseats = np.minimum(np.asarray(intl_seats, dtype=np.int64), seats)
    n = len(seats)
    if not n or not len(cand_app):
        return 0.0
    s_max = int(seats.max())
    intl_of = np.asarray(international, dtype=bool)[cand_rev]
    tops = []
    for kind in (False, True):
        mask = intl_of == kind
        a, w = cand_app[mask], cand_weight[mask]
        order = np.lexsort((-w, a))
        a, w = a[order], w[order]
        start = np.searchsorted(a, np.arange(n))
        rank = np.arange(len(a)) - start[a]
        keep = rank < s_max
        table = np.full((n, s_max), -np.inf)
        table[a[keep], rank[keep]] = w[keep]
        tops.append(np.concatenate([np.zeros((n, 1)), np.cumsum(table, axis=1)], axis=1))
    dom, intl = tops
    best = np.full(n, -np.inf)
    for j in range(0, s_max + 1):
        ok = (j >= iseats) & (j <= seats)
        value = intl[:, j] + dom[np.arange(n), np.clip(seats - j, 0, s_max)]
        best = np.where(ok, np.maximum(best, value), best)
    return float(best[np.isfinite(best)].sum())


# --- the database layer ----------------------------------------------------------------------


@dataclass
class AssignmentResult:
    assigned: int
    unfilled: dict
    optimal: bool
    total_affinity: float
    timings: dict = field(default_factory=dict)
    assignment_ids: list = field(default_factory=list)
    upper_bound: float | None = None
    started_review: int = 0

    def as_json(self):
        data = asdict(self)
        data["unfilled"] = {str(k): v for k, v in self.unfilled.items()}
        return data


@dataclass
class Plan:
    call: Call
    app_ids: np.ndarray
    app_states: dict
    reviewer_ids: np.ndarray
    countries: list
    pairs: list  # [(application id, reviewer id, raw affinity, weighted affinity)]
    unfilled: dict
    optimal: bool
    total: float
    bound: float
    fingerprint: tuple
    timings: dict


def _fingerprint(call):
    agg = ReviewAssignment.objects.filter(application__call=call).aggregate(
        last=Max("id"), changed=Max("responded_at")
    )
    states = tuple(
        ReviewAssignment.objects.filter(application__call=call)
        .values_list("state")
        .order_by("state")
        .distinct()
    )
    active = ReviewAssignment.objects.filter(
        application__call=call, state__in=ACTIVE_ASSIGNMENT_STATES
    ).count()
    apps = tuple(
        Application.objects.filter(call=call, state__in=STAFFED_STATES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return (agg["last"], agg["changed"], states, active, hash(apps))


def _respond_by(call, today):
    respond_by = today + timedelta(days=RESPOND_DAYS)
    if call.review_deadline and call.review_deadline - timedelta(days=1) < respond_by:
        respond_by = max(today, call.review_deadline - timedelta(days=1))
    return respond_by


def _reasons(i, *, intl_short, general_short, eligible, eligible_intl, seats):
    reasons = []
    if intl_short:
        if eligible_intl == 0:
            reasons.append(
                _("No eligible international reviewer (all conflicted or none in the pool).")
            )
        else:
            reasons.append(
                _("International reviewers' loads are exhausted (%(n)s eligible, all full).")
                % {"n": eligible_intl}
            )
    if general_short:
        if eligible < seats:
            reasons.append(
                _("Not enough reviewers without a conflict (%(n)s eligible, %(k)s seats open).")
                % {"n": eligible, "k": seats}
            )
        else:
            reasons.append(_("Reviewers' loads are exhausted."))
    return " ".join(reasons)


def plan_call(call, *, progress=None) -> Plan:
    """Read the call and solve it; writes nothing."""

    def report(pct, message):
        if progress is not None:
            progress(pct, message)

    timings = {}
    t_start = time.perf_counter()
    fingerprint = _fingerprint(call)
    report(5, _("Reading proposals and reviewers"))
    apps_qs = Application.objects.filter(call=call, state__in=STAFFED_STATES)
    app_rows = list(
        apps_qs.order_by("pk").values(
            "pk", "state", "title", "abstract", "keywords", "title_en", "abstract_en", "keywords_en"
        )
    )
    pool = reviewer_pool()
    rev_rows = [
        {"pk": pk, "country": country, "expertise": zh or [], "expertise_en": en or []}
        for pk, country, zh, en in pool.order_by("pk").values_list(
            "pk", "country", "expert_profile__expertise", "expert_profile__expertise_en"
        )
    ]
    app_ids = np.asarray([r["pk"] for r in app_rows], dtype=np.int64)
    rev_ids = np.asarray([r["pk"] for r in rev_rows], dtype=np.int64)
    n, m = len(app_ids), len(rev_ids)

    t0 = time.perf_counter()
    report(15, _("Computing conflicts"))
    conflicts = conflict_set(apps_qs, pool)
    timings["conflicts"] = time.perf_counter() - t0

    existing = list(
        ReviewAssignment.objects.filter(application__call=call).values_list(
            "application_id", "reviewer_id", "state", "is_international"
        )
    )
    seats = np.full(n, call.reviewers_per_application, dtype=np.int64)
    intl_need = np.full(n, call.min_international_reviewers, dtype=np.int64)
    load = np.zeros(m, dtype=np.int64)
    excluded_pairs = []
    a_pos = {int(a): i for i, a in enumerate(app_ids)}
    r_pos = {int(r): j for j, r in enumerate(rev_ids)}
    for app_id, rev_id, state, is_intl in existing:
        i, j = a_pos.get(app_id), r_pos.get(rev_id)
        active = state in ACTIVE_ASSIGNMENT_STATES
        if active and j is not None:
            load[j] += 1
        if i is not None:
            if active:
                seats[i] -= 1
                intl_need[i] -= int(is_intl)
            if j is not None:
                excluded_pairs.append(i * m + j)
    seats = np.maximum(seats, 0)
    intl_need = np.clip(intl_need, 0, seats)
    capacity = np.maximum(call.max_assignments_per_reviewer - load, 0)
    capacity[conflicts.barred] = 0
    international = np.asarray([str(r["country"]) != "CN" for r in rev_rows], dtype=bool)
    barred = np.zeros(m, dtype=bool)
    barred[conflicts.barred] = True
    exclude = sorted_unique(
        np.concatenate([conflicts.keys(), np.asarray(excluded_pairs, dtype=np.int64)])
    )

    t0 = time.perf_counter()
    report(30, _("Computing affinity"))
    credits = credit_for(pool)
    credit = np.asarray([credits.get(int(r), 1.0) for r in rev_ids], dtype=np.float64)
    model = affinity_mod.model_for(app_rows, rev_rows)
    s_max = int(seats.max()) if n else 0
    candidates = affinity_mod.top_candidates(
        model.P,
        model.R,
        credit=credit,
        international=international,
        exclude_keys=exclude,
        available=capacity > 0,
        k_domestic=max(20, 4 * s_max),
        k_international=max(12, 3 * s_max),
    )
    timings["affinity"] = time.perf_counter() - t0

    def price_rows(rows):
        return affinity_mod.scored_rows(
            model.P, model.R, rows, credit=credit, exclude_keys=exclude, n_reviewers=m
        )

    problem = Problem(
        seats=seats,
        intl_seats=intl_need,
        capacity=capacity,
        international=international,
        cand_app=candidates.app,
        cand_rev=candidates.rev,
        cand_weight=candidates.weight,
        tau=candidates.tau,
        price_rows=price_rows,
    )
    t0 = time.perf_counter()
    report(60, _("Solving the assignment"))
    solution = solve(problem)
    timings["solve"] = time.perf_counter() - t0
    bound = upper_bound(
        seats, intl_need, international, candidates.app, candidates.rev, candidates.weight
    )

    # Why a proposal keeps open seats.
    excl_app = exclude // m if m else exclude
    excl_rev = exclude % m if m else exclude
    not_barred = ~barred[excl_rev] if m else np.zeros(0, dtype=bool)
    excluded_count = np.bincount(excl_app[not_barred], minlength=n) if n else np.zeros(0)
    excluded_intl = (
        np.bincount(excl_app[not_barred & international[excl_rev]], minlength=n)
        if n
        else np.zeros(0)
    )
    pool_size = int((~barred).sum())
    pool_intl = int((~barred & international).sum())
    unfilled = {}
    for i in np.flatnonzero(solution.unfilled_international + solution.unfilled_general > 0):
        unfilled[int(app_ids[i])] = _reasons(
            i,
            intl_short=solution.unfilled_international[i] > 0,
            general_short=solution.unfilled_general[i] > 0,
            eligible=pool_size - int(excluded_count[i]),
            eligible_intl=pool_intl - int(excluded_intl[i]),
            seats=int(seats[i]),
        )
    pairs = [
        (
            int(app_ids[a]),
            int(rev_ids[r]),
            float(w / credit[r]) if credit[r] > 0 else 0.0,
            float(w),
        )
        for a, r, w in zip(solution.app, solution.rev, solution.weight, strict=True)
    ]
    timings["total"] = time.perf_counter() - t_start
    return Plan(
        call=call,
        app_ids=app_ids,
        app_states={r["pk"]: r["state"] for r in app_rows},
        reviewer_ids=rev_ids,
        countries=[str(r["country"]) for r in rev_rows],
        pairs=pairs,
        unfilled=unfilled,
        optimal=solution.optimal,
        total=solution.total,
        bound=bound,
        fingerprint=fingerprint,
        timings=timings,
    )


def assign_call(call, *, actor=None, progress=None) -> AssignmentResult:
    """Staff the call's accepted and under-review proposals optimally; keep what is staffed.

    Creates the new assignments in one transaction, moves accepted proposals that got
    reviewers to ``under_review`` when ``actor`` may, and has the invitations mailed after
    the commit (``review.services.invite`` when installed).
    """
    plan = plan_call(call, progress=progress)
    with transaction.atomic():
        Call.objects.select_for_update().filter(pk=call.pk).first()
        if _fingerprint(call) != plan.fingerprint:
            # Someone changed the call's assignments while we computed: plan again, locked.
            plan = plan_call(call, progress=progress)
        if progress is not None:
            progress(90, _("Saving assignments"))
        today = timezone.localdate()
        respond_by = _respond_by(call, today)
        country = dict(zip(plan.reviewer_ids.tolist(), plan.countries, strict=True))
        created = ReviewAssignment.objects.bulk_create(
            ReviewAssignment(
                application_id=app_id,
                reviewer_id=rev_id,
                is_international=country[rev_id] != "CN",
                affinity=round(raw, 4),
                respond_by=respond_by,
            )
            for app_id, rev_id, raw, _weighted in plan.pairs
        )
        ids = [a.pk for a in created]
        started = _start_review(call, actor)
        if ids:
            try:
                from review.services import invite
            except ImportError:  # the invitations part is not installed yet
                invite = None
            if invite is not None:
                invite(ids)
    return AssignmentResult(
        assigned=len(ids),
        unfilled=plan.unfilled,
        optimal=plan.optimal,
        total_affinity=round(plan.total, 6),
        timings={k: round(v, 4) for k, v in plan.timings.items()},
        assignment_ids=ids,
        upper_bound=round(plan.bound, 6),
        started_review=started,
    )


def _start_review(call, actor):
    """Accepted proposals that now have reviewers go under review, if ``actor`` may."""
    if actor is None or not actor.is_authenticated:
        return 0
    started = 0
    for application in (
        Application.objects.select_related("call")
        .filter(
            call=call,
            state=ApplicationState.ACCEPTED,
            review_assignments__state__in=ACTIVE_ASSIGNMENT_STATES,
        )
        .distinct()
    ):
        if "start_review" in workflow.available_names(application, actor):
            workflow.perform(application, "start_review", user=actor)
            started += 1
    return started


# --- runs with progress (the staffing page and the task) ------------------------------------


def run_create(*, call, actor=None):
    return AssignmentRun.objects.create(call=call, started_by=actor)


def run_execute(run_id):
    """Execute a recorded run: progress and result go to its row (committed as they come)."""
    run = AssignmentRun.objects.select_related("call", "started_by").filter(pk=run_id).first()
    if run is None:
        return None

    def progress(pct, message):
        AssignmentRun.objects.filter(pk=run.pk).update(
            status=AssignmentRun.Status.RUNNING, progress=pct, message=str(message)[:200]
        )

    progress(1, _("Starting"))
    try:
        result = assign_call(run.call, actor=run.started_by, progress=progress)
    except Exception as exc:
        logger.exception("Assignment run %s failed", run.pk)
        AssignmentRun.objects.filter(pk=run.pk).update(
            status=AssignmentRun.Status.FAILED,
            message=str(exc)[:200],
            finished_at=timezone.now(),
        )
        raise
    AssignmentRun.objects.filter(pk=run.pk).update(
        status=AssignmentRun.Status.DONE,
        progress=100,
        message=str(_("Done")),
        result=result.as_json(),
        finished_at=timezone.now(),
    )
    return result


def run_record(*, call, actor, result):
    """Record a run that was executed synchronously (the small-call path and the API)."""
    return AssignmentRun.objects.create(
        call=call,
        started_by=actor,
        status=AssignmentRun.Status.DONE,
        progress=100,
        message=str(_("Done")),
        result=result.as_json(),
        finished_at=timezone.now(),
    )


def run_start(*, call, actor):
    """Staff ``call``: synchronously for small calls, else as a Celery task. Returns the run."""
    size = Application.objects.filter(call=call, state__in=STAFFED_STATES).count()
    if size <= SYNC_LIMIT:
        result = assign_call(call, actor=actor)
        return run_record(call=call, actor=actor, result=result)
    run = run_create(call=call, actor=actor)

    from .tasks import assign_call_task

    enqueue(assign_call_task, call.pk, getattr(actor, "pk", None), run.pk)
    return run


# --- why a pair is excluded -----------------------------------------------------------------


def exclusion_reasons(call, application, reviewer):
    """Everything that keeps ``reviewer`` off ``application`` now: conflicts with their facts,
    and the engine's own rules (pool, earlier assignment, load). Empty: eligible."""
    from accounts.roles import Role

    reasons = [(e.label, list(e.details)) for e in explain_pair(application, reviewer)]
    if not reviewer.is_active or not reviewer.groups.filter(name=Role.REVIEWER).exists():
        reasons.append((_("Not an active member of the reviewer pool."), []))
    earlier = ReviewAssignment.objects.filter(application=application, reviewer=reviewer).first()
    if earlier is not None:
        if earlier.state in CLOSED_ASSIGNMENT_STATES:
            reasons.append(
                (
                    _("Invited before and the invitation closed (%(state)s): never re-invited.")
                    % {"state": earlier.get_state_display()},
                    [],
                )
            )
        else:
            reasons.append(
                (
                    _("Already assigned (%(state)s).") % {"state": earlier.get_state_display()},
                    [],
                )
            )
    load = ReviewAssignment.objects.filter(
        application__call=call, reviewer=reviewer, state__in=ACTIVE_ASSIGNMENT_STATES
    ).count()
    if load >= call.max_assignments_per_reviewer and (
        earlier is None or earlier.state not in ACTIVE_ASSIGNMENT_STATES
    ):
        reasons.append(
            (
                _("Load exhausted: %(n)s of at most %(max)s proposals in this call.")
                % {"n": load, "max": call.max_assignments_per_reviewer},
                [],
            )
        )
    return reasons


__all__ = [
    "AssignmentResult",
    "Problem",
    "Reason",
    "Solution",
    "assign_call",
    "exclusion_reasons",
    "plan_call",
    "run_start",
    "solve",
    "upper_bound",
]
