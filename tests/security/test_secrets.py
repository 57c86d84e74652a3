"""Production takes its secrets from the environment only, and refuses to start without
them; ruff's security rules are on and not silenced wholesale."""

import re
from pathlib import Path

from tests.test_settings import production_env, run

ROOT = Path(__file__).resolve().parents[2]


def test_production_refuses_to_start_without_the_id_hash_key():
    env = production_env()
    del env["GRANTFLOW_ID_HASH_KEY"]
    result = run(["check"], env)
    assert result.returncode != 0
    assert "GRANTFLOW_ID_HASH_KEY" in result.stderr


def test_production_refuses_the_development_key():
    env = production_env()
    env["DJANGO_SECRET_KEY"] = "dev-only-insecure-key-change-me"
    result = run(["check"], env)
    assert result.returncode != 0
    assert "development default" in result.stderr


def test_production_requires_two_factor_for_staff():
    result = run(
        [
            "shell",
            "-c",
            "from django.conf import settings; print(settings.GRANTFLOW_REQUIRE_STAFF_2FA)",
        ],
        {**production_env(), "GRANTFLOW_REQUIRE_STAFF_2FA": "false"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_no_blanket_noqa_hides_the_security_rules():
    """Every suppression comment names its rules (a bare one would silence S too) and no
    file turns the S rules off as a whole."""
    marker = "no" + "qa"  # spelled apart so that this test does not find itself
    bare = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in (".venv", "node_modules") or "migrations" in parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(rf"#\s*{marker}(?!:)", line) or f"ruff: {marker}" in line:
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []
    config = (ROOT / "pyproject.toml").read_text()
    assert '"S"' in config.split("[tool.ruff.lint]")[1].split("\n\n")[0]
