"""Tests: PostgreSQL when DATABASE_URL is set (CI), else SQLite; mail kept in memory."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
DEBUG = False
PRIVATE_MEDIA_ROOT = BASE_DIR / "test-artifacts" / "private_media"  # noqa: F405
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "media"  # noqa: F405
STORAGES["private"]["OPTIONS"]["location"] = PRIVATE_MEDIA_ROOT  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

# Issue 7 (security): tests run as production does.
GRANTFLOW_REQUIRE_STAFF_2FA = True
