#!/usr/bin/env python
"""Fault runs on the local production stack of benchmarks/deadline.py, under load:

redis     the broker and cache (own Redis, port 6391) stopped for 60 s in the middle of the
          submissions: they must still succeed (no 5xx); then Redis comes back and the run
          measures how long until every confirmation mail is delivered;
worker    a process that is sending mail (a Celery worker's pool process, or the mail
          sender) killed with SIGKILL mid-task, twice: every effect exactly once (one
          submission, one log row, one confirmation per recipient);
postgres  the own PostgreSQL cluster (/tmp/gf_pg, port 5441; never the shared server)
          stopped for 15 s and started again: meanwhile requests get the 503 page (not a
          500, not a hang); afterwards they succeed without restarting gunicorn.

    .venv/bin/python benchmarks/faults.py [--only redis,worker,postgres]

Each run is bounded (a few minutes); every process started is stopped at the end, also on
failure. Exit status 1 when a check fails.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.deadline import Run, add_arguments, open_stack, print_figures  # noqa: E402
from benchmarks.mailsink import read as read_mail  # noqa: E402
from benchmarks.stack import out  # noqa: E402

FAULTS = ("redis", "worker", "postgres")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(p)
    p.add_argument("--only", default=",".join(FAULTS), help="comma list of: " + ", ".join(FAULTS))
    p.add_argument("--web-processes", type=int, default=2)
    p.add_argument("--outage", type=float, default=60.0, help="seconds Redis stays down")
    p.add_argument("--pg-outage", type=float, default=15.0, help="seconds PostgreSQL stays down")
    p.add_argument(
        "--session-engine",
        default="",
        help="override SESSION_ENGINE (e.g. django.contrib.sessions.backends.db) to compare",
    )
    return p.parse_args(argv)


class Probe(threading.Thread):
    """GET ``path`` as an officer every ``interval`` s: status, latency and whether the
    answer is the 'service temporarily unavailable' page."""

    def __init__(self, run, path, interval=0.25):
        super().__init__(daemon=True)
        self.url = run.stack.base_url() + path
        officer = run.plan["officers"][0]
        self.cookie = f"{run.plan['cookie']}={officer['session']}"
        self.interval = interval
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            started = time.time()
            status, body = 0, ""
            request = urllib.request.Request(self.url, headers={"Cookie": self.cookie})  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    status, body = response.status, response.read(4096).decode(errors="replace")
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read(8192).decode(errors="replace")
            except OSError as exc:
                body = str(exc)
            self.samples.append((started, status, time.time() - started, body))
            self.halt.wait(self.interval)


def descendants(pid):
    """Process ids under ``pid`` (children, grandchildren), from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# --- redis ----------------------------------------------------------------------------------


def redis_fault(stack, args):
    run = Run(stack, args, web=args.web_processes, label="fault-redis")
    run.args.spread = 150.0
    run.prepare()
    run.start_stack()
    window = {}

    def outage(run):
        time.sleep(40)
        window["down"] = time.time()
        run.note("Redis stopped")
        stack.stop_redis()
        time.sleep(args.outage)
        stack.start_redis()
        window["up"] = time.time()
        run.note("Redis started again")

    try:
        run.load(during=outage, retries=0)
        figures, problems = run.check(drain_from=window.get("up"))
    finally:
        run.stop_stack()
    log = run.requests()
    during = [r for r in log if window["down"] <= r["t"] <= window["up"]]
    submits = [r for r in during if r["name"] == "applicant: submit"]
    figures["outage_s"] = round(window["up"] - window["down"], 1)
    figures["during_outage"] = {
        "requests": len(during),
        "statuses": dict(Counter(r["status"] for r in during)),
        "submissions_ok": sum(1 for r in submits if r["status"] == 302),
        "submissions_failed": sum(1 for r in submits if r["status"] != 302),
    }
    mails = read_mail(run.env["LOAD_MAILSINK"])
    figures["mail_during_outage"] = sum(
        1 for m in mails if window["down"] <= m["at"] <= window["up"]
    )
    figures.update(backlog(mails, window["up"]))
    if not submits:
        problems.append("no submission fell inside the outage")
    print_figures(figures)
    out(f"  outage {figures['outage_s']} s: {figures['during_outage']}; "
        f"mails delivered meanwhile {figures['mail_during_outage']}")  # fmt: skip
    out(f"  after Redis came back: first mail {figures['backlog_first_s']} s, the "
        f"{figures['backlog_mails']} mails owed for submissions made before then all "
        f"delivered {figures['backlog_drained_s']} s (everything, with the submissions that "
        f"followed: {figures['mail_drained_s']} s)")  # fmt: skip
    return figures


def backlog(mails, up):
    """How long the mail owed for submissions made before Redis came back took to go out
    after it did: first delivery, and the last of them."""
    from benchmarks.deadline import NUMBER
    from grants.models import Application

    before = set(
        Application.objects.filter(submitted_at__lt=datetime.fromtimestamp(up, UTC))
        .exclude(number=None)
        .values_list("number", flat=True)
    )
    times = []
    for m in mails:
        match = NUMBER.search(m["subject"])
        if match and match.group(0) in before and m["at"] > up:
            times.append(m["at"] - up)
    return {
        "backlog_mails": len(times),
        "backlog_first_s": round(min(times), 1) if times else None,
        "backlog_drained_s": round(max(times), 1) if times else None,
    }


# --- worker ---------------------------------------------------------------------------------


def kill_a_sender(run):
    """SIGKILL the process that has just written a mail (it is in the middle of a task that
    sends several); restart it if it was one of ours rather than a pool process."""
    ours = {name: p.pid for name, p in run.stack.procs.items() if p.poll() is None}
    deadline = time.time() + 30
    while time.time() < deadline:
        recent = [m for m in read_mail(run.env["LOAD_MAILSINK"]) if m["at"] > time.time() - 0.3]
        for message in reversed(recent):
            pid = message["pid"]
            owner = next((n for n, p in ours.items() if pid == p or pid in descendants(p)), None)
            if owner is None:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            run.note(f"SIGKILL to pid {pid} ({owner}{'' if pid == ours[owner] else ' pool'})")
            if pid == ours[owner]:
                proc = run.stack.procs[owner]
                proc.wait(10)
                run.stack.start(owner, proc.args, run.env)
                run.note(f"{owner} restarted")
            return True
        time.sleep(0.05)
    run.note("no process was sending mail to kill")
    return False


def worker_fault(stack, args):
    run = Run(
        stack, args, web=args.web_processes, label="fault-worker", applicants=150, mail_delay=0.25
    )
    run.args.spread = 45.0
    run.prepare()
    run.start_stack()
    kills = []

    def killer(run):
        for at in (15, 30):
            time.sleep(max(0.0, run.started + at - time.time()))
            kills.append(kill_a_sender(run))

    try:
        run.load(during=killer)
        figures, problems = run.check()
    finally:
        run.stop_stack()
    figures["kills"] = sum(kills)
    figures["events"] = [what for _t, what in run.events]
    if not all(kills):
        problems.append("a kill found no process mid-task")
    print_figures(figures)
    return figures


# --- postgres -------------------------------------------------------------------------------


def postgres_fault(stack, args):
    run = Run(stack, args, web=args.web_processes, label="fault-postgres", applicants=200)
    run.args.spread = 60.0
    run.prepare()
    run.start_stack()
    web = run.stack.procs["web"]
    web_pids = sorted([web.pid, *descendants(web.pid)])
    probe = Probe(run, f"/proposals/{run.plan['officers'][0]['proposals'][0]}/")
    window = {}

    def restart(run):
        time.sleep(20)
        window["stopping"] = time.time()
        run.stack.stop_pg()
        window["down"] = time.time()
        run.note("PostgreSQL stopped")
        time.sleep(args.pg_outage)
        run.stack.start_pg()
        window["up"] = time.time()
        run.note("PostgreSQL started again")

    def tolerated(r):
        return (
            "up" in window
            and window["stopping"] - 1 <= r["t"] - r["ms"] / 1000 <= window["up"] + 2
            and r["status"] in (0, 503)
        )

    probe.start()
    try:
        run.load(during=restart, retries=8)
        time.sleep(2)
        probe.halt.set()
        probe.join()
        figures, problems = run.check(tolerated=tolerated)
        figures["web_pids_unchanged"] = sorted([web.pid, *descendants(web.pid)]) == web_pids
    finally:
        run.stop_stack()
    down, up = window["down"], window["up"]
    inside = [s for s in probe.samples if down <= s[0] <= up]
    after = [s for s in probe.samples if s[0] > up]
    first_ok = next((s[0] + s[2] for s in after if s[1] == 200), None)
    unavailable = [s for s in inside if s[1] == 503]
    figures["probe"] = {
        "during": dict(Counter(s[1] for s in inside)),
        "during_slowest_s": round(max((s[2] for s in inside), default=0), 2),
        "during_503_page": all("temporarily" in s[3].lower() for s in unavailable),
        "after": dict(Counter(s[1] for s in after)),
        "recovered_s": None if first_ok is None else round(first_ok - up, 2),
    }
    p = figures["probe"]
    if set(p["during"]) - {503}:
        problems.append(f"while the database was down the probe got {p['during']}")
    if not unavailable or not p["during_503_page"]:
        problems.append("no 'service temporarily unavailable' page while the database was down")
    if p["during_slowest_s"] > 10:
        problems.append(f"a request hung {p['during_slowest_s']} s while the database was down")
    if first_ok is None or set(p["after"]) - {200, 503}:
        problems.append(f"after the restart the probe got {p['after']}")
    if not figures["web_pids_unchanged"]:
        problems.append("gunicorn processes were replaced")
    print_figures(figures)
    out(f"  probe: {p}; gunicorn processes unchanged: {figures['web_pids_unchanged']}")
    return figures


def main(argv=None):
    args = parse_args(argv)
    if args.session_engine:
        os.environ["LOAD_SESSION_ENGINE"] = args.session_engine
    out(f"Load average before: {os.getloadavg()}")
    chosen = [f for f in args.only.split(",") if f]
    stack = open_stack(args)
    results = []
    try:
        for name in chosen:
            out(f"\nFault run: {name}")
            results.append({"redis": redis_fault, "worker": worker_fault,
                            "postgres": postgres_fault}[name](stack, args))  # fmt: skip
    finally:
        stack.close()
    out(f"Load average after: {os.getloadavg()}")
    (Path(args.work) / "faults.json").write_text(json.dumps(results, indent=1, default=str))
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
