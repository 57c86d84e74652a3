"""The reviewer's pages: invitations and assignments, the assigned proposal, the review form,
answers (accept, decline, declare a conflict), the integrity pledge and the review PDF.

Every read goes through ``review.selectors`` filtered on the signed-in reviewer: another
reviewer's assignment, an attachment of a proposal not assigned, a review not one's own
all answer 404. Every change goes through ``review.services``.
"""

from decimal import Decimal

import django_tables2 as tables
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.selectors import timeline
from audit.workflow import WorkflowError
from config.tables import configure as configure_table
from config.uploads import protect_download
from grants.enums import BudgetCategory
from programs.models import Call

from . import scoring, selectors, services
from .forms import AssignmentFilter, ConflictForm, DeclineForm, PledgeForm, ReviewForm
from .models import AssignmentState, ReviewAssignment

A = AssignmentState
PER_PAGE = 25


def _assignment(request, pk):
    try:
        return selectors.reviewer_assignment(request.user, pk)
    except ReviewAssignment.DoesNotExist:
        raise Http404(_("No such assignment.")) from None


def _by_token(request, token):
    try:
        return selectors.assignment_by_token(request.user, token)
    except ReviewAssignment.DoesNotExist:
        # Also when the link was sent to someone else: the invitation is not theirs to see.
        raise Http404(_("No such invitation.")) from None


def proposal_view(application, language=None):
    """What a reviewer reads of the proposal, in ``language`` where the proposal has it."""
    language = language or get_language()
    english = scoring.english(language)
    keywords = (
        application.keywords_en if english and application.keywords_en else application.keywords
    )
    view = {
        "title": services.localized(application, "title", language),
        "abstract": services.localized(application, "abstract", language),
        "keywords": keywords or [],
        "other_title": application.title if english and application.title_en else "",
        "call_title": services.localized(application.call, "title", language),
        "program_name": services.localized(application.call.program, "name", language),
        "anonymous": application.call.anonymous_review,
    }
    if not view["anonymous"]:
        # Shown only when the call is not anonymous: the template never sees them otherwise.
        view["pi"] = application.applicant.display_name
        view["institution"] = services.localized(application.institution, "name", language)
    return view


# --- lists ----------------------------------------------------------------------------------


class AssignmentTable(tables.Table):
    proposal = tables.Column(
        verbose_name=gettext_lazy("Proposal"),
        accessor="application__number",
        order_by=("application__number", "id"),
        empty_values=(),
    )
    call = tables.Column(
        verbose_name=gettext_lazy("Call"),
        accessor="application__call__title",
        order_by=("application__call__title",),
    )
    state = tables.Column(verbose_name=gettext_lazy("State"))
    respond_by = tables.DateColumn(verbose_name=gettext_lazy("Respond by"), format="Y-m-d")
    deadline = tables.DateColumn(
        verbose_name=gettext_lazy("Review due"),
        accessor="application__call__review_deadline",
        order_by=("application__call__review_deadline",),
        format="Y-m-d",
    )
    review = tables.Column(
        verbose_name=gettext_lazy("Your review"), empty_values=(), orderable=False
    )

    class Meta:
        model = ReviewAssignment
        fields = ()
        sequence = ("proposal", "call", "state", "respond_by", "deadline", "review")
        order_by = ("-respond_by",)
        empty_text = gettext_lazy("You have no review invitations.")
        attrs = {"class": "data-table"}

    def render_proposal(self, record):
        return format_html(
            '<a href="{}"><span class="nowrap">{}</span> {}</a>',
            reverse("review:assignment", args=[record.pk]),
            record.application.number or "",
            services.localized(record.application, "title"),
        )

    def render_call(self, record):
        return services.localized(record.application.call, "title")

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>', record.state, record.get_state_display()
        )

    def render_review(self, record):
        try:
            review = record.review  # loaded with the row (select_related)
        except ReviewAssignment.review.RelatedObjectDoesNotExist:
            return "—"
        return _("Submitted") if review.is_locked else _("Draft saved")


@login_required
def assignment_list(request):
    queryset = selectors.reviewer_assignments(request.user)
    filterset = AssignmentFilter(request.GET or None, queryset=queryset, request=request)
    table = AssignmentTable(filterset.qs)
    configure_table(request, table, PER_PAGE)
    return render(request, "review/assignment_list.html", {"filter": filterset, "table": table})


# --- the assignment -------------------------------------------------------------------------


def _budget(application):
    order = {c: i for i, c in enumerate(BudgetCategory.values)}
    lines = sorted(application.budget_lines.all(), key=lambda line: order.get(line.category, 99))
    return lines, sum((line.amount for line in lines), Decimal(0))


def _review_display(review, scheme, language=None):
    """A stored review as rows the page and the PDF show."""
    if review is None:
        return None
    scores = review.scores or {}
    return {
        "review": review,
        "rows": [
            {
                "criterion": c,
                "label": c.label(language),
                "value": c.display(scores.get(c.code)) or "—",
                "weight": scoring.plain(c.weight),
            }
            for c in scheme.criteria
        ],
        "total": scoring.plain(review.total) if review.total is not None else "",
        "recommendation": scheme.recommendation_label(review.recommendation, language),
        "result": services.review_result(review, scheme),
    }


def _detail_context(request, assignment, **extra):
    application = assignment.application
    call = application.call
    language = get_language()
    scheme = scoring.scheme_for_call(call)
    review = selectors.review_of(assignment)
    shows = assignment.state in selectors.SHOWING_STATES
    reads = assignment.state in selectors.READING_STATES
    context = {
        "assignment": assignment,
        "application": application,
        "call": call,
        "shows": shows,
        "reads": reads,
        "proposal": proposal_view(application, language) if shows else None,
        "pledged": services.has_pledge(request.user, call),
        "scheme": scheme,
        "scheme_name": scheme.name(language),
        "review": _review_display(review, scheme, language),
        "entries": timeline(assignment),
        "decline_form": DeclineForm(prefix="decline"),
        "conflict_form": ConflictForm(prefix="conflict"),
        "pledge_form": PledgeForm(prefix="pledge"),
    }
    if reads:
        context["attachments"] = list(application.attachments.all())
        context["budget_lines"], context["budget_total"] = _budget(application)
        if not call.anonymous_review:
            context["team"] = list(application.team.select_related("user__institution"))
    context.update(extra)
    return context


@login_required
def assignment_detail(request, pk):
    assignment = _assignment(request, pk)
    return render(request, "review/assignment_detail.html", _detail_context(request, assignment))


@login_required
def attachment_download(request, pk, attachment_pk):
    assignment = _assignment(request, pk)
    if assignment.state not in selectors.READING_STATES:
        raise Http404(_("No such attachment."))
    attachment = get_object_or_404(assignment.application.attachments.all(), pk=attachment_pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing.")) from None
    filename = attachment.original_name or f"{attachment.pk}.pdf"
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/pdf"
    )
    return protect_download(response)


# --- answers --------------------------------------------------------------------------------


def _refused(request, assignment, exc, template="review/assignment_detail.html", **extra):
    if isinstance(exc, WorkflowError):
        messages.error(request, exc.detail)
        status = 409
    else:
        for line in exc.messages:
            messages.error(request, line)
        status = 400
    return render(request, template, _detail_context(request, assignment, **extra), status=status)


def _accept(request, assignment, pledge_form):
    """Sign the pledge when the form asks for it, then accept. Returns an error or None."""
    call = assignment.application.call
    if not services.has_pledge(request.user, call):
        if not pledge_form.is_valid():
            return ValidationError(pledge_form.errors.get("agree") or _("Sign the pledge first."))
        services.pledge_sign(reviewer=request.user, call=call)
    services.assignment_accept(assignment=assignment, user=request.user)
    return None


@login_required
@require_POST
def assignment_step(request, pk, name):
    assignment = _assignment(request, pk)
    try:
        if name == "accept":
            pledge_form = PledgeForm(request.POST, prefix="pledge")
            error = _accept(request, assignment, pledge_form)
            if error is not None:
                return _refused(request, assignment, error, pledge_form=pledge_form)
            messages.success(request, _("Thank you: you accepted the invitation."))
        elif name == "decline":
            form = DeclineForm(request.POST, prefix="decline")
            if not form.is_valid():
                return _refused(
                    request,
                    assignment,
                    ValidationError(form.errors.get("comment", [])),
                    decline_form=form,
                )
            services.assignment_decline(
                assignment=assignment, user=request.user, comment=form.cleaned_data["comment"]
            )
            messages.success(request, _("You declined the invitation."))
        elif name == "declare_conflict":
            form = ConflictForm(request.POST, prefix="conflict")
            if not form.is_valid():
                return _refused(
                    request,
                    assignment,
                    ValidationError(_("Say what the conflict of interest is.")),
                    conflict_form=form,
                )
            services.assignment_declare_conflict(
                assignment=assignment, user=request.user, reason=form.cleaned_data["comment"]
            )
            messages.success(
                request, _("Your conflict of interest is recorded; the assignment is closed.")
            )
        else:
            raise Http404(_("No such step."))
    except (WorkflowError, ValidationError) as exc:
        return _refused(request, _assignment(request, pk), exc)
    except PermissionDenied:
        raise Http404(_("No such assignment.")) from None
    return redirect("review:assignment", pk=assignment.pk)


def _answer_context(assignment, language=None):
    return {
        "assignment": assignment,
        "proposal": proposal_view(assignment.application, language),
    }


@login_required
def invitation(request, token, answer):
    """The mailed accept/decline link: a confirmation page for the invited reviewer only;
    the step runs on POST (a link opened by a mail scanner changes nothing)."""
    assignment = _by_token(request, token)
    call = assignment.application.call
    pledged = services.has_pledge(request.user, call)
    data = request.POST if request.method == "POST" else None
    pledge_form = PledgeForm(data, prefix="pledge")
    form = DeclineForm(data, prefix="decline")
    status = 200
    if request.method == "POST" and assignment.state == A.INVITED:
        try:
            if answer == "accept":
                error = _accept(request, assignment, pledge_form)
                if error is None:
                    messages.success(request, _("Thank you: you accepted the invitation."))
                    return redirect("review:assignment", pk=assignment.pk)
                status = 400
            elif form.is_valid():
                services.assignment_decline(
                    assignment=assignment,
                    user=request.user,
                    comment=form.cleaned_data["comment"],
                )
                messages.success(request, _("You declined the invitation."))
                return redirect("review:assignment", pk=assignment.pk)
            else:
                status = 400
        except WorkflowError as exc:
            messages.error(request, exc.detail)
            status = 409
            assignment = _by_token(request, token)
    context = {
        **_answer_context(assignment),
        "answer": answer,
        "pledged": pledged,
        "pledge_form": pledge_form,
        "form": form,
        "open": assignment.state == A.INVITED,
    }
    return render(request, "review/invitation.html", context, status=status)


@login_required
def pledge(request, call_pk):
    """The integrity pledge for a call, for reviewers invited to it."""
    call = get_object_or_404(Call.objects.select_related("program"), pk=call_pk)
    if not selectors.reviewer_assignments(request.user).filter(application__call=call).exists():
        raise Http404(_("No such call among your invitations."))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = PledgeForm(request.POST if request.method == "POST" else None, prefix="pledge")
    pledged = services.has_pledge(request.user, call)
    if request.method == "POST" and not pledged and form.is_valid():
        services.pledge_sign(reviewer=request.user, call=call)
        messages.success(request, _("You signed the integrity pledge for this call."))
        return redirect(next_url or "review:assignment_list")
    context = {
        "call": call,
        "call_title": services.localized(call, "title"),
        "form": form,
        "pledged": pledged,
        "next": next_url,
    }
    return render(request, "review/pledge.html", context, status=400 if form.errors else 200)


# --- the review -----------------------------------------------------------------------------


@login_required
def review_form(request, pk):
    assignment = _assignment(request, pk)
    if assignment.state not in selectors.READING_STATES:
        messages.info(request, _("Accept the invitation before writing the review."))
        return redirect("review:assignment", pk=assignment.pk)
    language = get_language()
    call = assignment.application.call
    scheme = scoring.scheme_for_call(call)
    review = selectors.review_of(assignment)
    locked = review is not None and review.is_locked
    base = {
        "assignment": assignment,
        "proposal": proposal_view(assignment.application, language),
        "scheme_name": scheme.name(language),
        "pledged": services.has_pledge(request.user, call),
    }
    if locked or assignment.state == A.SUBMITTED:
        return render(
            request,
            "review/review_form.html",
            {**base, "locked": True, "review": _review_display(review, scheme, language)},
        )
    form = ReviewForm(
        request.POST or None,
        scheme=scheme,
        language=language,
        initial=ReviewForm.initial_for(review, scheme),
    )
    status = 200
    if request.method == "POST":
        submitting = "submit" in request.POST
        if form.is_valid():
            data = form.review_data()
            try:
                if submitting:
                    services.review_submit(assignment=assignment, user=request.user, **data)
                    messages.success(request, _("Your review is submitted. Thank you."))
                    return redirect("review:assignment", pk=assignment.pk)
                services.review_save_draft(assignment=assignment, user=request.user, **data)
            except ValidationError as exc:
                form.apply_errors(exc)
                status = 400
            except WorkflowError as exc:
                form.add_error(None, exc.detail)
                status = 409
            else:
                messages.success(request, _("Draft saved. You can come back and submit later."))
                return redirect("review:review", pk=assignment.pk)
        else:
            status = 400
    context = {**base, "locked": False, "form": form}
    return render(request, "review/review_form.html", context, status=status)


@login_required
def review_pdf(request, pk):
    """The reviewer's own submitted review as PDF, in their language."""
    assignment = _assignment(request, pk)
    review = selectors.review_of(assignment)
    if review is None or not review.is_locked:
        raise Http404(_("No submitted review."))
    from .pdf import render_review_pdf  # WeasyPrint is slow to import

    language = request.GET.get("lang")
    if language not in dict(settings.LANGUAGES):
        language = None  # the reviewer's own (English for international experts)
    response = HttpResponse(
        render_review_pdf(review, language=language), content_type="application/pdf"
    )
    name = assignment.application.number or f"assignment-{assignment.pk}"
    response["Content-Disposition"] = f'inline; filename="review-{name}.pdf"'
    return protect_download(response)


# --- reporting an intercession attempt (a case opens in integrity.cases) ---


@login_required
def intercession_report(request, pk):
    from accounts.forms import apply_errors
    from integrity.forms_cases import IntercessionForm

    assignment = _assignment(request, pk)
    form = IntercessionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.assignment_report_intercession(
                assignment=assignment, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            raise Http404(_("No such assignment.")) from None
        else:
            messages.success(
                request,
                _(
                    "Thank you: your report is registered as case %(number)s. The integrity "
                    "office will look into it; your identity stays confidential."
                )
                % {"number": case.number},
            )
            return redirect("review:assignment", pk=assignment.pk)
    return render(
        request,
        "integrity/case_intercession.html",
        {"form": form, "assignment": assignment, "application": assignment.application},
        status=400 if form.errors else 200,
    )
