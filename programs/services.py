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


# --- delegations (issue 5) ---

DELEGATION_SCOPE = ("selection", "process_management", "evaluation", "supervision")


@transaction.atomic
def delegation_create(*, program, agency, starts_on, ends_on, created_by=None, **scope):
    """Delegate ``program`` to ``agency`` for a period (ends_on inclusive) and a scope.

    ``Program.agency`` stays "the delegate of today": set at once when the period has begun,
    else by the daily ``sync_delegations`` task on ``starts_on``.
    """
    from audit import chain

    from .models import Delegation
    from .permissions import refresh_delegate

    _check_fields(scope, DELEGATION_SCOPE)
    Program.objects.select_for_update().filter(pk=program.pk).first()
    delegation = Delegation(
        program=program,
        agency=agency,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=created_by,
        **scope,
    )
    delegation.full_clean()
    delegation.save()
    program.refresh_from_db()
    refresh_delegate(program)
    chain.record(
        "programs.delegation_create",
        program,
        actor=created_by,
        data={
            "delegation": delegation.pk,
            "agency": agency.name,
            "agency_id": agency.pk,
            "scope": delegation.scope,
            "starts_on": starts_on,
            "ends_on": ends_on,
        },
    )
    return delegation


@transaction.atomic
def delegation_end(*, delegation, ends_on, actor=None):
    """End a delegation early (the agency keeps the program up to ``ends_on`` inclusive)."""
    from audit import chain

    from .permissions import refresh_delegate

    if ends_on < delegation.starts_on:
        ends_on = delegation.starts_on
    delegation.ends_on = ends_on
    delegation.full_clean()
    delegation.save(update_fields=["ends_on"])
    program = Program.objects.get(pk=delegation.program_id)
    refresh_delegate(program)
    chain.record(
        "programs.delegation_end",
        program,
        actor=actor,
        data={"delegation": delegation.pk, "agency": delegation.agency.name, "ends_on": ends_on},
    )
    return delegation
