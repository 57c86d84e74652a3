"""Reads of proposals, always filtered by what the user may see (404 for the rest)."""

from django.db.models import Q

from accounts.roles import Role
from programs.permissions import managed_programs

from .enums import ApplicationState
from .models import Application, TeamMember

#: Roles that read every proposal, drafts included (auditors and integrity officers must be
#: able to trace anything).
READ_ALL_ROLES = (Role.AUDITOR, Role.INTEGRITY_OFFICER)


def team_application_ids(user):
    """Proposals ``user`` is on the team of, read once per user object.

    Fetching the ids first lets the database combine two index scans (PI, ids) instead of
    running a correlated subquery over every proposal.
    """
    cached = getattr(user, "_team_application_ids", None)
    if cached is None:
        cached = list(TeamMember.objects.filter(user=user).values_list("application_id", flat=True))
        user._team_application_ids = cached
    return cached


def visibility_q(user):
    """A Q that keeps only the proposals ``user`` may read; None means all of them.

    A draft that was never submitted is the applicant's own work: besides the PI and the
    team, only auditors and integrity officers can read it.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser or user.has_role(*READ_ALL_ROLES):
        return None
    q = Q(applicant=user)
    team_ids = team_application_ids(user)
    if team_ids:
        q |= Q(pk__in=team_ids)
    submitted = Q(number__isnull=False)
    if user.has_role(Role.PROGRAM_OFFICER):
        return q | submitted
    if user.has_role(Role.INSTITUTION_ADMIN) and user.institution_id:
        # The research office sees what its scientists have submitted, not their drafts.
        q |= Q(institution_id=user.institution_id) & submitted
    if user.has_role(Role.AGENCY_STAFF):
        q |= Q(call__program__in=managed_programs(user)) & submitted
    return q


def applications_visible_to(user, queryset=None):
    queryset = Application.objects.all() if queryset is None else queryset
    q = visibility_q(user)
    return queryset if q is None else queryset.filter(q)


def application_list(user):
    """The rows of a proposal table: everything a row shows, in a fixed number of queries."""
    return applications_visible_to(user).select_related("call__program", "applicant", "institution")


def formal_check_list(user):
    """Proposals past their institution in the programs ``user`` manages (officers: all).

    Past the institution means submitted, so this needs none of the draft rules of
    :func:`visibility_q` and stays a plain indexed filter.
    """
    return (
        Application.objects.filter(call__program__in=managed_programs(user))
        .exclude(state__in=[ApplicationState.DRAFT, ApplicationState.SUBMITTED])
        .select_related("call__program", "applicant", "institution")
    )


def application_detail(user, pk):
    """One proposal the user may read, or ``Application.DoesNotExist``."""
    return (
        application_list(user)
        .prefetch_related("team__user", "budget_lines", "attachments", "experts_to_avoid")
        .get(pk=pk)
    )
