"""Settings: migrations match the models, production passes the deploy checks, and with no
environment at all the site runs on SQLite with eager Celery and mail to the console."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
#: Variables that change what the settings pick; removed for the "no environment" runs.
SETTINGS_ENV = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL")


def clean_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS_ENV and not k.startswith(("DJANGO_", "GRANTFLOW_", "AWS_"))
    }
    env.update(extra)
    return env


def run(args, env, timeout=120):
    return subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.django_db
def test_no_missing_migrations(capsys):
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        out = capsys.readouterr().out
        pytest.fail(f"makemigrations --check exited {exc.code}: missing migrations\n{out}")
    assert "No changes detected" in capsys.readouterr().out


def production_env(**extra):
    return clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        GRANTFLOW_ID_HASH_KEY=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="grantflow.example.org,www.grantflow.example.org",
        DATABASE_URL="postgres://grantflow@db.example.org:5432/grantflow",
        CACHE_URL="redis://cache.example.org:6379/1",
        CELERY_BROKER_URL="redis://cache.example.org:6379/0",
        **extra,
    )


def test_production_passes_the_deploy_checks():
    result = run(["check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_does_catch_a_weak_key():
    """The check above is meaningful: a short, guessable key fails it."""
    env = production_env()
    env["DJANGO_SECRET_KEY"] = "short"
    result = run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = run(["check"], env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


PROBE = """
import json
from django.conf import settings
from config.celery_app import app
print(json.dumps({
    "settings_module": settings.SETTINGS_MODULE,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "app_eager": app.conf.task_always_eager,
    "email": settings.EMAIL_BACKEND,
    "debug": settings.DEBUG,
    "storage": settings.STORAGES["default"]["BACKEND"],
}))
"""


def probe(env):
    result = run(["shell", "-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_with_no_environment():
    env = clean_env()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    values = probe(env)
    assert values == {
        "settings_module": "config.settings.base",
        "engine": "django.db.backends.sqlite3",
        "name": str(ROOT / "db.sqlite3"),
        "eager": True,
        "app_eager": True,
        "email": "django.core.mail.backends.console.EmailBackend",
        "debug": True,
        "storage": "django.core.files.storage.FileSystemStorage",
    }


def test_environment_switches_to_postgresql_and_a_broker():
    env = clean_env(
        DATABASE_URL="postgres://grantflow@db.internal:5432/grantflow",
        CELERY_BROKER_URL="redis://broker.internal:6379/0",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    values = probe(env)
    assert (values["engine"], values["name"]) == ("django.db.backends.postgresql", "grantflow")
    assert values["eager"] is values["app_eager"] is False


def test_production_refuses_to_start_without_a_database_url():
    env = production_env()
    env.pop("DATABASE_URL")
    result = run(["check"], env)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


# Issue 7 (runtime): what several processes share, and the production runtime settings.
def test_the_deploy_checks_want_a_shared_cache_and_a_broker():
    env = production_env()
    del env["CACHE_URL"], env["CELERY_BROKER_URL"]
    result = run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "grantflow.W001" in result.stderr + result.stdout
    assert "grantflow.W002" in result.stderr + result.stdout


RUNTIME_PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "cache": settings.CACHES["default"],
    "session": settings.SESSION_ENGINE,
    "conn": [settings.DATABASES["default"][k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")],
    "connect_timeout": settings.DATABASES["default"]["OPTIONS"]["connect_timeout"],
    "log_format": settings.LOGGING["handlers"]["console"]["formatter"],
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
    "default": settings.STORAGES["default"]["BACKEND"],
    "private": settings.STORAGES["private"]["BACKEND"],
}))
"""


def test_production_runtime_settings():
    result = run(["shell", "-c", RUNTIME_PROBE], production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "cache": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://cache.example.org:6379/1",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            "KEY_PREFIX": "grantflow",
        },
        "session": "django.contrib.sessions.backends.db",
        "conn": [60, True],
        "connect_timeout": 3,
        "log_format": "json",
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "default": "django.core.files.storage.FileSystemStorage",
        "private": "django.core.files.storage.FileSystemStorage",
    }


S3_PROBE = """
import json
from moto import mock_aws
with mock_aws():
    import boto3
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="grantflow-media")
    public, private = storages["default"], storages["private"]
    public_name = public.save("images/logo.txt", ContentFile(b"logo"))
    private_name = private.save("proposals/budget.txt", ContentFile(b"secret budget"))
    s3 = boto3.client("s3", region_name="us-east-1")
    acl = s3.get_object_acl(Bucket="grantflow-media", Key="private/" + private_name)
    print(json.dumps({
        "keys": sorted(o["Key"] for o in s3.list_objects_v2(Bucket="grantflow-media")["Contents"]),
        "private_read": private.open(private_name).read().decode(),
        "public_url": public.url(public_name),
        "private_url": private.url(private_name),
        "private_grants": [g["Permission"] for g in acl["Grants"]],
        "private_public_grants": [g for g in acl["Grants"] if "URI" in g["Grantee"]],
    }))
"""


def test_media_on_s3_keeps_attachments_private():
    """Both storages on one (moto's in-memory) S3 bucket: public files get plain URLs,
    attachments only signed, short-lived ones and no grant to everyone."""
    env = production_env(
        AWS_STORAGE_BUCKET_NAME="grantflow-media",
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 — moto's fake credentials
    )
    result = run(["shell", "-c", S3_PROBE], env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["keys"] == ["media/images/logo.txt", "private/proposals/budget.txt"]
    assert values["private_read"] == "secret budget"
    assert "X-Amz-Signature=" not in values["public_url"]
    assert values["public_url"].endswith("/media/images/logo.txt")
    assert "X-Amz-Signature=" in values["private_url"]
    assert "X-Amz-Expires=300" in values["private_url"]
    assert values["private_grants"] == ["FULL_CONTROL"]
    assert values["private_public_grants"] == []


def test_the_local_stack_env_file_starts_production_settings():
    """`make prod-up` reads deploy/local.env.example: it must hold every variable the
    production settings require (a check run there fails at import otherwise)."""
    example = ROOT / "deploy" / "local.env.example"
    values = dict(
        line.split("=", 1)
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    )
    result = run(["check"], clean_env(**values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
