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
SETTINGS_ENV = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def clean_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS_ENV and not k.startswith(("DJANGO_", "GRANTFLOW_"))
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
