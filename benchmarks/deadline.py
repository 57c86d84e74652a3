#!/usr/bin/env python
"""Deadline day on the local production stack: 500 applicants submit in the last minutes of
a call while officers browse the formal-check queue and reviewers submit reviews; with 1 and
with 2 gunicorn processes on this machine.

    .venv/bin/python benchmarks/deadline.py [--web 1,2] [--applicants 500]

Everything runs on loopback and is bounded (fixed users, one submission each, a time cap).
The run starts its own PostgreSQL cluster (/tmp/gf_pg, port 5441, database
``grantflow_load``), its own Redis (port 6391: cache, sessions, broker), gunicorn
(config.settings.production through benchmarks/settings_load.py), two Celery workers, beat,
the outbox sweeper and the mail sender where the code has them; mail goes to a file it counts
(benchmarks/mailsink.py). Load comes from locust, headless (benchmarks/locustfile.py).

After each run it checks: no 5xx in the client log, every proposal submitted once (none lost,
none duplicated), numbers unique and gap-free per sequence, each confirmation mail delivered
exactly once once the mail has drained. It prints submissions per second sustained and
p50/p95 per request kind, and the ratio of 2 to 1 web processes. Exit status 1 when a check
fails. See benchmarks/README.md.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.stack import TMP, VENV_BIN, Stack, http_status, out, tool, wait_for  # noqa: E402

DB = "grantflow_load"
TEMPLATE = "grantflow_load_tpl"
NUMBER = re.compile(r"\b([A-Z]{2})-(\d{4})-(\d{6})\b")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(p)
    p.add_argument("--web", default="1,2", help="gunicorn process counts to compare")
    return p.parse_args(argv)


def add_arguments(p):
    p.add_argument("--applicants", type=int, default=500)
    p.add_argument("--officers", type=int, default=5)
    p.add_argument("--reviewers", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="gunicorn threads per process")
    p.add_argument("--spread", type=float, default=0.0, help="seconds the submissions span")
    p.add_argument("--spawn-rate", type=int, default=100, help="locust users started per second")
    p.add_argument("--time-cap", type=int, default=240, help="seconds the load may last")
    p.add_argument("--drain-timeout", type=int, default=180, help="seconds to wait for mail")
    p.add_argument("--work", default=str(TMP / "gf_load"), help="logs, mail sink, static files")
    p.add_argument("--pg-port", type=int, default=5441)
    p.add_argument("--redis-port", type=int, default=6391)
    p.add_argument("--web-port", type=int, default=8391)
    p.add_argument("--reload", action="store_true", help="load the template database again")


# --- environment and data -----------------------------------------------------------------


def app_env(stack, args):
    """The environment of every process of the stack (and of this one's Django)."""
    work = Path(args.work)
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.settings_load",
        DJANGO_SECRET_KEY="load-run-secret-key-not-for-production-0123456789abcdef",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_DEBUG="false",
        DATABASE_URL=stack.pg_url(DB),
        CACHE_URL=stack.redis_url(1),
        CELERY_BROKER_URL=stack.redis_url(0),
        LOAD_MAILSINK=str(work / "mail.jsonl"),
        LOAD_STATIC_ROOT=str(work / "static"),
        DJANGO_EMAIL_BACKEND="benchmarks.mailsink.EmailBackend",
        GRANTFLOW_ID_HASH_KEY="load-run-id-hash-key-not-for-production",
        GRANTFLOW_SITE_URL=stack.base_url(),
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),
        PYTHONPATH=str(ROOT),
    )
    return env


def setup_django(env):
    os.environ.update(env)
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()


def admin_sql(stack, *statements):
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres", user="postgres", host="127.0.0.1", port=stack.pg_port
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def use_database(name):
    from django.db import connections

    connections.close_all()
    for conn in (connections["default"],):
        conn.settings_dict["NAME"] = name


def prepare(stack, args):
    """The template database (migrated, loaded) and the collected static files; made once."""
    from django.core.management import call_command

    from benchmarks import deadline_data

    call_command("collectstatic", interactive=False, verbosity=0)  # new files since last time
    exists = admin_sql(stack, f"SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE}'")  # noqa: S608
    marker = Path(args.work) / f"{TEMPLATE}.json"
    wanted = {"applicants": args.applicants, "officers": args.officers, "reviewers": args.reviewers}
    if exists and not args.reload and marker.exists() and json.loads(marker.read_text()) == wanted:
        return
    out(f"Loading {TEMPLATE}: {args.applicants} drafts, {args.officers} officers, "
        f"{args.reviewers} reviewers ...")  # fmt: skip
    started = time.perf_counter()
    use_database("postgres")
    admin_sql(
        stack, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)", f"CREATE DATABASE {TEMPLATE}"
    )
    use_database(TEMPLATE)
    call_command("migrate", verbosity=0)
    deadline_data.load(applicants=args.applicants, officers=args.officers, reviewers=args.reviewers)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    use_database(DB)
    marker.write_text(json.dumps(wanted))
    out(f"Loaded in {time.perf_counter() - started:.0f} s.")


def fresh_database(stack):
    """``grantflow_load`` as a copy of the template: every run starts from the same drafts."""
    use_database(DB)
    admin_sql(
        stack,
        f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)",
        f"CREATE DATABASE {DB} TEMPLATE {TEMPLATE}",
    )


def flush_redis(stack):
    subprocess.run(  # noqa: S603
        [tool("redis-cli"), "-p", str(stack.redis_port), "flushall"],
        check=True,
        capture_output=True,
    )


def management_commands():
    from django.core.management import get_commands

    return set(get_commands())


# --- one run ------------------------------------------------------------------------------


class Run:
    """One load run: fresh data, the stack with ``web`` gunicorn processes, locust, checks."""

    def __init__(self, stack, args, *, web, label, applicants=None, mail_delay=0.0):
        self.stack, self.args, self.web, self.label = stack, args, web, label
        self.applicants = applicants
        self.work = Path(args.work) / label
        self.work.mkdir(parents=True, exist_ok=True)
        self.env = app_env(stack, args)
        self.env["LOAD_MAILSINK"] = str(self.work / "mail.jsonl")
        self.env["LOAD_MAILSINK_DELAY"] = str(mail_delay)
        os.environ["LOAD_MAILSINK"] = self.env["LOAD_MAILSINK"]
        self.log_path = self.work / "requests.jsonl"
        self.plan_path = self.work / "plan.json"
        for path in (self.log_path, Path(self.env["LOAD_MAILSINK"])):
            path.unlink(missing_ok=True)
        self.events = []  # (time, what) of fault injections

    def note(self, what):
        self.events.append((time.time(), what))
        out(f"  [{time.strftime('%H:%M:%S', time.gmtime())} UTC] {what}")

    def prepare(self):
        from benchmarks import deadline_data
        from grants.models import Application

        fresh_database(self.stack)
        flush_redis(self.stack)
        deadline_data.reopen_deadline_call(minutes=10)
        self.plan = deadline_data.plan(limit=self.applicants)
        self.proposals = Application.objects.filter(call=deadline_data.deadline_call()).count()
        self.plan_path.write_text(json.dumps(self.plan))

    def start_stack(self):
        s = self.stack
        s.logs = self.work
        s.start_web(self.env, self.web, threads=self.args.threads)
        s.start_workers(self.env, 2)
        s.start_background(self.env, management_commands())
        self.warm_up()

    def warm_up(self):
        """A few requests per web process, so imports and first queries are not measured."""
        import urllib.request

        url = self.stack.base_url()
        wait_for(lambda: http_status(url + "/accounts/login/") == 200, 60, "the login page")
        officer = self.plan["officers"][0]
        cookie = f"{self.plan['cookie']}={officer['session']}"
        for pk in officer["proposals"][: 10 * self.web]:
            for path in ("/proposals/formal-check/", f"/proposals/{pk}/"):
                request = urllib.request.Request(url + path, headers={"Cookie": cookie})  # noqa: S310
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    response.read()

    def stop_stack(self):
        for name in list(self.stack.procs):
            if name not in ("redis",):
                self.stack.stop(name)

    def load(self, during=None, retries=3):
        """Run locust; ``during(run)`` runs in a thread meanwhile (fault injection)."""
        users = sum(len(self.plan[k]) for k in ("applicants", "officers", "reviewers"))
        env = dict(self.env)
        env.update(
            LOAD_PLAN=str(self.plan_path),
            LOAD_LOG=str(self.log_path),
            LOAD_SPREAD=str(self.args.spread),
            LOAD_RETRIES=str(retries),
        )
        argv = [
            str(VENV_BIN / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"),
            "--headless", "--host", self.stack.base_url(), "-u", str(users),
            "-r", str(self.args.spawn_rate), "-t", f"{self.args.time_cap}s", "--only-summary",
            "--stop-timeout", "10", "--loglevel", "WARNING", "--skip-log-setup",
        ]  # fmt: skip
        self.started = time.time()
        thread = None
        if during is not None:
            thread = threading.Thread(target=during, args=(self,), daemon=True)
            thread.start()
        with open(self.work / "locust.log", "wb") as log:
            subprocess.run(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        self.ended = time.time()
        if thread is not None:
            thread.join()

    # --- results ----------------------------------------------------------------------------

    def requests(self):
        with open(self.log_path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]

    def expected_mail(self):
        """(recipient, number) of every confirmation the submissions owe: the PI and the
        research office of the PI's institution."""
        from accounts.models import User
        from accounts.roles import Role
        from benchmarks.deadline_data import deadline_call
        from grants.models import Application

        offices = defaultdict(list)
        for user in User.objects.filter(groups__name=Role.INSTITUTION_ADMIN, is_active=True):
            if user.email:
                offices[user.institution_id].append(user.email)
        owed = set()
        submitted = Application.objects.filter(call=deadline_call(), number__isnull=False)
        for app in submitted.select_related("applicant"):
            owed.add((app.applicant.email, app.number))
            owed.update((email, app.number) for email in offices[app.institution_id])
        return owed

    def delivered(self):
        from benchmarks import mailsink

        pairs = Counter()
        other = 0
        for message in mailsink.read(self.env["LOAD_MAILSINK"]):
            match = NUMBER.search(message["subject"])
            if match is None:
                other += 1
                continue
            for to in message["to"]:
                pairs[(to, match.group(0))] += 1
        return pairs, other

    def wait_for_mail(self, since):
        """Seconds from ``since`` until every owed confirmation was delivered (None: not
        within the timeout), then a short settle for late duplicates."""
        owed = self.expected_mail()
        deadline = time.monotonic() + self.args.drain_timeout
        drained = None
        while time.monotonic() < deadline:
            pairs, _other = self.delivered()
            if owed <= set(pairs):
                drained = time.time() - since
                break
            time.sleep(0.5)
        time.sleep(5)
        return owed, drained

    def check(self, *, drain_from=None, tolerated=None):
        """Everything the run must hold; returns (figures, problems). ``tolerated(request)``
        says which failed requests a fault run expects (e.g. 503 while the database is
        down); they are counted, not reported as problems."""
        from django.contrib.contenttypes.models import ContentType
        from django.db import connections

        from audit.models import TransitionLog
        from benchmarks.deadline_data import deadline_call
        from grants.enums import ApplicationState
        from grants.models import Application, NumberSequence
        from review.models import AssignmentState, ReviewAssignment

        connections.close_all()
        problems = []
        log = self.requests()
        submits = [r for r in log if r["name"] == "applicant: submit"]
        ok_submits = [r for r in submits if r["status"] == 302]
        tolerated = tolerated or (lambda r: False)
        expected = Counter(
            r["status"] for r in log if (r["status"] >= 500 or not r["status"]) and tolerated(r)
        )
        log_errors = [r for r in log if not tolerated(r)]
        server_errors = Counter(r["name"] for r in log_errors if r["status"] >= 500)
        dropped = Counter(r["name"] for r in log_errors if r["status"] == 0)
        if server_errors:
            problems.append(f"server errors: {dict(server_errors)}")
        if dropped:
            problems.append(f"connection errors: {dict(dropped)}")

        call = deadline_call()
        planned = len(self.plan["applicants"])
        apps = list(Application.objects.filter(call=call).values("pk", "state", "number"))
        states = Counter(a["state"] for a in apps)
        if len(apps) != self.proposals:
            problems.append(f"{len(apps)} proposals in the call, {self.proposals} before the run")
        if states.get(ApplicationState.SUBMITTED, 0) != planned:
            problems.append(f"not every proposal was submitted: {dict(states)}")
        numbers = [a["number"] for a in apps if a["number"]]
        if len(numbers) != len(set(numbers)):
            problems.append("duplicate numbers in the call")
        submit_rows = Counter(
            TransitionLog.objects.filter(
                content_type=ContentType.objects.get_for_model(Application),
                object_id__in=[a["pk"] for a in apps],
                transition="submit",
            ).values_list("object_id", flat=True)
        )
        twice = [pk for pk, n in submit_rows.items() if n != 1]
        if twice or len(submit_rows) != states.get(ApplicationState.SUBMITTED, 0):
            problems.append(f"submit log rows not one per proposal: {len(twice)} repeated")

        for seq in NumberSequence.objects.all():
            issued = [
                int(NUMBER.match(n).group(3))
                for n in Application.objects.filter(
                    number__startswith=f"{seq.prefix}-{seq.year}-"
                ).values_list("number", flat=True)
            ]
            if sorted(issued) != list(range(1, seq.last + 1)):
                gaps = sorted(set(range(1, seq.last + 1)) - set(issued))[:10]
                problems.append(
                    f"sequence {seq.prefix}-{seq.year}: {len(issued)} numbers for last="
                    f"{seq.last}, repeated {len(issued) - len(set(issued))}, missing {gaps}"
                )

        reviews_posted = sum(
            1 for r in log if r["name"] == "reviewer: submit review" and r["status"] == 302
        )
        reviewed = ReviewAssignment.objects.filter(state=AssignmentState.SUBMITTED).count()

        since = drain_from or max((r["t"] for r in ok_submits), default=time.time())
        owed, drained = self.wait_for_mail(since)
        pairs, other = self.delivered()
        missing = owed - set(pairs)
        repeated = {k: n for k, n in pairs.items() if n > 1}
        unowed = set(pairs) - owed
        if missing:
            problems.append(
                f"{len(missing)} confirmations not delivered (e.g. {sorted(missing)[:3]})"
            )
        if repeated:
            problems.append(
                f"{len(repeated)} confirmations delivered more than once "
                f"(e.g. {list(repeated.items())[:3]})"
            )
        if unowed:
            problems.append(f"{len(unowed)} mails nobody was owed (e.g. {sorted(unowed)[:3]})")
        queued = mailer_queue()
        if queued:
            problems.append(f"django-mailer still holds {queued} messages")

        figures = {
            "label": self.label,
            "web": self.web,
            "requests": len(log),
            "statuses": dict(Counter(r["status"] for r in log)),
            "expected_errors": dict(expected),
            "submissions": len(ok_submits),
            "submissions_per_s": sustained_rate(ok_submits),
            "submit_span_s": span(ok_submits),
            "latency": latency_by_kind(log),
            "reviews": reviewed,
            "reviews_posted": reviews_posted,
            "mails_owed": len(owed),
            "mails_delivered": sum(pairs.values()),
            "other_mails": other,
            "mail_drained_s": None if drained is None else round(drained, 1),
            "problems": problems,
        }
        return figures, problems


def mailer_queue():
    """Messages django-mailer still holds (0 when it is not installed)."""
    from django.apps import apps

    if not apps.is_installed("mailer"):
        return 0
    from mailer.models import Message

    return Message.objects.count()


def span(rows):
    if len(rows) < 2:
        return 0.0
    ends = sorted(r["t"] for r in rows)
    return round(ends[-1] - ends[0], 2)


def sustained_rate(rows):
    """Submissions per second between the 10th and the 90th percentile of completion times:
    the plateau, without the ramp-up and the stragglers."""
    ends = sorted(r["t"] for r in rows)
    if len(ends) < 10:
        return 0.0
    lo, hi = int(len(ends) * 0.1), int(len(ends) * 0.9)
    return round((hi - lo) / max(ends[hi] - ends[lo], 1e-6), 1)


def percentile(values, q):
    values = sorted(values)
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latency_by_kind(log):
    kinds = defaultdict(list)
    for r in log:
        if r["status"]:
            kinds[r["name"]].append(r["ms"])
    return {
        name: {"n": len(ms), "p50": round(percentile(ms, 50)), "p95": round(percentile(ms, 95))}
        for name, ms in sorted(kinds.items())
    }


def print_figures(f):
    out(f"\n{f['label']}: {f['web']} web process(es)")
    out(f"  requests {f['requests']}, statuses {f['statuses']}")
    out(f"  submissions {f['submissions']} in {f['submit_span_s']} s; sustained "
        f"{f['submissions_per_s']} /s; reviews submitted {f['reviews']}")  # fmt: skip
    out(f"  mail: owed {f['mails_owed']}, delivered {f['mails_delivered']} "
        f"(+{f['other_mails']} other), all delivered {f['mail_drained_s']} s after the last "
        "submission")  # fmt: skip
    out(f"  {'request kind':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for name, v in f["latency"].items():
        out(f"  {name:<34} {v['n']:>5} {v['p50']:>8} {v['p95']:>8}")
    out("  checks: " + ("all passed" if not f["problems"] else "; ".join(f["problems"])))


def open_stack(args):
    stack = Stack(
        work=args.work, pg_port=args.pg_port, redis_port=args.redis_port, web_port=args.web_port
    )
    stack.start_pg()
    stack.start_redis(fresh=True)
    env = app_env(stack, args)
    setup_django(env)
    prepare(stack, args)
    return stack


def main(argv=None):
    args = parse_args(argv)
    out(f"Load average before: {os.getloadavg()}")
    stack = open_stack(args)
    results = []
    try:
        for web in [int(w) for w in args.web.split(",")]:
            run = Run(stack, args, web=web, label=f"deadline-web{web}")
            run.prepare()
            out(f"Run with {web} web process(es): {len(run.plan['applicants'])} applicants ...")
            run.start_stack()
            try:
                run.load()
                figures, _problems = run.check()
            finally:
                run.stop_stack()
            print_figures(figures)
            results.append(figures)
    finally:
        stack.close()
    out(f"Load average after: {os.getloadavg()}")
    if len(results) == 2 and results[0]["submissions_per_s"]:
        ratio = results[1]["submissions_per_s"] / results[0]["submissions_per_s"]
        p95 = [r["latency"].get("applicant: submit", {}).get("p95") for r in results]
        out(f"\nThroughput {results[1]['web']} vs {results[0]['web']} web processes: "
            f"{ratio:.2f}x ({results[0]['submissions_per_s']} -> "
            f"{results[1]['submissions_per_s']} submissions/s; "
            f"submit p95 {p95[0]} -> {p95[1]} ms)")  # fmt: skip
    (Path(args.work) / "deadline.json").write_text(json.dumps(results, indent=1))
    print(json.dumps([{k: v for k, v in r.items() if k != "latency"} for r in results]))
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
