"""What review tells integrity (registered in ``ReviewConfig.ready``): the review assignments
still open (invited or accepted) whose reviewer is barred from reviewing."""

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from integrity.models import Action
from integrity.providers import AffectedKind, AffectedRow, register_affected

from .models import AssignmentState, ReviewAssignment
from .selectors import assignments_visible_to

OPEN_STATES = [AssignmentState.INVITED, AssignmentState.ACCEPTED]


def _assignments(viewer, users, institutions):
    if viewer.is_superuser or viewer.has_role(Role.INTEGRITY_OFFICER):
        queryset = ReviewAssignment.objects.all()
    else:
        queryset = assignments_visible_to(viewer)
    return (
        queryset.filter(state__in=OPEN_STATES, reviewer_id__in=users)
        .select_related("application__call__program", "reviewer")
        .order_by("-id")
    )


def _describe(assignment):
    application = assignment.application
    return AffectedRow(
        obj=assignment,
        title=_("%(number)s %(title)s — reviewer %(reviewer)s")
        % {
            "number": application.number or "",
            "title": application.title,
            "reviewer": assignment.reviewer.display_name,
        },
        url=reverse("review:staffing", args=[application.call_id]),
        state=assignment.get_state_display(),
        context=f"{application.call.program.code} · {application.call.title}",
        people={assignment.reviewer_id: _("reviewer")},
    )


def _search(queryset, text):
    return queryset.filter(
        Q(application__number__icontains=text)
        | Q(application__title__icontains=text)
        | Q(reviewer__full_name__icontains=text)
        | Q(reviewer__username__icontains=text)
    )


def register():
    register_affected(
        AffectedKind(
            code="reviews",
            label=gettext_lazy("Review assignments (barred from reviewing)"),
            action=Action.REVIEW,
            queryset=_assignments,
            describe=_describe,
            search=_search,
            order=20,
        )
    )
