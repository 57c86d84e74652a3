"""Reference data shipped in the repository's ``data/`` folder (from the funder's shared set)."""

import json
from functools import cache

from django.conf import settings

DATA_DIR = settings.BASE_DIR / "data"


@cache
def load(name):
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


def disciplines():
    """Top-level discipline areas as (code, Chinese name, English name)."""
    return tuple((a["code"], a["zh"], a["en"]) for a in load("disciplines.json")["areas"])
