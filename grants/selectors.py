"""Reads of proposals, always filtered by what the user may see (404 for the rest)."""

from django.db.models import Exists, OuterRef, Q

from accounts.roles import Role
from programs.permissions import managed_programs

from .models import Application, TeamMember

#: Roles that read every proposal.
READ_ALL_ROLES = (Role.PROGRAM_OFFICER, Role.AUDITOR, Role.INTEGRITY_OFFICER)


def visibility_q(user):
    """A Q that keeps only the proposals ``user`` may read; None means all of them."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser or user.has_role(*READ_ALL_ROLES):
        return None
    q = Q(applicant=user) | Q(
        Exists(TeamMember.objects.filter(application=OuterRef("pk"), user=user))
    )
    if user.has_role(Role.INSTITUTION_ADMIN) and user.institution_id:
        # The research office sees what its scientists have submitted, not their drafts.
        q |= Q(institution_id=user.institution_id, number__isnull=False)
    if user.has_role(Role.AGENCY_STAFF):
        q |= Q(call__program__in=managed_programs(user))
    return q


def applications_visible_to(user, queryset=None):
    queryset = Application.objects.all() if queryset is None else queryset
    q = visibility_q(user)
    return queryset if q is None else queryset.filter(q)


def application_list(user):
    """The rows of a proposal table: everything a row shows, in a fixed number of queries."""
    return applications_visible_to(user).select_related(
        "call__program", "applicant", "institution"
    )


def application_detail(user, pk):
    """One proposal the user may read, or ``Application.DoesNotExist``."""
    return (
        application_list(user)
        .prefetch_related("team__user", "budget_lines", "attachments", "experts_to_avoid")
        .get(pk=pk)
    )
