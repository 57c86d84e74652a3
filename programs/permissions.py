"""Grants that follow from delegation: an agency's staff manage its programs (guardian)."""

from django.contrib.auth.models import Group
from guardian.shortcuts import (
    assign_perm,
    get_groups_with_perms,
    get_objects_for_user,
    remove_perm,
)

from accounts.roles import Role
from integrity.services import manage_barred

from .models import Program

MANAGE = "programs.manage_program"
#: Names of the guardian groups that hold an agency's object permissions.
AGENCY_GROUP_PREFIX = "agency:"


def agency_group(agency):
    """The guardian group that holds an agency's object permissions."""
    if agency.group_id is None:
        agency.group, _ = Group.objects.get_or_create(name=f"{AGENCY_GROUP_PREFIX}{agency.pk}")
        agency.save(update_fields=["group"])
    return agency.group


def sync_delegation(program, previous_agency=None):
    """Give the program's agency (and only it) the right to manage the program.

    Every other agency loses the right, whether or not ``previous_agency`` names it.
    """
    current = agency_group(program.agency) if program.agency is not None else None
    holders = set(get_groups_with_perms(program, only_with_perms_in=["manage_program"]))
    if previous_agency is not None:
        holders.add(agency_group(previous_agency))
    for group in holders:
        if group != current and group.name.startswith(AGENCY_GROUP_PREFIX):
            remove_perm(MANAGE, group, program)
    if current is not None:
        assign_perm(MANAGE, current, program)


def agency_groups_to_leave(user, agency=None):
    """The agency groups ``user`` is in other than ``agency``'s."""
    keep = agency.group_id if agency is not None else None
    return [g for g in user.groups.filter(name__startswith=AGENCY_GROUP_PREFIX) if g.pk != keep]


def add_agency_staff(user, agency):
    """Make ``user`` staff of ``agency`` (only): a move leaves the old agency's programs."""
    user.agency = agency
    user.save(update_fields=["agency"])
    group = agency_group(agency)
    stale = agency_groups_to_leave(user, agency)
    if stale:
        user.groups.remove(*stale)
    user.groups.add(group, Group.objects.get_or_create(name=Role.AGENCY_STAFF)[0])
    user.__dict__.pop("role_names", None)
    user.__dict__.pop("_managed_program_ids", None)


def managed_programs(user):
    """Programs ``user`` may manage: all for officers, delegated ones for agency staff."""
    if not user.is_authenticated:
        return Program.objects.none()
    if user.is_superuser or user.has_role(Role.PROGRAM_OFFICER):
        return Program.objects.all()
    if user.has_role(Role.AGENCY_STAFF):
        if manage_barred(user):  # an integrity bar on managing: no program at all
            return Program.objects.none()
        return get_objects_for_user(
            user,
            MANAGE,
            klass=Program,
            use_groups=True,
            with_superuser=False,
            accept_global_perms=False,
        )
    return Program.objects.none()


def managed_program_ids(user):
    """Ids of the programs an agency staff member manages, read once per user object."""
    cached = getattr(user, "_managed_program_ids", None)
    if cached is None:
        cached = frozenset(managed_programs(user).values_list("pk", flat=True))
        user._managed_program_ids = cached
    return cached


def can_manage_program(user, program_or_id):
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.has_role(Role.PROGRAM_OFFICER):
        return True
    if not user.has_role(Role.AGENCY_STAFF):
        return False
    program_id = getattr(program_or_id, "pk", program_or_id)
    return program_id in managed_program_ids(user)


# --- credit and gates ---
#
# Agency staff are subject to the integrity rules: a record barring ``manage`` takes every
# program away from them (lists, pages, API, workflow steps all read ``managed_programs`` or
# ``can_manage_program``). The answer is read once per user object, so once per request.


# --- delegations (issue 5) ---
#
# ``Delegation`` rows give the period of a delegation (ends_on inclusive). An agency's staff
# manage a program only while a delegation of it to their agency is in force; a program that
# was delegated through ``Program.agency`` alone (no Delegation row for that agency) keeps the
# guardian rule. The answer stays one query (``managed_program_ids`` caches it on the user);
# a daily task (``sync_delegations``) also moves ``Program.agency`` and the guardian
# permissions when delegations start and end.

_managed_programs_by_permission = managed_programs


def managed_programs(user):  # noqa: F811  (the delegation period on top of the permission)
    from django.db.models import Exists, OuterRef, Q
    from django.utils import timezone

    from .models import Delegation

    programs = _managed_programs_by_permission(user)
    if not user.is_authenticated or user.is_superuser or user.has_role(Role.PROGRAM_OFFICER):
        return programs
    agency_id = getattr(user, "agency_id", None)
    own = Delegation.objects.filter(program=OuterRef("pk"), agency_id=agency_id)
    return programs.filter(Q(~Exists(own)) | Q(Exists(own.in_force(timezone.localdate()))))


def delegate_on(program, on=None):
    """The agency of the delegation of ``program`` in force on ``on`` (None: none)."""
    from .models import Delegation

    delegation = (
        Delegation.objects.in_force(on).filter(program=program).select_related("agency").first()
    )
    return delegation.agency if delegation else None


def refresh_delegate(program, on=None):
    """Set ``program.agency`` to today's delegate (when it has delegations) and move the
    guardian permissions; True when something changed."""
    if not program.delegations.exists():
        return False
    previous = program.agency
    current = delegate_on(program, on)
    if (previous.pk if previous else None) == (current.pk if current else None):
        sync_delegation(program)
        return False
    Program.objects.filter(pk=program.pk).update(agency=current)
    program.agency = current
    sync_delegation(program, previous_agency=previous)
    return True


def sync_delegations(on=None):
    """Daily: every delegated program's current delegate and permissions (ended
    delegations lose their guardian permissions). Returns how many programs changed."""
    programs = Program.objects.filter(delegations__isnull=False).distinct().select_related("agency")
    return sum(refresh_delegate(program, on) for program in programs)
