#!/usr/bin/env python
"""Grantflow's page benchmark on PostgreSQL: how long the busiest pages take at a funder's
scale (100,000 proposals, 20,000 users, 200 calls), compared with a trivial Django view,
and how many queries each makes on a small and on the big database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python benchmarks/run.py

It never touches the database named in DATABASE_URL: it works in ``<name>_bench`` and
``<name>_bench_small`` (created when missing, reused when already loaded at the right size,
dropped and reloaded otherwise or with ``--reload``). See benchmarks/README.md.
"""

import argparse
import gc
import os
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Page:
    label: str
    account: str
    url_name: str = ""
    path: str = ""


PAGES = [
    Page("trivial view (baseline)", "officer", url_name="bench-trivial"),
    Page("trivial view + request.user", "officer", url_name="bench-trivial-user"),
    Page("formal-check queue", "officer", url_name="grants:formal_check_queue"),
    Page("formal-check queue", "agency", url_name="grants:formal_check_queue"),
    Page("dashboard", "applicant", url_name="dashboard"),
    Page("dashboard", "officer", url_name="dashboard"),
    Page("API /api/v1/applications/", "officer", path="/api/v1/applications/"),
    Page("API /api/v1/applications/", "applicant", path="/api/v1/applications/"),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--applications", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--small-applications", type=int, default=300)
    p.add_argument("--small-users", type=int, default=100)
    p.add_argument("--small-calls", type=int, default=5)
    p.add_argument("--requests", type=int, default=50, help="timed requests per page")
    p.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    p.add_argument("--database", default="", help="bench database (default: <name>_bench)")
    p.add_argument("--reload", action="store_true", help="drop and reload the bench databases")
    p.add_argument("--skip-small", action="store_true", help="no small-database query counts")
    return p.parse_args(argv)


# --- databases ------------------------------------------------------------------------------


def db_config(url):
    import environ

    return environ.Env.db_url_config(url)


def with_name(url, name):
    """``url`` with its database name replaced."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def admin_connection(url):
    import psycopg2

    cfg = db_config(url)
    conn = psycopg2.connect(
        dbname="postgres",
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        host=cfg.get("HOST") or None,
        port=cfg.get("PORT") or None,
    )
    conn.autocommit = True
    return conn


def ensure_database(url, name, *, drop=False):
    """Create database ``name`` on the server of ``url`` if missing; drop it first if asked."""
    from psycopg2 import sql

    conn = admin_connection(url)
    try:
        with conn.cursor() as cur:
            if drop:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                ))  # fmt: skip
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                return True
    finally:
        conn.close()
    return False


def use_database(name):
    """Point Django's default connection at database ``name``."""
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name
    ContentType.objects.clear_cache()


def prepare(url, name, sizes, *, reload, out):
    """A migrated database ``name`` holding exactly ``sizes`` of bench data; its accounts."""
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.loader import Sizes, bench_accounts, bench_counts, load_bench_data

    created = ensure_database(url, name, drop=reload)
    use_database(name)
    call_command("migrate", verbosity=0)
    if not created and not reload:
        have = bench_counts()
        if have == sizes:
            out(f"Reusing {name}: {sizes.applications:,} proposals, {sizes.users:,} users, "
                f"{sizes.calls:,} calls.")  # fmt: skip
            return bench_accounts()
        if have != Sizes(0, 0, 0):
            out(f"{name} holds {have}; reloading it at {sizes}.")
            connection.close()
            ensure_database(url, name, drop=True)
            use_database(name)
            call_command("migrate", verbosity=0)
    out(f"Loading {name}: {sizes.applications:,} proposals, {sizes.users:,} users, "
        f"{sizes.calls:,} calls ...")  # fmt: skip
    started = time.perf_counter()
    accounts = load_bench_data(
        applications=sizes.applications,
        users=sizes.users,
        calls=sizes.calls,
        stdout=sys.stdout,
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    out(f"Loaded in {time.perf_counter() - started:.0f} s.")
    return accounts


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    page: Page
    status: int = 0
    median_ms: float = 0.0
    p95_ms: float = 0.0
    queries: int | None = None
    small_queries: int | None = None
    size: int = 0
    error: str = ""


def url_for(page):
    from django.urls import NoReverseMatch, reverse

    if page.path:
        return page.path
    try:
        return reverse(page.url_name)
    except NoReverseMatch:
        return None


def clients(accounts):
    from django.test import Client

    made = {}
    for key, user in accounts.items():
        client = Client()
        client.force_login(user)
        made[key] = client
    return made


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return response, len(ctx.captured_queries)


def measure_page(page, client, *, requests, warmup, timed=True):
    result = Result(page)
    url = url_for(page)
    if url is None:
        result.error = f"no URL named {page.url_name!r} yet"
        return result
    try:
        for _ in range(warmup):
            client.get(url)
        response, result.queries = count_queries(client, url)
        result.status = response.status_code
        result.size = len(response.content)
        if response.status_code != 200:
            result.error = f"HTTP {response.status_code}"
            return result
        if not timed:
            return result
        gc.collect()
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - start)
    except Exception as exc:  # a view being written by someone else may still break
        result.error = f"{type(exc).__name__}: {exc}"[:120]
        traceback.print_exc(limit=3)
        return result
    result.median_ms = statistics.median(times) * 1000
    result.p95_ms = statistics.quantiles(times, n=100, method="inclusive")[94] * 1000
    return result


def measure_all(accounts, *, requests, warmup, timed=True):
    from django.test.utils import override_settings

    with override_settings(ROOT_URLCONF="benchmarks.urls"):
        by_account = clients(accounts)
        return [
            measure_page(p, by_account[p.account], requests=requests, warmup=warmup, timed=timed)
            for p in PAGES
        ]


# --- report ---------------------------------------------------------------------------------


def report(results, *, title, out):
    baseline = results[0].median_ms if results and results[0].median_ms else None
    header = (
        f"{'page':<28} {'as':<10} {'status':>6} {'median ms':>10} {'p95 ms':>8} "
        f"{'× trivial':>10} {'queries':>8} {'q. small':>9}  note"
    )
    out("")
    out(title)
    out("=" * len(header))
    out(header)
    out("-" * len(header))
    for r in results:
        if r.error and not r.median_ms:
            q = "" if r.queries is None else str(r.queries)
            out(f"{r.page.label:<28} {r.page.account:<10} {r.status or '-':>6} {'-':>10} "
                f"{'-':>8} {'-':>10} {q:>8} {'':>9}  {r.error}")  # fmt: skip
            continue
        ratio = f"{r.median_ms / baseline:.1f}" if baseline else "-"
        small = "-" if r.small_queries is None else str(r.small_queries)
        note = ""
        if r.small_queries is not None and r.queries is not None:
            note = "same on both" if r.small_queries == r.queries else "DEPENDS ON DATA SIZE"
        out(f"{r.page.label:<28} {r.page.account:<10} {r.status:>6} {r.median_ms:>10.1f} "
            f"{r.p95_ms:>8.1f} {ratio:>10} {r.queries:>8} {small:>9}  {note}")  # fmt: skip
    out("-" * len(header))
    out("median/p95: wall time per request through Django's test Client (full middleware, "
        "no network); × trivial: median over the trivial view's median;")  # fmt: skip
    out("queries: per request on the big database; q. small: the same request on the small one.")


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. "
                 "postgres://postgres@127.0.0.1:5432/grantflow")  # fmt: skip
    base_name = db_config(url)["NAME"]
    big_name = args.database or f"{base_name}_bench"
    small_name = f"{big_name}_small"
    if base_name in (big_name, small_name):
        sys.exit("The bench database must not be the one in DATABASE_URL.")

    os.environ["DATABASE_URL"] = with_name(url, big_name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    import warnings

    import django

    # WhiteNoise warns when collectstatic has not run; the pages measured serve no files.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from benchmarks.loader import Sizes

    def out(line=""):
        print(line, flush=True)

    small_queries = {}
    if not args.skip_small:
        small = Sizes(args.small_applications, args.small_users, args.small_calls)
        accounts = prepare(url, small_name, small, reload=args.reload, out=out)
        for r in measure_all(accounts, requests=0, warmup=args.warmup, timed=False):
            small_queries[r.page] = r.queries

    big = Sizes(args.applications, args.users, args.calls)
    accounts = prepare(url, big_name, big, reload=args.reload, out=out)
    out(f"Measuring {len(PAGES)} pages: {args.warmup} warm-ups, then {args.requests} timed "
        "requests each ...")  # fmt: skip
    results = measure_all(accounts, requests=args.requests, warmup=args.warmup)
    for r in results:
        r.small_queries = small_queries.get(r.page)
    report(
        results,
        title=(
            f"Grantflow pages on PostgreSQL {big_name}: {big.applications:,} proposals, "
            f"{big.users:,} users, {big.calls:,} calls"
            + (
                ""
                if args.skip_small
                else f" (small: {args.small_applications:,}/{args.small_users:,}/"
                f"{args.small_calls:,})"
            )
        ),
        out=out,
    )
    missing = [r for r in results if r.error]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
