"""What finance tells integrity (registered in ``FinanceConfig.ready``): the instalments
held because the PI or the institution is barred from receiving funds."""

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrity.models import Action
from integrity.providers import AffectedKind, AffectedRow, register_affected

from .models.money import Disbursement, DisbursementState


def _held(viewer, users, institutions):
    from .projects import projects_visible_to

    return (
        Disbursement.objects.filter(
            state__in=[DisbursementState.HELD, DisbursementState.SCHEDULED],
            project__in=projects_visible_to(viewer),
        )
        .filter(
            Q(project__application__applicant_id__in=users)
            | Q(project__application__institution_id__in=institutions)
        )
        .select_related("project__application__call__program", "project__application__institution")
        .order_by("-id")
    )


def _describe(d):
    application = d.project.application
    state = d.get_state_display()
    if d.hold_reason:
        state = f"{state} · {d.hold_reason}"
    return AffectedRow(
        obj=d,
        title=_("%(number)s instalment %(seq)s: %(amount)s")
        % {"number": d.project.number, "seq": d.seq, "amount": d.amount},
        url=reverse("finance:ledger", args=[d.project_id]),
        state=state,
        context=f"{application.call.program.code} · {application.institution.name}",
        people={application.applicant_id: _("principal investigator")},
        institution_ids=(application.institution_id,),
    )


def _search(queryset, text):
    return queryset.filter(
        Q(project__number__icontains=text) | Q(project__application__title__icontains=text)
    )


def register():
    register_affected(
        AffectedKind(
            code="payments",
            label=gettext_lazy("Payments held or due (barred from receiving funds)"),
            action=Action.RECEIVE_FUNDS,
            queryset=_held,
            describe=_describe,
            search=_search,
            order=40,
        )
    )
