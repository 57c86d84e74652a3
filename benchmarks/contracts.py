#!/usr/bin/env python
"""Contract (任务书) figures, on PostgreSQL in a scratch database ``<name>_contracts``:

(a) render time of a 10-page contract PDF (milestones and KPIs added until it has 10
    pages); goal < 1 s;
(b) 1,000 contracts rendered through Celery on Redis with 1 and with 2 real workers
    (``celery -A config worker -c 1`` started as subprocesses); the speed-up;
(c) the project list for an agency with 50,000 projects: median/p95 and query count
    against a trivial view (the approach of benchmarks/run.py); query count also with 30
    projects, to show it does not grow.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow \\
        .venv/bin/python benchmarks/contracts.py [--contracts 1000] [--projects 50000]

The database in DATABASE_URL is never touched; ``<name>_contracts`` is dropped and
reloaded on every run. Redis database 14 (``--broker``) is used and flushed.
"""

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    Page,
    clients,
    db_config,
    ensure_database,
    measure_page,
    report,
    use_database,
    with_name,
)

QUEUE = "contracts_bench"


def out(line=""):
    print(line, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--contracts", type=int, default=1000, help="contracts rendered via Celery")
    p.add_argument("--projects", type=int, default=50_000, help="projects of the agency")
    p.add_argument("--renders", type=int, default=5, help="timed renders of the big contract")
    p.add_argument("--requests", type=int, default=30, help="timed requests per page")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    p.add_argument("--skip", default="", help="comma list of parts to skip: a,b,c")
    return p.parse_args(argv)


# --- data -----------------------------------------------------------------------------------


def make_projects(call, applicants, n, *, start, rng):
    """``n`` awarded proposals of ``call`` with budget lines, projects and draft contracts."""
    from finance.models import Contract
    from grants.enums import ApplicationState, BudgetCategory
    from grants.models import Application, BudgetLine, Project

    chunk = 5000
    for first in range(0, n, chunk):
        apps = []
        for k in range(first, min(first + chunk, n)):
            serial = start + k
            pi = applicants[serial % len(applicants)]
            apps.append(
                Application(
                    call=call,
                    applicant=pi,
                    institution_id=pi.institution_id,
                    number=f"BF-2026-{serial:07d}",
                    title=f"量子材料中的拓扑相变研究（{serial}）",
                    title_en=f"Topological phase transitions ({serial})",
                    abstract="研究内容。",
                    keywords=["基准"],
                    state=ApplicationState.AWARDED,
                )
            )
        apps = Application.objects.bulk_create(apps)
        lines, projects = [], []
        for app in apps:
            business = Decimal(rng.randrange(100, 400)) * 1000
            amounts = {
                BudgetCategory.EQUIPMENT: Decimal("100000"),
                BudgetCategory.BUSINESS: business,
                BudgetCategory.LABOR: Decimal("100000"),
                BudgetCategory.INDIRECT: (business + 100000) * Decimal("0.2"),
            }
            lines += [BudgetLine(application=app, category=c, amount=a) for c, a in amounts.items()]
            projects.append(
                Project(
                    application=app,
                    number=f"XM-{app.number[3:]}",
                    approved_budget=sum(amounts.values()),
                )
            )
        BudgetLine.objects.bulk_create(lines)
        projects = Project.objects.bulk_create(projects)
        Contract.objects.bulk_create(Contract(project=p) for p in projects)


def load():
    """The base accounts (benchmarks/loader.py, small), a delegated call of the agency and
    its projects; 1/5 as many projects elsewhere, which the agency must not see."""
    import random

    from accounts.models import User
    from benchmarks.loader import load_bench_data
    from programs.models import Call, Program

    rng = random.Random(5)
    accounts = load_bench_data(applications=50, users=300, calls=4)
    delegated = Program.objects.filter(agency__isnull=False).first()
    other = Program.objects.filter(agency__isnull=True).first()
    now_call = {"opens_at": "2026-01-01T00:00+08:00", "closes_at": "2026-03-01T00:00+08:00"}
    call_a = Call.objects.create(
        program=delegated, title="机构项目", max_budget=1000000, **now_call
    )
    call_o = Call.objects.create(program=other, title="其他项目", max_budget=1000000, **now_call)
    applicants = list(User.objects.filter(username__startswith="bench_user"))
    return accounts, call_a, call_o, applicants, rng


# --- (a) ------------------------------------------------------------------------------------


def part_a(project, renders):
    from pypdf import PdfReader

    from finance.models import KPI, Milestone
    from finance.pdf import render_contract_pdf
    from finance.projects import contract_for

    contract = contract_for(project)

    def pages():
        pdf = render_contract_pdf(contract, language="zh-hans")
        return len(PdfReader(io.BytesIO(pdf)).pages)

    n, count = 0, pages()
    while count < 10:  # add rows until the contract reaches 10 pages
        step = 20
        Milestone.objects.bulk_create(
            Milestone(
                project=project,
                title=f"第{n + i + 1}阶段：完成样品制备、表征与数据分析，并提交阶段报告",
                due_on=date(2027, 1, 1) + timedelta(days=7 * (n + i)),
            )
            for i in range(step)
        )
        KPI.objects.bulk_create(
            KPI(project=project, indicator=f"指标{n + i + 1}：发表论文", target_value=3, unit="篇")
            for i in range(step)
        )
        n += step
        count = pages()
    while count > 10 and n > 0:  # and back, one row at a time, to exactly 10
        Milestone.objects.filter(project=project).order_by("-id").first().delete()
        KPI.objects.filter(project=project).order_by("-id").first().delete()
        n -= 1
        count = pages()
    render_contract_pdf(contract, language="zh-hans")  # warm (fonts, templates)
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        pdf = render_contract_pdf(contract, language="zh-hans")
        times.append(time.perf_counter() - started)
    out("")
    out("(a) Contract PDF render time")
    out(f"    {count} pages ({n} milestones, {n} KPIs), {len(pdf):,} bytes")
    out(f"    median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
        f"max {max(times):.3f} s over {renders} renders (goal < 1 s)")  # fmt: skip


# --- (b) ------------------------------------------------------------------------------------


def start_workers(n, env):
    import tempfile

    log = tempfile.NamedTemporaryFile(prefix="contracts-workers-", suffix=".log", delete=False)  # noqa: SIM115
    out(f"    worker log: {log.name}")
    procs = []
    for i in range(n):
        cmd = [
            str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", "worker", "-c", "1",
            "-I", "finance.tasks_contracts", "-Q", QUEUE, "-n", f"contracts{i}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=WARNING",
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(  # noqa: S603 (a fixed command line)
                cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, close_fds=True
            )
        )
    return procs


def stop_workers(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def run_batch(ids):
    from celery import group

    from finance.tasks_contracts import render_contract

    result = group(render_contract.s(i).set(queue=QUEUE) for i in ids).apply_async()
    return result.get(timeout=3600, propagate=True)


def part_b(n_contracts, broker, db_url):
    import redis

    from finance.models import Contract

    ids = list(Contract.objects.order_by("id").values_list("id", flat=True)[:n_contracts])
    redis.Redis.from_url(broker).flushdb()
    env = {**os.environ, "DATABASE_URL": db_url, "CELERY_BROKER_URL": broker,
           "CELERY_RESULT_BACKEND": broker, "DJANGO_LOG_LEVEL": "ERROR"}  # fmt: skip
    timings = {}
    for workers in (1, 2):
        procs = start_workers(workers, env)
        try:
            run_batch(ids[: 4 * workers])  # warm every worker: imports, fonts
            started = time.perf_counter()
            results = run_batch(ids)
            timings[workers] = time.perf_counter() - started
            assert len(results) == len(ids) and all(r["bytes"] > 0 for r in results)
        finally:
            stop_workers(procs)
        out(f"    {workers} worker(s): {len(ids):,} contracts in {timings[workers]:.1f} s "
            f"({len(ids) / timings[workers]:.1f} /s)")  # fmt: skip
    out(f"    speed-up with 2 workers: {timings[1] / timings[2]:.2f}× (ideal 2.00×; "
        f"{os.cpu_count()} CPU cores)")  # fmt: skip


# --- (c) ------------------------------------------------------------------------------------

PAGES = [
    Page("trivial view (baseline)", "agency", url_name="bench-trivial"),
    Page("trivial view + request.user", "agency", url_name="bench-trivial-user"),
    Page("project list", "agency", url_name="finance:projects"),
    Page("project list", "officer", url_name="finance:projects"),
    Page("API /api/v1/projects/", "agency", path="/api/v1/projects/"),
]


def measure(accounts, *, requests, warmup, timed=True):
    from django.test.utils import override_settings

    with override_settings(ROOT_URLCONF="benchmarks.urls"):
        by_account = clients(accounts)
        return [
            measure_page(p, by_account[p.account], requests=requests, warmup=warmup, timed=timed)
            for p in PAGES
        ]


def main(argv=None):
    args = parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. "
                 "postgres://postgres@127.0.0.1:5432/grantflow")  # fmt: skip
    name = f"{db_config(url)['NAME']}_contracts"
    scratch = with_name(url, name)
    os.environ["DATABASE_URL"] = scratch
    os.environ["CELERY_BROKER_URL"] = args.broker
    os.environ["CELERY_RESULT_BACKEND"] = args.broker
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from grants.models import Project

    ensure_database(url, name, drop=True)
    use_database(name)
    call_command("migrate", verbosity=0)
    out(f"Scratch database {name}: loading ...")
    accounts, call_a, call_o, applicants, rng = load()
    make_projects(call_a, applicants, 30, start=0, rng=rng)
    small = {}
    if "c" not in skip:
        for r in measure(accounts, requests=0, warmup=2, timed=False):
            small[r.page] = r.queries

    if "a" not in skip:
        part_a(Project.objects.filter(application__call=call_a).first(), args.renders)

    started = time.perf_counter()
    make_projects(call_a, applicants, args.projects - 30, start=30, rng=rng)
    make_projects(call_o, applicants, args.projects // 5, start=args.projects, rng=rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    out(f"Loaded {args.projects:,} projects of the agency and {args.projects // 5:,} others "
        f"in {time.perf_counter() - started:.0f} s.")  # fmt: skip

    if "b" not in skip:
        out("")
        out(f"(b) {args.contracts:,} contracts rendered through Celery (Redis {args.broker})")
        part_b(args.contracts, args.broker, scratch)

    if "c" not in skip:
        results = measure(accounts, requests=args.requests, warmup=args.warmup)
        for r in results:
            r.small_queries = small.get(r.page)
        report(
            results,
            title=f"(c) Project list, agency with {args.projects:,} projects "
            f"(q. small: with 30 projects)",
            out=out,
        )
    connection.close()


if __name__ == "__main__":
    main()
