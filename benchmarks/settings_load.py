"""Production settings for the load and fault runs (benchmarks/deadline.py,
benchmarks/faults.py) on loopback: plain HTTP on 127.0.0.1, static files collected under the
run's folder, and mail delivered to a file the runs count (benchmarks/mailsink.py)."""

from pathlib import Path

from config.settings.production import *  # noqa: F403
from config.settings.production import INSTALLED_APPS, env

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STATIC_ROOT = Path(env("LOAD_STATIC_ROOT"))

# django-mailer (when installed) queues in the database and hands mail to MAILER_EMAIL_BACKEND.
if "mailer" in INSTALLED_APPS:
    MAILER_EMAIL_BACKEND = "benchmarks.mailsink.EmailBackend"
else:
    EMAIL_BACKEND = "benchmarks.mailsink.EmailBackend"
LOAD_MAILSINK = env("LOAD_MAILSINK")
#: Seconds each message takes to "send": a slow SMTP server, so a worker can be killed mid-send.
LOAD_MAILSINK_DELAY = env.float("LOAD_MAILSINK_DELAY", default=0.0)
