"""What other apps tell integrity without integrity importing them.

``integrity`` depends on ``accounts`` (and ``audit``) only, yet two of its pages read other
apps' rows: the list of in-flight objects touched by bars in force (the *affected* list) and
the institutional credit grade (outcomes of proposals and projects). Each app registers a
provider in its ``AppConfig.ready()``; integrity asks the registry.

- ``register_affected(AffectedKind(...))``: one kind of object (proposals, review
  assignments, awards) — a queryset of the rows touched by the barred subjects (given as
  subqueries of user ids and institution ids) and a ``describe(obj)`` that reads only what the
  queryset loaded (no query per row).
- ``register_credit_input(CreditInput(...))``: one input of the credit grade — a count per
  institution (or agency) as a subquery expression on ``OuterRef("pk")``, so the credit page
  sorts, filters and paginates in the database.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_affected = {}
_credit_inputs = {}


@dataclass
class AffectedRow:
    """One touched object as the affected list shows it."""

    obj: Any
    title: str
    url: str
    state: str
    context: str = ""
    #: user id → the person's part ("principal investigator", "reviewer", ...)
    people: dict = field(default_factory=dict)
    institution_ids: tuple = ()
    records: list = field(default_factory=list)


@dataclass(frozen=True)
class AffectedKind:
    code: str
    label: Any
    #: the Action whose bar touches these objects
    action: str
    #: ``queryset(viewer, users, institutions)``: rows ``viewer`` may see touched by the
    #: barred ``users``/``institutions`` (subqueries of ids)
    queryset: Callable
    #: ``describe(obj) → AffectedRow``, without queries
    describe: Callable
    #: ``search(queryset, text) → queryset`` (optional)
    search: Callable = None
    order: int = 100


@dataclass(frozen=True)
class CreditInput:
    code: str
    label: Any
    #: ``expression(kind, *, today, since) → Expression`` counting on ``OuterRef("pk")`` of an
    #: Institution (kind "institution") or Agency (kind "agency") queryset; None: not for kind
    expression: Callable
    kinds: tuple = ("institution",)
    help_text: Any = ""
    order: int = 100


def register_affected(kind):
    _affected[kind.code] = kind
    return kind


def affected_kinds():
    return sorted(_affected.values(), key=lambda k: (k.order, k.code))


def register_credit_input(credit_input):
    _credit_inputs[credit_input.code] = credit_input
    return credit_input


def credit_inputs(kind="institution"):
    return sorted(
        (i for i in _credit_inputs.values() if kind in i.kinds), key=lambda i: (i.order, i.code)
    )
