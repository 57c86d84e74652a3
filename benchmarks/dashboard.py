#!/usr/bin/env python
"""The leadership dashboards (insights) on 100,000 proposals, uncached.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python \
        benchmarks/dashboard.py [--applications 100000] [--requests 20] [--reload]

Works in a scratch database beside the one in ``DATABASE_URL`` (``<name>_bench_insights``,
never the one named), loaded with ``benchmarks/loader.py``; then writes two transitions per
submitted proposal into the audit chain (so "time in each state" has a year of history to
read) and review assignments for a share of them. Measures every dashboard page as the
auditor (leadership) and the proposals dashboard as agency staff: median and p95 of
``--requests`` requests after ``--warmup``, and the number of queries (goal: < 1 s).
Nothing is cached: each request aggregates in the database again.
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    Page,
    clients,
    db_config,
    measure_page,
    prepare,
    report,
    with_name,
)

BOARDS = ["applications", "reviews", "states", "integrity", "agencies"]


def out(line=""):
    print(line, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--applications", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--requests", type=int, default=20, help="timed requests per page")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument(
        "--database", default="", help="scratch database (default <name>_bench_insights)"
    )
    p.add_argument("--reload", action="store_true")
    return p.parse_args(argv)


def add_history(seed=6):
    """Transitions (draft→submitted→endorsed) for submitted proposals without any, spread
    over days, and review assignments for a tenth of them. Idempotent."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from accounts.roles import Role
    from audit.models import TransitionLog
    from grants.enums import ApplicationState as S
    from grants.models import Application
    from review.models import ReviewAssignment

    ct = ContentType.objects.get_for_model(Application)
    if TransitionLog.objects.filter(content_type=ct).exists():
        return
    rng = random.Random(seed)
    started = time.perf_counter()
    apps = list(
        Application.objects.exclude(state=S.DRAFT).values_list("pk", "created_at", "number")
    )
    reviewers = list(
        User.objects.filter(groups__name=Role.REVIEWER).values_list("pk", flat=True)[:2000]
    )
    rows = []
    for pk, created, number in apps:
        t1 = created + timedelta(days=rng.uniform(1, 60))
        t2 = t1 + timedelta(days=rng.uniform(1, 20))
        for source, target, t in ((S.DRAFT, S.SUBMITTED, t1), (S.SUBMITTED, S.ENDORSED, t2)):
            rows.append(TransitionLog(content_type=ct, object_id=pk, object_repr=number or "",
                                      transition="bench", source=source, target=target,
                                      created_at=t))  # fmt: skip
    for i in range(0, len(rows), 20_000):
        with transaction.atomic():
            TransitionLog.objects.bulk_create(rows[i : i + 20_000])
    states = ["invited", "accepted", "submitted", "submitted", "declined"]
    assignments = []
    today = timezone.localdate()
    for pk, _c, _n in apps[::10]:
        for r in rng.sample(reviewers, min(3, len(reviewers))):
            assignments.append(ReviewAssignment(application_id=pk, reviewer_id=r,
                                                state=rng.choice(states),
                                                respond_by=today))  # fmt: skip
    ReviewAssignment.objects.bulk_create(assignments, batch_size=5000)
    out(f"History: {len(rows):,} transitions, {len(assignments):,} assignments in "
        f"{time.perf_counter() - started:.0f} s.")  # fmt: skip


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server.")
    base = db_config(url)["NAME"]
    name = args.database or f"{base}_bench_insights"
    if name == base:
        sys.exit("The bench database must not be the one in DATABASE_URL.")
    os.environ["DATABASE_URL"] = with_name(url, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.db import connection

    from benchmarks.loader import Sizes

    sizes = Sizes(args.applications, args.users, args.calls)
    accounts = prepare(url, name, sizes, reload=args.reload, out=out)
    add_history()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    made = clients(accounts)
    results = []
    pages = [Page(f"insights {b} (auditor)", "auditor", path=f"/insights/{b}/") for b in BOARDS]
    pages.append(Page("insights applications (agency)", "agency", path="/insights/applications/"))
    pages.append(Page("insights by institution (auditor)", "auditor",
                      path="/insights/applications/?by=institution"))  # fmt: skip
    for page in pages:
        results.append(measure_page(page, made[page.account], requests=args.requests,
                                    warmup=args.warmup))  # fmt: skip
    report(results, title=f"Insights dashboards on {name}: {args.applications:,} proposals",
           out=out)  # fmt: skip
    slow = [r for r in results if r.error or r.p95_ms >= 1000]
    sys.exit(1 if slow else 0)


if __name__ == "__main__":
    main()
