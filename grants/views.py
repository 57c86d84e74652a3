"""HTML pages of proposals: lists per role, the editor in sections, detail and transitions.

Views parse input and call ``grants.services``; every read goes through
``grants.selectors`` so that a proposal the user may not see answers 404.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Role
from audit import workflow
from audit.selectors import timeline
from audit.workflow import WorkflowError
from config.tables import configure as configure_table
from config.uploads import protect_download

from . import forms, services
from .enums import ApplicationState, BudgetCategory
from .filters import ApplicationFilter, FormalCheckFilter, InstitutionQueueFilter
from .models import Application
from .selectors import (
    application_detail,
    application_list,
    formal_check_list,
    team_application_ids,
)
from .tables import ApplicationTable, InstitutionQueueTable, MyApplicationTable

S = ApplicationState
PER_PAGE = 25

SECTIONS = (
    ("content", gettext_lazy("Content")),
    ("team", gettext_lazy("Team")),
    ("budget", gettext_lazy("Budget")),
    ("attachments", gettext_lazy("Attachments")),
    ("experts", gettext_lazy("Experts to avoid")),
)


def with_totals(queryset):
    """Budget lines come with the page's rows (one query), so each row sums its own."""
    return queryset.prefetch_related("budget_lines")


def _get_visible(request, pk):
    try:
        return application_detail(request.user, pk)
    except Application.DoesNotExist:
        raise Http404(_("No such proposal.")) from None


def _require_role(user, *roles):
    if not (user.is_superuser or user.has_role(*roles)):
        raise PermissionDenied(_("This page is for another role."))


# --- lists ----------------------------------------------------------------------------------


def _list_page(request, *, queryset, filterset_class, table_class, title, intro, defaults=None):
    data = request.GET.copy()
    for key, value in (defaults or {}).items():
        if key not in data:
            data[key] = value
    filterset = filterset_class(data, queryset=queryset, request=request)
    table = table_class(with_totals(filterset.qs))
    configure_table(request, table, PER_PAGE)
    return render(
        request,
        "grants/list.html",
        {"filter": filterset, "table": table, "title": title, "intro": intro},
    )


@login_required
def mine(request):
    user = request.user
    queryset = application_list(user).filter(
        Q(applicant=user) | Q(pk__in=team_application_ids(user))
    )
    return _list_page(
        request,
        queryset=queryset.order_by("-created_at", "-id"),
        filterset_class=ApplicationFilter,
        table_class=MyApplicationTable,
        title=_("My proposals"),
        intro=_("Proposals you lead or are on the team of."),
    )


@login_required
def institution_queue(request):
    user = request.user
    _require_role(user, Role.INSTITUTION_ADMIN)
    queryset = application_list(user).filter(
        institution_id=user.institution_id, number__isnull=False
    )
    return _list_page(
        request,
        queryset=queryset,
        filterset_class=InstitutionQueueFilter,
        table_class=InstitutionQueueTable,
        title=_("Endorsements"),
        intro=_("Proposals your institution's scientists have submitted."),
        defaults={"state": S.SUBMITTED},
    )


@login_required
def formal_check_queue(request):
    user = request.user
    _require_role(user, Role.PROGRAM_OFFICER, Role.AGENCY_STAFF)
    queryset = formal_check_list(user)
    return _list_page(
        request,
        queryset=queryset,
        filterset_class=FormalCheckFilter,
        table_class=ApplicationTable,
        title=_("Formal check"),
        intro=_("Endorsed proposals of the programs you manage."),
        defaults={"state": S.ENDORSED},
    )


# --- create and edit ------------------------------------------------------------------------


@login_required
def create(request):
    user = request.user
    _require_role(user, Role.APPLICANT)
    initial = {}
    if request.GET.get("call", "").isdigit():
        initial["call"] = request.GET["call"]
    form = forms.CallChoiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(
                applicant=user, call=form.cleaned_data["call"], title=form.cleaned_data["title"]
            )
        except ValidationError as exc:
            forms.apply_errors(exc, form)
        except WorkflowError as exc:
            # An integrity bar is about the person, not the call: say it above the form.
            form.add_error(None if exc.code == "integrity_block" else "call", exc.detail)
        else:
            messages.success(request, _("Draft created. Fill in each section, then submit."))
            return redirect("grants:edit", pk=application.pk, section="content")
    if not form.fields["call"].queryset.exists():
        messages.info(request, _("No call is open for proposals at the moment."))
    return render(request, "grants/create.html", {"form": form})


def _editable(request, pk):
    """The proposal if the user is its PI and it is a draft; else 404 or back to detail."""
    application = _get_visible(request, pk)
    if application.applicant_id != request.user.pk:
        raise PermissionDenied(_("Only the principal investigator edits the proposal."))
    return application


def _not_editable_redirect(request, application):
    messages.error(
        request,
        _("Only a draft can be changed; this proposal is %(state)s.")
        % {"state": application.get_state_display()},
    )
    return redirect("grants:detail", pk=application.pk)


@login_required
def edit(request, pk, section="content"):
    handlers = {
        "content": _edit_content,
        "team": _edit_team,
        "budget": _edit_budget,
        "attachments": _edit_attachments,
        "experts": _edit_experts,
    }
    if section not in handlers:
        raise Http404(_("No such section."))
    application = _editable(request, pk)
    if application.state not in services.EDITABLE_STATES:
        return _not_editable_redirect(request, application)
    context = {"application": application, "section": section, "sections": SECTIONS}
    try:
        result = handlers[section](request, application, context)
    except WorkflowError as exc:
        messages.error(request, exc.detail)
        return redirect("grants:detail", pk=application.pk)
    if result is not None:
        return result
    status = 400 if context.get("has_errors") else 200
    return render(request, f"grants/edit_{section}.html", context, status=status)


def _saved(request, application, section):
    messages.success(request, _("Saved."))
    if "save_next" in request.POST:
        names = [name for name, _label in SECTIONS]
        index = names.index(section)
        if index + 1 < len(names):
            return redirect("grants:edit", pk=application.pk, section=names[index + 1])
        return redirect("grants:detail", pk=application.pk)
    return redirect("grants:edit", pk=application.pk, section=section)


def _edit_content(request, application, context):
    form = forms.ContentForm(
        request.POST or None, initial=forms.ContentForm.initial_for(application)
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                services.application_update(application=application, **form.cleaned_data)
            except ValidationError as exc:
                forms.apply_errors(exc, form)
            else:
                return _saved(request, application, "content")
        context["has_errors"] = True
    context["form"] = form
    return None


def _edit_team(request, application, context):
    formset = forms.TeamFormSet(
        request.POST or None, initial=forms.team_initial(application), prefix="team"
    )
    context["errors"] = []
    if request.method == "POST":
        if formset.is_valid():
            try:
                services.team_set(application=application, members=formset.members())
            except ValidationError as exc:
                context["errors"] = exc.messages
            else:
                return _saved(request, application, "team")
        context["has_errors"] = True
    context["formset"] = formset
    return None


def _budget_lines(application):
    return {line.category: line.amount for line in application.budget_lines.all()}


def _edit_budget(request, application, context):
    call = application.call
    form_class = forms.budget_form_class(call)
    stored = _budget_lines(application)
    form = form_class(request.POST or None, initial={k: v for k, v in stored.items()})
    if request.method == "POST":
        if form.is_valid():
            try:
                services.budget_set(application=application, lines=form.lines(), by=request.user)
            except ValidationError as exc:
                forms.apply_errors(exc, form)
            else:
                return _saved(request, application, "budget")
        context["has_errors"] = True
    # The indirect line shown is the cap for the direct costs on screen (typed or stored).
    if call.lump_sum:
        context["indirect_cap"] = None
    else:
        source = form.cleaned_data if form.is_bound else stored
        shown = {
            name: source.get(name) or Decimal(0) for name in ("equipment", "business", "labor")
        }
        context["indirect_cap"] = services.indirect_cap(application, shown)
        context["direct_total"] = sum(shown.values(), Decimal(0))
        context["stored_indirect"] = stored.get(BudgetCategory.INDIRECT)
    context["stored_total"] = sum(stored.values(), Decimal(0)) if stored else None
    context["form"] = form
    context["call"] = call
    return None


def _edit_attachments(request, application, context):
    form = forms.AttachmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.attachment_add(
                    application=application,
                    uploaded_by=request.user,
                    title=form.cleaned_data["title"],
                    file=form.cleaned_data["file"],
                )
            except ValidationError as exc:
                forms.apply_errors(exc, form)
            else:
                messages.success(request, _("Attachment uploaded."))
                return redirect("grants:edit", pk=application.pk, section="attachments")
        context["has_errors"] = True
    context["form"] = form
    context["max_mb"] = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
    return None


def _edit_experts(request, application, context):
    limit = application.call.rules["max_experts_to_avoid"]
    formset_class = forms.expert_formset_class(limit)
    formset = formset_class(
        request.POST or None, initial=forms.experts_initial(application), prefix="experts"
    )
    context["errors"] = []
    context["limit"] = limit
    if request.method == "POST":
        if formset.is_valid():
            try:
                services.experts_to_avoid_set(application=application, experts=formset.experts())
            except ValidationError as exc:
                context["errors"] = exc.messages
            else:
                return _saved(request, application, "experts")
        context["has_errors"] = True
    context["formset"] = formset
    return None


@login_required
@require_POST
def attachment_remove(request, pk, attachment_pk):
    application = _editable(request, pk)
    attachment = get_object_or_404(application.attachments.all(), pk=attachment_pk)
    try:
        services.attachment_remove(attachment=attachment)
    except WorkflowError as exc:
        messages.error(request, exc.detail)
        return redirect("grants:detail", pk=application.pk)
    messages.success(request, _("Attachment removed."))
    return redirect("grants:edit", pk=application.pk, section="attachments")


@login_required
def attachment_download(request, pk, attachment_pk):
    application = _get_visible(request, pk)
    attachment = get_object_or_404(application.attachments.all(), pk=attachment_pk)
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


# --- detail, transitions, PDF ---------------------------------------------------------------


def _transitions(application, user, bound=None):
    """(info, form) for each step the user may take now, one per public name."""
    result, seen = [], set()
    for info in workflow.available(application, user):
        if info.name in seen:
            continue
        seen.add(info.name)
        if bound is not None and bound.info.name == info.name:
            result.append((info, bound))
        else:
            result.append((info, forms.TransitionForm(info=info)))
    return result


def _detail_context(request, application, bound=None):
    user = request.user
    lines = list(application.budget_lines.all())
    order = {c: i for i, c in enumerate(BudgetCategory.values)}
    lines.sort(key=lambda line: order.get(line.category, 99))
    return {
        "application": application,
        "discipline": forms.discipline_label(application.discipline),
        "budget_lines": lines,
        "budget_total": sum((line.amount for line in lines), Decimal(0)),
        "transitions": _transitions(application, user, bound),
        "can_edit": application.applicant_id == user.pk
        and application.state in services.EDITABLE_STATES,
        "sections": SECTIONS,
        "entries": timeline(application),
    }


@login_required
def detail(request, pk):
    application = _get_visible(request, pk)
    return render(request, "grants/detail.html", _detail_context(request, application))


def _error_messages(exc):
    """Readable lines from a service's ValidationError, naming the field where it has one."""
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    labels = {
        "title": _("Title"),
        "abstract": _("Abstract"),
        "keywords": _("Keywords"),
        "budget": _("Budget"),
        "comment": _("Reason"),
        "team": _("Team"),
        "experts_to_avoid": _("Experts to avoid"),
    }
    lines = []
    for field, errors in exc.message_dict.items():
        label = labels.get(field)
        for error in errors:
            lines.append(f"{label}: {error}" if label and field != "__all__" else error)
    return lines


@login_required
@require_POST
def transition(request, pk, name):
    application = _get_visible(request, pk)
    info = workflow.find(application, name)
    if info is None:
        raise Http404(_("No such step."))
    form = forms.TransitionForm(request.POST, info=info)
    errors = []
    if form.is_valid():
        try:
            services.application_transition(
                application=application,
                name=info.name,
                user=request.user,
                comment=form.cleaned_data["comment"],
            )
        except WorkflowError as exc:
            errors = [exc.detail]
            status = 409
        except ValidationError as exc:
            errors = _error_messages(exc)
            status = 400
        else:
            messages.success(
                request,
                _("Done: %(step)s. The proposal is now “%(state)s”.")
                % {"step": info.label, "state": _state_label(application.pk)},
            )
            return redirect("grants:detail", pk=application.pk)
    else:
        status = 400
    for error in errors:
        messages.error(request, error)
    # Show the page again with what was typed, and the reasons it was refused.
    application = _get_visible(request, pk)
    context = _detail_context(request, application, bound=form)
    return render(request, "grants/detail.html", context, status=status)


def _state_label(pk):
    application = Application.objects.only("state").get(pk=pk)
    return application.get_state_display()


@login_required
def pdf(request, pk):
    application = _get_visible(request, pk)
    from .pdf import render_application_pdf  # WeasyPrint is slow to import

    response = HttpResponse(render_application_pdf(application), content_type="application/pdf")
    name = application.number or f"draft-{application.pk}"
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return protect_download(response)
