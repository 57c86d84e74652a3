"""Grants that follow from delegation: an agency's staff manage its programs (guardian)."""

from django.contrib.auth.models import Group
from guardian.shortcuts import (
    assign_perm,
    get_groups_with_perms,
    get_objects_for_user,
    remove_perm,
)

from accounts.roles import Role

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

from integrity.services import manage_barred  # noqa: E402  (appended section)
