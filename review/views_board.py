"""The officer's review board per call: progress, every review, spread and divergence, the
ranking with its funding line, closing the review, approve/reject (one or many), officers'
flags on reviews; and the PI's rating of reviews after the decision.

Officers and agency staff of delegated programs only; anyone else gets 404. Reviewers are
named to program officers only (agency staff read "Reviewer 1, 2, …").
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Role
from audit.workflow import WorkflowError
from grants.enums import ApplicationState
from grants.models import Application, ObjectionState
from grants.notice import objections_for_application
from programs.models import Call
from programs.permissions import can_manage_program, managed_programs

from . import decisions
from .models import AssignmentState, Review, ReviewAssignment
from .ranking import call_ranking
from .scoring import scheme_for_call

S = ApplicationState
A = AssignmentState

#: Calls listed on the boards index: something to rank, decide or award.
BOARD_STATES = [S.UNDER_REVIEW, S.REVIEWED, S.IN_NOTICE]


def _managed_call(request, call_pk):
    call = get_object_or_404(Call.objects.select_related("program"), pk=call_pk)
    if not can_manage_program(request.user, call.program_id):
        raise Http404(_("No such call."))
    return call


def shows_reviewer_names(user):
    return user.is_superuser or user.has_role(Role.PROGRAM_OFFICER)


def boards_for(user):
    """Calls of the programs ``user`` manages with proposals under review or in notice."""
    return (
        Call.objects.filter(
            program__in=managed_programs(user), applications__state__in=BOARD_STATES
        )
        .select_related("program")
        .annotate(
            under_review=Count("applications", filter=Q(applications__state=S.UNDER_REVIEW)),
            reviewed=Count("applications", filter=Q(applications__state=S.REVIEWED)),
            in_notice=Count("applications", filter=Q(applications__state=S.IN_NOTICE)),
        )
        .order_by("-opens_at", "id")
    )


@login_required
def board_index(request):
    if not (
        request.user.is_superuser or request.user.has_role(Role.PROGRAM_OFFICER, Role.AGENCY_STAFF)
    ):
        raise Http404(_("No such page."))  # fmt: skip
    return render(request, "review/board_index.html", {"calls": boards_for(request.user)})


class FlagForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Flag"),
        choices=[("", gettext_lazy("— none —")), *decisions.FLAG_KINDS.items()],
        required=False,
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=250, required=False)


def board_context(call, user, *, results=None, posted=None):
    """Everything the board shows, in a fixed number of queries."""
    scheme = scheme_for_call(call)
    ranking = call_ranking(call, scheme=scheme)
    ids = [row.pk for row in ranking]
    progress = {}
    for application_id, state, n in (
        ReviewAssignment.objects.filter(application_id__in=ids)
        .order_by()
        .values_list("application_id", "state")
        .annotate(n=Count("id"))
    ):
        progress.setdefault(application_id, {})[state] = n
    reviews = {}
    submitted = (
        Review.objects.filter(
            assignment__application_id__in=ids,
            assignment__state=A.SUBMITTED,
            submitted_at__isnull=False,
        )
        .select_related("assignment__reviewer")
        .order_by("assignment__application_id", "submitted_at", "pk")
    )
    names = shows_reviewer_names(user)
    for review in submitted:
        own = reviews.setdefault(review.assignment.application_id, [])
        review.reviewer_label = (
            review.assignment.reviewer.display_name
            if names
            else _("Reviewer %(n)d") % {"n": len(own) + 1}
        )
        review.flag_kind = decisions.flag_kind(review)
        review.recommendation_label = scheme.recommendation_label(review.recommendation)
        review.score_items = [
            (c.label(), (review.scores or {}).get(c.code, "—")) for c in scheme.criteria
        ]
        own.append(review)
    results = {r.application.pk: r for r in (results or [])}
    for row in ranking:
        counts = progress.get(row.pk, {})
        row.invited = sum(counts.values())  # every invitation ever sent
        row.accepted = counts.get(A.ACCEPTED, 0) + counts.get(A.SUBMITTED, 0)
        row.submitted = counts.get(A.SUBMITTED, 0)
        row.review_list = reviews.get(row.pk, [])
        row.result = results.get(row.pk)
        row.reason = (posted or {}).get(row.pk, "")
    decided = list(
        Application.objects.filter(call=call, state=S.IN_NOTICE)
        .select_related("applicant")
        .order_by("number")
    )
    objections = objections_for_application([a.pk for a in decided])
    for application in decided:
        application.objection_list = objections.get(application.pk, [])
        application.upheld = any(
            o.state == ObjectionState.UPHELD for o in application.objection_list
        )
        application.open_objections = sum(
            1 for o in application.objection_list if o.state == ObjectionState.OPEN
        )
    return {
        "call": call,
        "scheme": scheme,
        "ranking": ranking,
        "in_notice": decided,
        "show_names": names,
        "flag_kinds": list(decisions.FLAG_KINDS.items()),
        "steps": board_steps(),
        "divergent_count": sum(1 for row in ranking if row.divergent),
    }


@login_required
def board(request, call_pk):
    call = _managed_call(request, call_pk)
    return render(request, "review/board.html", board_context(call, request.user))


@login_required
@require_POST
def board_decide(request, call_pk):
    """Close review / approve / reject for the selected rows; each row on its own."""
    call = _managed_call(request, call_pk)
    step = request.POST.get("step", "")
    if step not in decisions.BOARD_STEPS:
        messages.error(request, _("Choose a step."))
        return redirect("review:board", call_pk=call.pk)
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
    if not ids:
        messages.error(request, _("Select at least one proposal."))
        return redirect("review:board", call_pk=call.pk)
    applications = list(
        Application.objects.filter(call=call, pk__in=ids)
        .select_related("call__program")
        .order_by("number")
    )
    if len(applications) != len(set(ids)):
        raise Http404(_("No such proposal."))
    reasons = {a.pk: request.POST.get(f"reason-{a.pk}", "") for a in applications}
    results = decisions.board_bulk(
        applications=applications,
        name=step,
        user=request.user,
        comments=reasons,
        comment=request.POST.get("comment", ""),
    )
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    if done:
        messages.success(
            request,
            _("%(step)s: done for %(numbers)s.")
            % {
                "step": dict(board_steps())[step],
                "numbers": ", ".join(r.application.number for r in done),
            },
        )
    if not failed:
        return redirect("review:board", call_pk=call.pk)
    messages.error(
        request,
        _("Not done for %(n)d proposals; see the reasons in their rows.") % {"n": len(failed)},
    )
    context = board_context(
        call,
        request.user,
        results=failed,
        posted={r.application.pk: reasons.get(r.application.pk, "") for r in failed},
    )
    context["selected"] = {r.application.pk for r in failed}
    context["posted_step"] = step
    context["posted_comment"] = request.POST.get("comment", "")
    return render(request, "review/board.html", context, status=400)


def board_steps():
    return [
        ("close_review", _("Close review")),
        ("approve", _("Approve")),
        ("reject", _("Reject")),
    ]


@login_required
@require_POST
def review_flag(request, review_pk):
    review = get_object_or_404(
        Review.objects.select_related("assignment__application__call"), pk=review_pk
    )
    call = review.assignment.application.call
    if not can_manage_program(request.user, call.program_id) or review.submitted_at is None:
        raise Http404(_("No such review."))
    form = FlagForm(request.POST)
    if form.is_valid():
        decisions.review_flag(
            review=review,
            user=request.user,
            kind=form.cleaned_data["kind"],
            note=form.cleaned_data["note"],
        )
        messages.success(request, _("Flag saved."))
    else:
        messages.error(request, _("Choose error, bias or lateness."))
    url = reverse("review:board", kwargs={"call_pk": call.pk})
    return redirect(f"{url}#application-{review.assignment.application_id}")


# --- the PI rates the reviews ---------------------------------------------------------------


@login_required
@require_POST
def review_rate(request, review_pk):
    review = (
        Review.objects.select_related("assignment__application")
        .filter(pk=review_pk, assignment__application__applicant_id=request.user.pk)
        .first()
    )
    if review is None:
        raise Http404(_("No such review."))
    application = review.assignment.application
    try:
        decisions.review_rate(review=review, user=request.user, rating=request.POST.get("rating"))
    except PermissionDenied:
        raise Http404(_("No such review.")) from None
    except (WorkflowError, ValidationError) as exc:
        for message in decisions._messages(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("Thank you: your rating is recorded."))
    return redirect(reverse("grants:detail", args=[application.pk]) + "#reviews-h")
