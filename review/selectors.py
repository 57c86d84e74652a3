"""Reads of review assignments and reviews, filtered by who may read them (404 for the rest).

A reviewer reads only their own assignments, the proposal of each (not its applicant's
identity when the call is anonymous) and their own review; never another reviewer's
identity or review. Officers read those of the programs they manage; auditors everything.
"""

from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.roles import Role
from programs.permissions import managed_programs

from .models import AssignmentState, Review, ReviewAssignment

A = AssignmentState
#: Assignments whose proposal the reviewer may read in full (attachments included).
READING_STATES = [A.ACCEPTED, A.SUBMITTED]
#: Assignments whose proposal the reviewer may see at all (title and abstract to decide).
SHOWING_STATES = [A.INVITED, A.ACCEPTED, A.SUBMITTED]


def _reads_all(user):
    return user.is_superuser or user.has_role(Role.AUDITOR)


def _manages_any(user):
    return user.has_role(Role.PROGRAM_OFFICER, Role.AGENCY_STAFF)


# --- the reviewer's own ---------------------------------------------------------------------


def reviewer_assignments(user):
    """The reviewer's own assignments, with what a row shows (fixed number of queries)."""
    return (
        ReviewAssignment.objects.filter(reviewer_id=user.pk)
        .select_related("application__call__program", "review")
        .order_by("-invited_at", "-id")
    )


def reviewer_assignment(user, pk):
    """One of the reviewer's own assignments, or ``ReviewAssignment.DoesNotExist``."""
    return (
        ReviewAssignment.objects.filter(reviewer_id=user.pk)
        .select_related(
            "application__call__program",
            "application__applicant",
            "application__institution",
            "reviewer",
        )
        .get(pk=pk)
    )


def assignment_by_token(user, token):
    """The invitation behind a mailed link, for the reviewer it was sent to only."""
    return reviewer_assignment(user, ReviewAssignment.objects.values("pk").get(token=token)["pk"])


def review_of(assignment):
    """The assignment's review, or None (drafts are the reviewer's alone)."""
    return Review.objects.filter(assignment=assignment).first()


def reviewer_dashboard(user):
    """Counts for the reviewer's dashboard section (two queries)."""
    counts = ReviewAssignment.objects.filter(reviewer_id=user.pk).aggregate(
        invited=Count("id", filter=Q(state=A.INVITED)),
        due=Count("id", filter=Q(state=A.ACCEPTED)),
        submitted=Count("id", filter=Q(state=A.SUBMITTED)),
        next_respond_by=Min("respond_by", filter=Q(state=A.INVITED)),
    )
    counts["next_deadline"] = (
        ReviewAssignment.objects.filter(
            reviewer_id=user.pk,
            state=A.ACCEPTED,
            application__call__review_deadline__gte=timezone.localdate(),
        )
        .aggregate(d=Min("application__call__review_deadline"))
        .get("d")
    )
    return counts


# --- the API: own assignments, or those of managed programs --------------------------------


def assignments_visible_to(user):
    """Assignments ``user`` may read: own; of managed programs (officers, agency staff); all
    for auditors."""
    queryset = ReviewAssignment.objects.all()
    if not user.is_authenticated:
        return queryset.none()
    if _reads_all(user):
        return queryset
    q = Q(reviewer_id=user.pk)
    if _manages_any(user):
        q |= Q(application__call__program__in=managed_programs(user))
    return queryset.filter(q)


def assignment_list(user):
    return assignments_visible_to(user).select_related(
        "application__call__program", "application__applicant", "reviewer", "review"
    )


def reviews_visible_to(user):
    """Reviews ``user`` may read: own (drafts too); submitted ones of managed programs."""
    queryset = Review.objects.all()
    if not user.is_authenticated:
        return queryset.none()
    own = Q(assignment__reviewer_id=user.pk)
    if _reads_all(user):
        return queryset.filter(own | Q(submitted_at__isnull=False))
    if _manages_any(user):
        return queryset.filter(
            own
            | Q(
                submitted_at__isnull=False,
                assignment__application__call__program__in=managed_programs(user),
            )
        )
    return queryset.filter(own)


def review_list(user):
    return reviews_visible_to(user).select_related(
        "assignment__application__call__program", "assignment__reviewer"
    )
