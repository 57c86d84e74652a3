"""docs/deploy.md lists every environment variable the settings and gunicorn read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
READS = re.compile(
    r"""\b(?:env(?:\.\w+)?|os\.environ\.get|os\.environ\.setdefault)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def variables():
    found = set()
    for path in ROOT.glob("**/*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "benchmarks"} or "migrations" in relative.parts:
            continue
        found |= set(READS.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_environment_variable_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs/deploy.md").read_text()))
    names = variables()
    assert {"DATABASE_URL", "CACHE_URL", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"} <= names
    assert names - documented == set()
