#!/usr/bin/env python
"""The assignment engine at a funder's scale, in memory (no database).

    .venv/bin/python benchmarks/assignment.py --applications 20000 --reviewers 20000

Generates a call of that size — proposals and reviewers with bilingual keyword texts drawn
from 400 synthetic fields, 100 institutions (a reviewer conflicts with the proposals of
their own institution: ~1 % of all pairs), plus a few planted collaborations, experts to
avoid, declared conflicts and barred reviewers; 5 reviewers per proposal, at least 1
international, load at most 6 — and runs the engine's own core (review.conflicts.compute,
review.affinity, review.assignment.solve) on it. Prints one JSON line:

    applications, reviewers, seconds_affinity, seconds_conflicts, seconds_solve,
    seconds_total, total_affinity, upper_bound, ratio, optimal

plus detail keys (conflict_rate, rounds, candidates, unfilled_seats, …). ``upper_bound`` is
independent of the flow: every proposal's best feasible reviewers (quota kept, loads
ignored); ``optimal`` is the engine's proof (flow optimal + no left-out pair with negative
reduced cost).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIELDS = 400
KEYWORDS_PER_FIELD = 12
INSTITUTIONS = 100
CJK_POOL = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]
SYLLABLES = "ka lo mi ne ra su te vo zi po qua len tor mag pho ter ion cell gen nan".split()


def _vocabulary(rng):
    zh, en = [], []
    for _field in range(FIELDS):
        zh.append(
            ["".join(rng.choice(CJK_POOL, rng.integers(2, 5))) for _ in range(KEYWORDS_PER_FIELD)]
        )
        en.append(
            [
                " ".join(
                    "".join(rng.choice(SYLLABLES, rng.integers(2, 4)))
                    for _ in range(rng.integers(1, 3))
                )
                for _ in range(KEYWORDS_PER_FIELD)
            ]
        )
    return zh, en


def generate(n_apps, n_revs, seed=7):
    """Rows shaped like the engine's ``values()`` rows, and the planted relations."""
    rng = np.random.default_rng(seed)
    zh, en = _vocabulary(rng)
    apps = []
    app_field = rng.integers(0, FIELDS, n_apps)
    for i in range(n_apps):
        f = int(app_field[i])
        second = int(rng.integers(0, FIELDS))
        picks = rng.choice(KEYWORDS_PER_FIELD, 5, replace=False)
        kz = [zh[f][k] for k in picks[:4]] + [zh[second][int(picks[4])]]
        ke = [en[f][k] for k in picks[:4]] + [en[second][int(picks[4])]]
        apps.append(
            {
                "title": f"{kz[0]}与{kz[1]}的研究",
                "title_en": f"{ke[0]} and {ke[1]}",
                "abstract": "，".join(kz[:4]) + "。",
                "abstract_en": ", ".join(ke[:4]) + ".",
                "keywords": kz,
                "keywords_en": ke,
            }
        )
    revs = []
    international = rng.random(n_revs) < 0.3
    rev_field = rng.integers(0, FIELDS, n_revs)
    for j in range(n_revs):
        fields = [int(rev_field[j]), int(rng.integers(0, FIELDS))]
        kz, ke = [], []
        for f in fields:
            for k in rng.choice(KEYWORDS_PER_FIELD, 3, replace=False):
                kz.append(zh[f][k])
                ke.append(en[f][k])
        if international[j] and rng.random() < 0.7:
            kz = []  # most international experts give English keywords only
        revs.append({"expertise": kz, "expertise_en": ke})
    app_inst = rng.integers(0, INSTITUTIONS, n_apps)
    rev_inst = rng.integers(0, INSTITUTIONS, n_revs)
    pi = 10_000_000 + np.arange(n_apps)  # PIs are not reviewers
    few = max(1, n_apps // 200)
    relations = {
        "app_people": (np.arange(n_apps), pi),
        "app_institutions": (np.arange(n_apps), 1_000 + app_inst),
        "person_institutions": (np.arange(n_revs), 1_000 + rev_inst),
        "app_pi": (np.arange(n_apps), pi),
        "collaborations": (rng.choice(pi, few), rng.integers(0, n_revs, few)),
        "avoid": (rng.integers(0, n_apps, few), rng.integers(0, n_revs, few)),
        "declared": (rng.integers(0, n_apps, few), rng.integers(0, n_revs, few)),
        "barred": rng.choice(n_revs, max(1, n_revs // 1000), replace=False),
    }
    credit = np.where(rng.random(n_revs) < 0.1, rng.uniform(0.4, 1.0, n_revs), 1.0)
    return apps, revs, international, relations, credit


def run(n_apps, n_revs, *, per_app=5, intl_min=1, load=6, seed=7):
    from review import affinity
    from review.assignment import Problem, solve, upper_bound
    from review.conflicts import compute

    apps, revs, international, rel, credit = generate(n_apps, n_revs, seed)
    t_start = time.perf_counter()

    t0 = time.perf_counter()
    conflicts = compute(application_ids=np.arange(n_apps), reviewer_ids=np.arange(n_revs), **rel)
    exclude = conflicts.keys()
    capacity = np.full(n_revs, load)
    capacity[conflicts.barred] = 0
    seconds_conflicts = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = affinity.model_for(apps, revs)
    candidates = affinity.top_candidates(
        model.P,
        model.R,
        credit=credit,
        international=international,
        exclude_keys=exclude,
        available=capacity > 0,
        k_domestic=20,
        k_international=12,
    )
    seconds_affinity = time.perf_counter() - t0

    def price_rows(rows):
        return affinity.scored_rows(
            model.P, model.R, rows, credit=credit, exclude_keys=exclude, n_reviewers=n_revs
        )

    seats = np.full(n_apps, per_app)
    intl_seats = np.full(n_apps, intl_min)
    t0 = time.perf_counter()
    solution = solve(
        Problem(
            seats=seats,
            intl_seats=intl_seats,
            capacity=capacity,
            international=international,
            cand_app=candidates.app,
            cand_rev=candidates.rev,
            cand_weight=candidates.weight,
            tau=candidates.tau,
            price_rows=price_rows,
        )
    )
    seconds_solve = time.perf_counter() - t0
    seconds_total = time.perf_counter() - t_start
    bound = upper_bound(
        seats, intl_seats, international, candidates.app, candidates.rev, candidates.weight
    )
    total = solution.total
    _check(solution, seats, intl_seats, capacity, international, exclude, n_revs)
    return {
        "applications": n_apps,
        "reviewers": n_revs,
        "seconds_affinity": round(seconds_affinity, 2),
        "seconds_conflicts": round(seconds_conflicts, 2),
        "seconds_solve": round(seconds_solve, 2),
        "seconds_total": round(seconds_total, 2),
        "total_affinity": round(total, 3),
        "upper_bound": round(bound, 3),
        "ratio": round(total / bound, 4) if bound else None,
        "optimal": bool(solution.optimal),
        "conflict_rate": round(
            (len(exclude) + len(conflicts.barred) * n_apps) / (n_apps * n_revs), 4
        ),
        "candidates": int(len(candidates.app)),
        "rounds": solution.rounds,
        "priced_proposals": solution.priced_pairs,
        "seconds_flow": round(solution.seconds_flow, 2),
        "seconds_pricing": round(solution.seconds_pricing, 2),
        "unfilled_seats": int(
            solution.unfilled_general.sum() + solution.unfilled_international.sum()
        ),
        "cpus": os.cpu_count(),
    }


def _check(solution, seats, intl_seats, capacity, international, exclude, m):
    """The constraints hold (a benchmark that breaks them would measure nothing)."""
    keys = solution.app * m + solution.rev
    assert not np.isin(keys, exclude).any(), "a conflicted pair was assigned"
    assert len(np.unique(keys)) == len(keys)
    per_app = np.bincount(solution.app, minlength=len(seats))
    filled = seats - solution.unfilled_general - solution.unfilled_international
    assert (per_app == filled).all()
    intl = np.bincount(solution.app[international[solution.rev]], minlength=len(seats))
    assert (intl >= intl_seats - solution.unfilled_international).all()
    assert (np.bincount(solution.rev, minlength=m) <= capacity).all()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--reviewers", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    print(json.dumps(run(args.applications, args.reviewers, seed=args.seed)))


if __name__ == "__main__":
    main()
