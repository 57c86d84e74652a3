"""What grants tells integrity (registered in ``GrantsConfig.ready``): the proposals and
awards touched by bars in force (the affected list) and the outcomes that count towards an
institution's credit grade (proposals rejected as ineligible, approvals revoked)."""

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import TransitionLog
from integrity.credit import SubqueryCount
from integrity.models import Action
from integrity.providers import (
    AffectedKind,
    AffectedRow,
    CreditInput,
    register_affected,
    register_credit_input,
)

from .enums import CLOSED_STATES, ApplicationState
from .models import Application, ProjectState, TeamMember
from .selectors import applications_visible_to

S = ApplicationState
#: Projects still to be paid or followed (money may still move to them).
OPEN_PROJECT_STATES = [
    ProjectState.CONTRACTING,
    ProjectState.ACTIVE,
    ProjectState.MIDTERM_REVIEW,
    ProjectState.FINAL_REVIEW,
]


def _search(queryset, text):
    return queryset.filter(
        Q(number__icontains=text)
        | Q(title__icontains=text)
        | Q(applicant__full_name__icontains=text)
        | Q(institution__name__icontains=text)
    )


def _proposals(viewer, users, institutions):
    """Proposals in progress (not closed, not yet awarded) whose PI, a team member or the
    institution is barred from applying."""
    touched = (
        Q(applicant_id__in=users)
        | Q(institution_id__in=institutions)
        | Q(pk__in=TeamMember.objects.filter(user_id__in=users).values("application_id"))
    )
    return (
        applications_visible_to(viewer)
        .exclude(state__in=[*CLOSED_STATES, S.AWARDED])
        .filter(touched)
        .select_related("call__program", "applicant", "institution")
        .prefetch_related("team")
        .order_by("-id")
    )


def _describe_proposal(application):
    people = {application.applicant_id: _("principal investigator")}
    for member in application.team.all():
        people.setdefault(member.user_id, _("team member"))
    return AffectedRow(
        obj=application,
        title=f"{application.number or _('(draft)')} {application.title}",
        url=reverse("grants:detail", args=[application.pk]),
        state=application.get_state_display(),
        context=f"{application.call.program.code} · {application.institution.name}",
        people=people,
        institution_ids=(application.institution_id,),
    )


def _awards(viewer, users, institutions):
    """Approved proposals awaiting award and awarded ones whose project is still open, whose
    PI or institution is barred from receiving funds."""
    return (
        applications_visible_to(viewer)
        .filter(Q(state=S.IN_NOTICE) | Q(state=S.AWARDED, project__state__in=OPEN_PROJECT_STATES))
        .filter(Q(applicant_id__in=users) | Q(institution_id__in=institutions))
        .select_related("call__program", "applicant", "institution", "project")
        .order_by("-id")
    )


def _describe_award(application):
    project = getattr(application, "project", None) if application.state == S.AWARDED else None
    state = application.get_state_display()
    if project is not None:
        state = f"{state} · {project.get_state_display()}"
    return AffectedRow(
        obj=application,
        title=f"{application.number} {application.title}",
        url=reverse("grants:detail", args=[application.pk]),
        state=state,
        context=f"{application.call.program.code} · {application.institution.name}",
        people={application.applicant_id: _("principal investigator")},
        institution_ids=(application.institution_id,),
    )


def _ineligible(kind, *, today, since):
    return SubqueryCount(
        Application.objects.filter(
            institution=OuterRef("pk"),
            state=S.INELIGIBLE,
            submitted_at__date__gte=since,
        )
        .order_by()
        .values("pk")
    )


def _revoked(kind, *, today, since):
    revoke = TransitionLog.objects.filter(
        content_type__app_label="grants",
        content_type__model="application",
        object_id=OuterRef("pk"),
        transition="revoke",
    )
    return SubqueryCount(
        Application.objects.filter(
            Exists(revoke), institution=OuterRef("pk"), submitted_at__date__gte=since
        )
        .order_by()
        .values("pk")
    )


def register():
    register_affected(
        AffectedKind(
            code="proposals",
            label=gettext_lazy("Proposals in progress (barred from applying)"),
            action=Action.APPLY,
            queryset=_proposals,
            describe=_describe_proposal,
            search=_search,
            order=10,
        )
    )
    register_affected(
        AffectedKind(
            code="awards",
            label=gettext_lazy("Approvals and awarded projects (barred from receiving funds)"),
            action=Action.RECEIVE_FUNDS,
            queryset=_awards,
            describe=_describe_award,
            search=_search,
            order=30,
        )
    )
    register_credit_input(
        CreditInput(
            code="ineligible",
            label=gettext_lazy("proposals rejected as ineligible in the look-back period"),
            expression=_ineligible,
            order=50,
        )
    )
    register_credit_input(
        CreditInput(
            code="revoked",
            label=gettext_lazy("approvals revoked after an upheld objection"),
            expression=_revoked,
            order=60,
        )
    )
