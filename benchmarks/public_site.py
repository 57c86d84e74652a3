#!/usr/bin/env python
"""The public site (cms, Wagtail): home, a call page and the notice page with 5,000 calls and
50,000 published S&T reports, cached and uncached, as ratios to a trivial view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python \
        benchmarks/public_site.py [--calls 5000] [--reports 50000] [--requests 50] [--reload]

Works in a scratch database beside the one in ``DATABASE_URL`` (``<name>_bench_public``,
never the one named); loads it once (bulk inserts) and builds the page tree. Anonymous
visitor, in-process cache. "cached": the page cache warm (``GRANTFLOW_PUBLIC_CACHE_SECONDS``
60); "uncached": the cache off (0), every request renders from the database.
Goals: cached ≤ 1.5× and uncached ≤ 4× the trivial view (median).

Last run (PostgreSQL 16 local, in-process cache, 2 cores shared with other jobs, load ~2.6;
trivial view 0.23 ms): cached home 0.91×, call 0.88×, notice 1.09×, report search 0.92×
(``cms.middleware.PageCacheMiddleware`` answers a returning anonymous visitor before the
sessions, auth and routing the trivial view goes through); uncached home 27 ms (121×), call
23 ms (105×), notice 46 ms (205×), report search 39 ms (174×; 125 ms before the bigram index
of ``cms.search``). The uncached goal stays out of reach for a Wagtail page: site lookup and
routing alone are several queries. benchmarks/README.md has the before/after table.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import db_config, ensure_database, with_name  # noqa: E402

GOALS = {"cached": 1.5, "uncached": 4.0}


def out(line=""):
    print(line, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=5_000)
    p.add_argument("--reports", type=int, default=50_000)
    p.add_argument("--in-notice", type=int, default=60, help="proposals in notice")
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--database", default="")
    p.add_argument("--reload", action="store_true")
    return p.parse_args(argv)


def load(calls, reports, in_notice):
    """Programs (one per category), ``calls`` calls (a tenth open), ``reports`` awarded
    proposals with a project and a published report, ``in_notice`` proposals in notice."""
    from datetime import timedelta
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Institution, User
    from finance.models.evaluation import STReport
    from grants.models import Application, BudgetLine, Project
    from programs.models import Call, Category, Program

    if Call.objects.count() >= calls and STReport.objects.count() >= reports:
        return False
    now = timezone.now()
    with transaction.atomic():
        programs = [
            Program.objects.get_or_create(
                code=f"B{i}", defaults={"name": f"计划{i}", "name_en": f"Program {i}",
                                        "category": value},
            )[0]
            for i, (value, _label) in enumerate(Category.choices)
        ]  # fmt: skip
        institution, _ = Institution.objects.get_or_create(
            credit_code="12310000BENCHPUB1", defaults={"name": "基准研究所", "name_en": "Bench"}
        )
        user, _ = User.objects.get_or_create(
            username="bench-public", defaults={"institution": institution,
                                               "full_name": "基准用户"},
        )  # fmt: skip
        objs = []
        for i in range(calls):
            opens = now - timedelta(days=400 - (i % 390))
            closes = opens + timedelta(days=30) if i % 10 else now + timedelta(days=1 + i % 60)
            objs.append(Call(program=programs[i % len(programs)], title=f"项目申报指南 {i}",
                             title_en=f"Call {i}", opens_at=min(opens, closes - timedelta(days=1)),
                             closes_at=closes, max_budget=Decimal("1000000"),
                             guideline="申报要求。" * 20))  # fmt: skip
        Call.objects.bulk_create(objs, batch_size=2000)
        call_ids = list(Call.objects.values_list("pk", flat=True))
        for start in range(0, reports + in_notice, 5000):
            batch = range(start, min(start + 5000, reports + in_notice))
            apps = Application.objects.bulk_create([
                Application(call_id=call_ids[i % len(call_ids)], applicant=user,
                            institution=institution, title=f"研究课题 {i}",
                            number=f"PB-{i:07d}",
                            state="awarded" if i < reports else "in_notice",
                            notice_starts_at=now - timedelta(days=1),
                            notice_ends_at=now + timedelta(days=6))
                for i in batch
            ])  # fmt: skip
            BudgetLine.objects.bulk_create(
                BudgetLine(application=a, category="business", amount=Decimal("500000"))
                for a in apps
            )
            awarded = [a for a in apps if a.state == "awarded"]
            projects = Project.objects.bulk_create(
                Project(application=a, number=a.number, approved_budget=Decimal("500000"))
                for a in awarded
            )
            STReport.objects.bulk_create(
                STReport(project=p, file="st-reports/x.pdf", title=f"科技报告 {p.number}",
                         abstract="摘要。" * 30, keywords=["量子", "材料"],
                         results_summary="成果。" * 30,
                         published_at=now - timedelta(days=int(p.number[3:]) % 1500))
                for p in projects
            )  # fmt: skip
    return True


def median_ms(client, path, requests, warmup):
    for _ in range(warmup):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server.")
    base = db_config(url)["NAME"]
    name = args.database or f"{base}_bench_public"
    if name == base:
        sys.exit("The bench database must not be the one in DATABASE_URL.")
    ensure_database(url, name, drop=args.reload)
    os.environ["DATABASE_URL"] = with_name(url, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    import logging
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    logging.disable(logging.INFO)
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if load(args.calls, args.reports, args.in_notice):
        out(f"Loaded {args.calls:,} calls, {args.reports:,} reports in "
            f"{time.perf_counter() - started:.0f} s.")  # fmt: skip
    from cms.models import CallPage, NoticeIndexPage, ReportIndexPage
    from cms.pages import build_site
    from programs.models import Call

    open_calls = list(Call.objects.open_at().order_by("closes_at")[:3])
    build_site(calls=open_calls)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    call_page = CallPage.objects.filter(call__in=open_calls, locale__language_code="zh-hans")
    pages = [
        ("trivial view (baseline)", "/__bench__/trivial/"),
        ("home", "/"),
        ("call page", call_page.first().url),
        ("notice page", NoticeIndexPage.objects.get(locale__language_code="zh-hans").url),
        ("report search", ReportIndexPage.objects.get(locale__language_code="zh-hans").url
         + "?q=量子&year=2025"),
    ]  # fmt: skip
    settings.ALLOWED_HOSTS = ["*"]
    rows = []
    with override_settings(ROOT_URLCONF="benchmarks.urls"):
        for mode, seconds in (("cached", 60), ("uncached", 0)):
            with override_settings(GRANTFLOW_PUBLIC_CACHE_SECONDS=seconds):
                cache.clear()
                client = Client()
                for label, path in pages:
                    rows.append((mode, label, median_ms(client, path, args.requests,
                                                        args.warmup)))  # fmt: skip
    out(f"\nPublic site on {name}: {args.calls:,} calls, {args.reports:,} published reports "
        f"(median of {args.requests} requests, anonymous)")  # fmt: skip
    out(f"{'mode':<9} {'page':<24} {'ms':>8} {'ratio':>7}  goal")
    failed = False
    for mode in GOALS:
        baseline = next(ms for m, label, ms in rows if m == mode and label.startswith("trivial"))
        for m, label, ms in rows:
            if m != mode:
                continue
            ratio = ms / baseline
            ok = label.startswith("trivial") or ratio <= GOALS[mode]
            failed |= not ok
            out(f"{mode:<9} {label:<24} {ms:8.2f} {ratio:6.2f}×  "
                f"≤ {GOALS[mode]}× {'ok' if ok else 'MISSED'}")  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
