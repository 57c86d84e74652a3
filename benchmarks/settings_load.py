"""Production settings for the load and fault runs (benchmarks/deadline.py,
benchmarks/faults.py) on loopback: plain HTTP on 127.0.0.1 and static files collected under
the run's folder. Mail goes wherever production sends it, through DJANGO_EMAIL_BACKEND,
which the runs point at a file they count (benchmarks/mailsink.py)."""

from pathlib import Path

from config.settings.production import *  # noqa: F403
from config.settings.production import env

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STATIC_ROOT = Path(env("LOAD_STATIC_ROOT"))
LOAD_MAILSINK = env("LOAD_MAILSINK")
#: Seconds each message takes to "send": a slow SMTP server, so a sender can be killed mid-task.
LOAD_MAILSINK_DELAY = env.float("LOAD_MAILSINK_DELAY", default=0.0)
# Only for comparing session engines in a fault run (faults.py --session-engine).
if env("LOAD_SESSION_ENGINE", default=""):
    SESSION_ENGINE = env("LOAD_SESSION_ENGINE")
