"""gunicorn for Grantflow: ``gunicorn -c deploy/gunicorn.conf.py config.wsgi``.

Everything here can be set from the environment (docs/deploy.md). Access lines are JSON
with the request id the application returned (X-Request-ID), so one id joins the proxy's,
gunicorn's, Django's and Celery's lines. With PROMETHEUS_MULTIPROC_DIR set, the metrics of
all workers are written there and added up at /metrics; the directory is emptied at start
and a dead worker's live gauges are dropped.
"""

import datetime
import json
import os
import shutil
from pathlib import Path

from gunicorn import glogging

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request still running after this is killed (and its worker replaced): longer than the
# slowest legitimate page (PDF exports), shorter than the proxy's own timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak never grows unbounded.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# A tmpfs (/dev/shm) keeps the workers' heartbeat files off a slow or full disk.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "grantflow-web"


class JsonAccessLogger(glogging.Logger):
    """One JSON object per request: what a log collector indexes without a grok pattern."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
            "event": "access",
            "logger": "gunicorn.access",
            "request_id": atoms.get("{x-request-id}o", "-"),
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "bytes": atoms["B"],
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "referer": atoms["f"],
            "user_agent": atoms["a"],
            "pid": os.getpid(),
        }
        self.access_log.info(json.dumps(line, ensure_ascii=False))


logger_class = JsonAccessLogger


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
