"""The local production stack of the load and fault runs (benchmarks/deadline.py,
benchmarks/faults.py): an own PostgreSQL cluster and an own Redis, which the fault runs stop
and restart, then gunicorn, Celery workers and the outbox and mail processes.

Everything listens on 127.0.0.1 only. Every process started here is stopped by
``Stack.close()`` (called on exit, on SIGTERM/SIGINT and on failure), and only those: each
runs in its own process group, stopped by its own id.
"""

import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
TMP = Path(tempfile.gettempdir())


def tool(name):
    """The absolute path of a system program."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed")
    return path


def out(line=""):
    print(line, flush=True)


def port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def http_status(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class Stack:
    """Own PostgreSQL (``pg_port``), own Redis (``redis_port``), web and worker processes."""

    def __init__(self, *, work, pg_port=5441, redis_port=6391, web_port=8391, pg_dir=TMP / "gf_pg"):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.logs = self.work  # each run points it at its own folder
        self.pg_port = pg_port
        self.pg_dir = Path(pg_dir)
        self.redis_port = redis_port
        self.web_port = web_port
        self.procs = {}  # name -> Popen, in start order
        self.pg_started = False
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        self.close()
        sys.exit(128 + signum)

    # --- plain processes ----------------------------------------------------------------

    def start(self, name, argv, env=None, cwd=ROOT):
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(  # noqa: S603 (our own argv)
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log
        self.procs[name] = proc
        return proc

    def stop(self, name, sig=signal.SIGTERM, timeout=20):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        proc.log.close()

    def running(self, name):
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def close(self):
        for name in reversed(list(self.procs)):
            self.stop(name)
        if self.pg_started:
            self.pg_ctl("stop", "-m", "fast", check=False)
            self.pg_started = False

    # --- Redis ----------------------------------------------------------------------------

    def start_redis(self, *, fresh=False):
        """Redis on its own port, with an append-only file so a restart keeps what it held
        (queued tasks), as a production broker does."""
        data = self.work / f"redis-{self.redis_port}"
        if fresh and data.exists():
            shutil.rmtree(data)
        data.mkdir(exist_ok=True)
        argv = [
            tool("redis-server"), "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes", "--dir", str(data), "--daemonize", "no",
        ]  # fmt: skip
        self.start("redis", argv)
        wait_for(lambda: port_open(self.redis_port), 10, "Redis")

    def stop_redis(self):
        self.stop("redis")
        wait_for(lambda: not port_open(self.redis_port), 10, "Redis to stop")

    def redis_url(self, db):
        return f"redis://127.0.0.1:{self.redis_port}/{db}"

    # --- PostgreSQL -------------------------------------------------------------------------

    def pg_ctl(self, *args, check=True):
        argv = [
            tool("runuser"), "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.pg_dir),
            "-l", str(self.pg_dir.parent / f"{self.pg_dir.name}.log"), *args,
        ]  # fmt: skip
        return subprocess.run(argv, check=check, capture_output=True, text=True)  # noqa: S603

    def start_pg(self):
        """An own cluster (initdb on first use) on ``pg_port``, never the shared server."""
        if not (self.pg_dir / "PG_VERSION").exists():
            subprocess.run(  # noqa: S603
                [tool("runuser"), "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D",
                 str(self.pg_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                 "--locale", "C.UTF-8"],
                check=True, capture_output=True,
            )  # fmt: skip
        options = (
            f"-p {self.pg_port} -k {TMP} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            "-c shared_buffers=256MB"
        )
        self.pg_ctl("start", "-w", "-t", "60", "-o", options)
        self.pg_started = True

    def stop_pg(self):
        self.pg_ctl("stop", "-m", "fast", "-w")

    def pg_url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/{name}"

    # --- the application ----------------------------------------------------------------------

    def base_url(self):
        return f"http://127.0.0.1:{self.web_port}"

    def start_web(self, env, workers, threads=None):
        argv = [str(VENV_BIN / "gunicorn"), "config.wsgi:application"]
        conf = ROOT / "deploy" / "gunicorn.conf.py"
        if conf.exists():
            argv += ["-c", str(conf)]
        else:
            argv += ["--worker-class", "gthread", "--threads", str(threads or 4)]
        if threads:
            argv += ["--threads", str(threads)]
        argv += [
            "--workers", str(workers), "--bind", f"127.0.0.1:{self.web_port}",
            "--access-logfile", "-", "--error-logfile", "-", "--log-level", "warning",
        ]  # fmt: skip
        self.start("web", argv, env)
        wait_for(lambda: port_open(self.web_port), 60, "gunicorn")

    def worker_argv(self, index, concurrency=1):
        return [
            str(VENV_BIN / "celery"), "-A", "config", "worker", "-c", str(concurrency),
            "-n", f"load{index}@%h", "-l", "warning", "--without-heartbeat", "--without-gossip",
            "--without-mingle",
        ]  # fmt: skip

    def start_workers(self, env, count=2):
        for i in range(1, count + 1):
            self.start(f"worker{i}", self.worker_argv(i), env)

    def start_background(self, env, commands):
        """The outbox sweeper, beat and the mail sender, as far as the code has them."""
        manage = [str(VENV_BIN / "python"), "manage.py"]
        if "dispatch_outbox" in commands:
            self.start("outbox", [*manage, "dispatch_outbox", "--loop"], env)
        for sender in ("runmailer_pg", "runmailer"):
            if sender in commands:
                self.start("mailer", [*manage, sender], env)
                break
        beat = self.work / "celerybeat-schedule"
        self.start(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "config", "beat", "-l", "warning", "-s", str(beat)],
            env,
        )
