"""Use cases for programs and calls: every write goes through here (views, API, admin)."""

from django.db import transaction

from .models import Call, Program
from .permissions import sync_delegation

PROGRAM_FIELDS = (
    "code",
    "name",
    "name_en",
    "category",
    "funding_mode",
    "agency",
    "rule_set",
    "default_scoring_scheme",
    "description",
)

CALL_FIELDS = (
    "title",
    "title_en",
    "guideline",
    "opens_at",
    "closes_at",
    "max_budget",
    "sum_kind",
    "lump_sum",
    "pure_theory",
    "one_proposal_per_pi",
    "reviewers_per_application",
    "min_international_reviewers",
    "max_assignments_per_reviewer",
    "scoring_scheme",
    "notice_days",
    "rule_set",
)


def _check_fields(fields, allowed):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")


@transaction.atomic
def program_create(**fields):
    """Create a program; a delegated agency's staff get to manage it (guardian)."""
    _check_fields(fields, PROGRAM_FIELDS)
    program = Program(**fields)
    program.full_clean()
    program.save()
    sync_delegation(program)
    return program


@transaction.atomic
def program_update(*, program, **fields):
    """Change a program; when the delegation moves, the permissions move with it."""
    _check_fields(fields, PROGRAM_FIELDS)
    program = Program.objects.select_for_update().get(pk=program.pk)
    previous_agency = program.agency
    for name, value in fields.items():
        setattr(program, name, value)
    program.full_clean()
    program.save()
    sync_delegation(program, previous_agency=previous_agency)
    return program


@transaction.atomic
def call_create(*, program, **fields):
    _check_fields(fields, CALL_FIELDS)
    call = Call(program=program, **fields)
    call.full_clean()
    call.save()
    return call


@transaction.atomic
def call_update(*, call, **fields):
    _check_fields(fields, CALL_FIELDS)
    call = Call.objects.select_for_update().get(pk=call.pk)
    for name, value in fields.items():
        setattr(call, name, value)
    call.full_clean()
    call.save()
    return call
