"""Production: everything secret or site-specific comes from the environment."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
GRANTFLOW_DEMO = False
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")

# Issue 7 (security): secrets only from the environment, staff always with two factors.
GRANTFLOW_ID_HASH_KEY = env("GRANTFLOW_ID_HASH_KEY")
if SECRET_KEY.startswith("dev-only"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DJANGO_SECRET_KEY is the development default: set a random one.")
GRANTFLOW_REQUIRE_STAFF_2FA = True
# Issue 7 (runtime): Redis for cache and sessions, S3-compatible media, static files through
# whitenoise, JSON logs, and connections that survive a database restart. docs/deploy.md
# lists every variable.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env.int("DJANGO_DB_CONNECT_TIMEOUT", default=3)
)
# Unset: each process keeps its own memory cache (rate limits would not hold across
# processes); check --deploy warns (config.checks).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://grantflow")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis down: cache calls fail within a second instead of hanging the request.
    CACHES["default"].setdefault("OPTIONS", {})
    CACHES["default"]["OPTIONS"].setdefault("socket_connect_timeout", 1)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", 1)
CACHES["default"].setdefault("KEY_PREFIX", env("CACHE_KEY_PREFIX", default="grantflow"))
# Sessions in PostgreSQL, not in Redis: every request reads the database anyway (one primary-key
# lookup), and a Redis outage must not stop signed-in applicants from submitting. Django's
# cached_db store raises on every request while Redis is down (fault run, benchmarks/faults.py).
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Media on any S3-compatible service (AWS, MinIO, Ceph, OSS…) once a bucket is named.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _S3 = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
        "region_name": env("AWS_S3_REGION_NAME", default=None),
        "access_key": env("AWS_ACCESS_KEY_ID", default=None),
        "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
        "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default=None),
        "signature_version": env("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
        "file_overwrite": False,
    }
    STORAGES["default"] = {  # noqa: F405
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_S3,
            "location": "media",
            # Public files (images of the public site): plain URLs when the bucket policy
            # makes media/ readable or a CDN fronts it, else signed like the private ones.
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=False),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
        },
    }
    # Proposal attachments and case files: private ACL, never a CDN, and any URL is signed
    # and short-lived (the views stream them after a permission check anyway).
    STORAGES["private"] = {  # noqa: F405
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_S3,
            "bucket_name": env("AWS_PRIVATE_STORAGE_BUCKET_NAME", default=AWS_STORAGE_BUCKET_NAME),
            "location": "private",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "custom_domain": None,
        },
    }

# Hashed static files are cached for a year by browsers (whitenoise does that for every
# file with a hash in its name); the rest for an hour.
WHITENOISE_MAX_AGE = env.int("WHITENOISE_MAX_AGE", default=3600)
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
LOGGING["handlers"]["console"]["formatter"] = env("GRANTFLOW_LOG_FORMAT", default="json")  # noqa: F405
# Issue 7 (outbox): mail is queued in the database (the job's transaction) and sent through
# DJANGO_EMAIL_BACKEND by runmailer_pg and the outbox tasks; GRANTFLOW_MAIL_QUEUE=0 sends
# directly.
if env.bool("GRANTFLOW_MAIL_QUEUE", default=True):
    MAILER_EMAIL_BACKEND, EMAIL_BACKEND = EMAIL_BACKEND, "outbox.mail.QueuedMailBackend"
