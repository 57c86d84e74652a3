"""Settings shared by every environment; every value can come from the environment.

With nothing set, Grantflow runs on SQLite with Celery in eager mode, mail to the console
and files on the local disk: one command starts a working site.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_tables2",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "guardian",
    "django_countries",
    "django_fsm",
    "audit",
    "accounts",
    "integrity",
    "programs",
    "grants",
    "review",
    "finance",
    "cms",
    "insights",
    # Public site (cms): Wagtail and what it needs.
    "wagtail.contrib.routable_page",
    "wagtail.contrib.sitemaps",
    "wagtail.locales",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Proposal attachments never sit under a public URL: they are streamed by a view that
# checks who may read the proposal.
PRIVATE_MEDIA_ROOT = Path(env("DJANGO_PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private_media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ATTACHMENT_MAX_BYTES = env.int("GRANTFLOW_ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Public-notice objections (grants.notice): per client address and window, and file size.
# Several web processes need a shared cache (CACHES) for the limit to hold across them.
GRANTFLOW_OBJECTION_RATE_LIMIT = env.int("GRANTFLOW_OBJECTION_RATE_LIMIT", default=5)
GRANTFLOW_OBJECTION_RATE_WINDOW = env.int("GRANTFLOW_OBJECTION_RATE_WINDOW", default=3600)
GRANTFLOW_OBJECTION_MAX_BYTES = env.int("GRANTFLOW_OBJECTION_MAX_BYTES", default=10 * 1024 * 1024)

# One cache shared by every web process in production (rate limits, task progress):
# CACHE_URL=redis://127.0.0.1:6379/1; in-process memory when unset.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://grantflow")}

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Grantflow <noreply@grantflow.local>")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Periodic jobs (celery beat). Review: invitations past their respond-by date expire (and
# their seats are refilled) every hour; reminders before the review deadline every morning.
CELERY_BEAT_SCHEDULE = {
    "review-expire-invitations": {
        "task": "review.tasks.expire_review_invitations",
        "schedule": 60 * 60,
    },
    "review-remind-reviewers": {
        "task": "review.tasks.remind_reviewers",
        "schedule": crontab(hour=8, minute=0),
    },
}
# Absolute links in mail (invitations' accept/decline links).
GRANTFLOW_SITE_URL = env("GRANTFLOW_SITE_URL", default="http://localhost:8000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Grantflow API",
    "DESCRIPTION": "Research-funding management: programs, calls, proposals, integrity.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

DJANGO_TABLES2_TEMPLATE = "tables/table.html"
DJANGO_TABLES2_PAGE_RANGE = 7

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None
OTP_TOTP_ISSUER = "Grantflow"

# Creates the demo accounts; never true in production settings.
GRANTFLOW_DEMO = env.bool("GRANTFLOW_DEMO", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}},
}

# Resident ID numbers are kept only as HMAC-SHA256 with this key (accounts.models.
# hash_id_number); empty: derived from SECRET_KEY when used. Changing it (or SECRET_KEY
# while it is empty) orphans every stored hash: set it once per installation.
GRANTFLOW_ID_HASH_KEY = env("GRANTFLOW_ID_HASH_KEY", default="")
# Credit records: lift notices for bars whose period ended (integrity.tasks).
CELERY_BEAT_SCHEDULE["integrity-lift-expired-bars"] = {
    "task": "integrity.tasks.lift_expired_bars",
    "schedule": crontab(hour=0, minute=30),
}
# Credit records that matched nobody are tried again against new accounts and institutions.
CELERY_BEAT_SCHEDULE["integrity-relink-records"] = {
    "task": "integrity.tasks.relink_records",
    "schedule": crontab(hour=1, minute=0),
}

# Misconduct cases (integrity/tasks_cases.py): decided cases whose appeal window passed
# without an appeal become final every night.
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", ()), "integrity.tasks_cases"]
CELERY_BEAT_SCHEDULE["integrity-finalize-cases"] = {
    "task": "integrity.tasks_cases.finalize_unappealed_cases",
    "schedule": crontab(hour=0, minute=45),
}
# API schema names of the misconduct cases' choice sets (integrity/api_cases.py).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "MisconductCaseStateEnum": "integrity.models.cases.CaseState",
        "MisconductCategoryEnum": "integrity.models.records.MisconductCategory",
        "AppealOutcomeEnum": "integrity.models.cases.AppealOutcome",
    }
)

# Issue 5 (agencies): delegations that began or ended move the program's delegate daily.
CELERY_BEAT_SCHEDULE["programs-sync-delegations"] = {
    "task": "programs.tasks.sync_delegations",
    "schedule": crontab(hour=0, minute=5),
}

# Money (finance/tasks_money.py): payments held by an integrity bar are re-checked hourly and
# paid once the bar has lifted.
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", ()), "finance.tasks_money"]
CELERY_BEAT_SCHEDULE["finance-recheck-held-payments"] = {
    "task": "finance.tasks_money.recheck_held_payments",
    "schedule": crontab(minute=15),
}

# Final evaluations (finance/models/evaluation.py): their choice sets named for the schema.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "EvaluationOutcomeEnum": "finance.models.evaluation.Outcome",
        "PerformanceGradeEnum": "finance.models.evaluation.Grade",
    }
)

# Public site (cms, Wagtail): Chinese and English page trees; editors at /cms-admin/.
WAGTAIL_SITE_NAME = "Grantflow"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default="http://localhost:8000")
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_SERVE_METHOD = "serve_view"
#: Seconds a rendered public page stays cached (also dropped at once on any publish or
#: workflow change that alters what it shows: cms.cache).
GRANTFLOW_PUBLIC_CACHE_SECONDS = env.int("GRANTFLOW_PUBLIC_CACHE_SECONDS", default=60)
SPECTACULAR_SETTINGS.setdefault("PREPROCESSING_HOOKS", []).append("cms.schema.api_only")

# Issue 7 (security): two-factor sign-in for staff, lockout, rate limits, security headers
# (docs/security.md).
from csp.constants import NONE, SELF  # noqa: E402

#: Staff (and admin users) must prove an authenticator code each session; off on DEBUG so
#: the demo tour works without an app.
GRANTFLOW_REQUIRE_STAFF_2FA = env.bool("GRANTFLOW_REQUIRE_STAFF_2FA", default=not DEBUG)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "accounts.two_factor.StaffTwoFactorMiddleware",
)
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE[_security + 1 : _security + 1] = [
    "config.security.CSPMiddleware",
    "config.security.PermissionsPolicyMiddleware",
]
# Lockout (django-axes) after repeated failed sign-ins of one username from one address.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = env.int("GRANTFLOW_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = env.float("GRANTFLOW_LOCKOUT_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
#: Request header (META name) that holds the client's address; set it only behind a proxy
#: that overwrites it, e.g. HTTP_X_REAL_IP.
GRANTFLOW_CLIENT_IP_META = env("GRANTFLOW_CLIENT_IP_META", default="REMOTE_ADDR")
# Rate limits (django-ratelimit; counted in CACHES["default"], shared in production).
GRANTFLOW_RATE_LIMITS = {
    "login": env("GRANTFLOW_RATE_LOGIN", default="20/m"),
    "password_reset": env("GRANTFLOW_RATE_PASSWORD_RESET", default="10/h"),
    "password_reset_email": env("GRANTFLOW_RATE_PASSWORD_RESET_EMAIL", default="3/h"),
    "api_token": env("GRANTFLOW_RATE_API_TOKEN", default="20/m"),
    "objection": env("GRANTFLOW_RATE_OBJECTION", default="30/h"),
}
# Headers: strict CSP (config.security relaxes it for the two admins and the API docs page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# No Gravatar images in the Wagtail admin: they would tell a third party which staff work
# here (and the CSP refuses outside images anyway).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor a check for new Wagtail releases from the editors' browsers (an outside request).
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Issue 7 (runtime): request ids, structured logs, metrics, health endpoints, Celery timeouts.
# config.request_id names each request (X-Request-ID from the proxy when well-formed, else a
# new one) and returns it; config.health answers /healthz, /readyz and /metrics before the
# rest of the stack (no session, CSRF, host check or HTTPS redirect); django_structlog binds
# the id to every log line of the request and of the Celery tasks it enqueues; Prometheus
# times every request.
import structlog  # noqa: E402

MIDDLEWARE[0:0] = [
    "config.request_id.RequestIdMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.health.HealthMiddleware",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "django_structlog.middlewares.RequestMiddleware",
)
MIDDLEWARE.append("django_prometheus.middleware.PrometheusAfterMiddleware")
INSTALLED_APPS.append("django_structlog")
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = 10  # logging.DEBUG: one line per request, at its end
#: "console" (readable, colours) or "json" (one object a line, for log collectors).
GRANTFLOW_LOG_FORMAT = env("GRANTFLOW_LOG_FORMAT", default="console")
_STRUCTLOG_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(),
]
LOGGING["formatters"] = {
    "json": {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks as data, without each frame's local variables (passwords, tokens,
            # lazy objects that fail again while rendering).
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        "foreign_pre_chain": _STRUCTLOG_PRE_CHAIN,
    },
    "console": {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ],
        "foreign_pre_chain": _STRUCTLOG_PRE_CHAIN,
    },
}
LOGGING["handlers"]["console"]["formatter"] = GRANTFLOW_LOG_FORMAT
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.UnicodeDecoder(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
#: /metrics answers these client addresses, or anyone sending "Authorization: Bearer <token>".
GRANTFLOW_METRICS_ALLOWED_IPS = env.list(
    "GRANTFLOW_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"]
)
GRANTFLOW_METRICS_TOKEN = env("GRANTFLOW_METRICS_TOKEN", default="")
#: Seconds /readyz waits for the database and the broker.
GRANTFLOW_READY_TIMEOUT = env.float("GRANTFLOW_READY_TIMEOUT", default=2.0)

# Celery on Redis: short connect and socket timeouts so that a web request enqueuing a task
# fails within seconds when Redis is down instead of hanging; the visibility timeout must
# exceed the longest countdown/ETA of a task (else Redis hands it to a second worker).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
#: Task processes per worker; unset: one per CPU.
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=None)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 60 * 60),
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
    "retry_on_timeout": True,
    "health_check_interval": 30,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_RESULT_EXPIRES = 24 * 60 * 60
# Issue 7 (outbox): work that must follow a commit (mail, follow-up tasks) is recorded in the
# same transaction (outbox.Job), published on commit and, when the broker was down or lost
# it, by the sweeper (beat "outbox-sweep" or `manage.py dispatch_outbox --loop`).
INSTALLED_APPS += ["mailer", "outbox"]
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", ()), "outbox.tasks"]
#: Seconds after which a published job that is not done is published again (Redis keeps
#: nothing across a restart; a failed run is retried this often).
GRANTFLOW_OUTBOX_REDISPATCH_AFTER = env.int("GRANTFLOW_OUTBOX_REDISPATCH_AFTER", default=120)
#: Runs after which a failing job is left to the sysadmin (admin: Outbox jobs, last error).
GRANTFLOW_OUTBOX_MAX_ATTEMPTS = env.int("GRANTFLOW_OUTBOX_MAX_ATTEMPTS", default=10)
#: Seconds a worker may hold a job that commits as it goes (the staffing engine's runs).
GRANTFLOW_OUTBOX_LEASE = env.int("GRANTFLOW_OUTBOX_LEASE", default=30 * 60)
GRANTFLOW_OUTBOX_KEEP_DAYS = env.int("GRANTFLOW_OUTBOX_KEEP_DAYS", default=7)
# A request publishes once, quickly: a broker that does not answer within a second costs a
# log line (the sweeper publishes later), not a slow or failed request.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "max_retries": 0,  # publishing connects once (kombu's default retries for ~2 s)
}
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {"task": "outbox.tasks.sweep_outbox", "schedule": 15}
# Mail: with GRANTFLOW_MAIL_QUEUE (the default in production) mail is a row of django-mailer's
# queue written in the sender's transaction, and DJANGO_EMAIL_BACKEND is how the queue is
# sent: by `manage.py runmailer_pg` (on each insert) and these tasks. Row locks keep two
# senders apart; mailer's lock file (stale after a kill -9) is not used.
MAILER_USE_FILE_LOCK = False
if env.bool("GRANTFLOW_MAIL_QUEUE", default=False):
    MAILER_EMAIL_BACKEND, EMAIL_BACKEND = EMAIL_BACKEND, "outbox.mail.QueuedMailBackend"
CELERY_BEAT_SCHEDULE["outbox-send-mail"] = {"task": "outbox.tasks.send_queued_mail", "schedule": 60}
CELERY_BEAT_SCHEDULE["outbox-retry-deferred-mail"] = {
    "task": "outbox.tasks.retry_deferred_mail",
    "schedule": 10 * 60,
}
MAILER_EMAIL_MAX_RETRIES = env.int("MAILER_EMAIL_MAX_RETRIES", default=20)
# Issue 7 (backup): `manage.py backup` / `restore` (ops/, docs/backup.md).
INSTALLED_APPS.append("ops")

# Issue 7 (schemathesis): the error statuses of api.md's conventions in the OpenAPI schema.
SPECTACULAR_SETTINGS.setdefault(
    "POSTPROCESSING_HOOKS", ["drf_spectacular.hooks.postprocess_schema_enums"]
).append("config.api.error_responses")
# Issue 6 (public site): cached public pages answered before sessions, auth and routing.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "cms.middleware.PageCacheMiddleware",
)
