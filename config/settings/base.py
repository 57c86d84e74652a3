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

# Issue 6 (public site): cached public pages answered before sessions, auth and routing.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "cms.middleware.PageCacheMiddleware",
)
