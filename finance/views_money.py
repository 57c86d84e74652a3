"""Money pages: a project's ledger (schedule, release/hold, adjustments, expenditure reports,
recoveries), the officers' payments queue and the ledger exports (CSV, XLSX)."""

import django_filters as filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit.models import TransitionLog
from audit.workflow import WorkflowError, available
from config.tables import configure as configure_table
from grants import rules as grant_rules
from grants.enums import BudgetCategory
from grants.models import Project
from grants.templatetags.grants_tags import cny
from programs.permissions import managed_programs

from . import ledger, money
from .models.money import BudgetAdjustment, Disbursement, DisbursementState, HoldKind
from .projects import projects_visible_to

PER_PAGE = 25


def _project(request, pk):
    try:
        return (
            projects_visible_to(request.user)
            .select_related(
                "application__call__program", "application__applicant", "application__institution"
            )
            .get(pk=pk)
        )
    except Project.DoesNotExist:
        raise Http404 from None


# --- forms -----------------------------------------------------------------------------------


class StepForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AdjustmentForm(forms.Form):
    from_category = forms.ChoiceField(label=gettext_lazy("From"), choices=BudgetCategory.choices)
    to_category = forms.ChoiceField(label=gettext_lazy("To"), choices=BudgetCategory.choices)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=0
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RecoverForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to recover (CNY)"), max_digits=14, decimal_places=2
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


class ExpenditureForm(forms.Form):
    period_start = forms.DateField(
        label=gettext_lazy("Period from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=gettext_lazy("Period to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in BudgetCategory.choices:
            self.fields[f"spent_{value}"] = forms.DecimalField(
                label=_("Spent on %(category)s (CNY)") % {"category": label},
                max_digits=14,
                decimal_places=2,
                min_value=0,
                required=False,
            )

    def lines(self):
        return {
            value: self.cleaned_data.get(f"spent_{value}") or 0 for value in BudgetCategory.values
        }


def _add_errors(form, exc):
    for name, errors in exc.message_dict.items():
        field = (
            name
            if name in form.fields
            else (f"spent_{name}" if f"spent_{name}" in form.fields else None)
        )
        for error in errors:
            form.add_error(field, error)


# --- the ledger page -------------------------------------------------------------------------


def _context(request, project, **forms_):
    user = request.user
    disbursements = list(
        Disbursement.objects.filter(project=project).select_related("project__application__call")
    )
    for d in disbursements:
        d.project = project
        d.steps = available(d, user)
    adjustments = list(
        BudgetAdjustment.objects.filter(project=project).select_related("requested_by")
    )
    for adj in adjustments:
        adj.project = project
        adj.steps = available(adj, user)
    entries = project.ledger_entries.select_related("disbursement", "actor").order_by("id")
    ids = [d.pk for d in disbursements]
    events = TransitionLog.objects.filter(
        content_type__app_label="finance",
        content_type__model="disbursement",
        object_id__in=ids,
    ).select_related("actor")
    is_pi = grant_rules.is_project_pi(project, user)
    manages = grant_rules.manages_project(project, user)
    return {
        "project": project,
        "balance": ledger.balance(project),
        "disbursements": disbursements,
        "entries": entries,
        "adjustments": adjustments,
        "summary": money.expenditure_summary(project),
        "reports": project.expenditure_reports.prefetch_related("lines"),
        "is_pi": is_pi,
        "manages": manages,
        "adjustment_form": forms_.get("adjustment_form") or (AdjustmentForm() if is_pi else None),
        "expenditure_form": forms_.get("expenditure_form")
        or (ExpenditureForm() if is_pi else None),
        "recover_form": forms_.get("recover_form") or (RecoverForm() if manages else None),
        "problems": ledger.check(project) if manages else [],
        "entries_timeline": events,
    }


@login_required
def ledger_page(request, pk):
    project = _project(request, pk)
    return render(request, "finance/money_ledger.html", _context(request, project))


def _back(project):
    return redirect(reverse("finance:ledger", args=[project.pk]))


@login_required
@require_POST
def disbursement_step(request, pk, name):
    d = get_object_or_404(
        Disbursement.objects.filter(project__in=projects_visible_to(request.user)), pk=pk
    )
    form = StepForm(request.POST)
    form.is_valid()
    try:
        d = money.transition(
            d, name, user=request.user, comment=form.cleaned_data.get("comment", "")
        )
    except WorkflowError as exc:
        messages.error(request, exc.detail)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if name == "release" and d.state == DisbursementState.HELD:
            messages.warning(
                request,
                _("The payment is held: %(reason)s. It is paid when the bar lifts.")
                % {"reason": d.hold_reason},
            )
        else:
            messages.success(request, _("Done."))
    return _back(d.project)


@login_required
@require_POST
def adjustment_request(request, pk):
    project = _project(request, pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            money.adjustment_request(project=project, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            messages.error(request, exc.detail)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The adjustment is recorded."))
            return _back(project)
    if form.errors:
        return render(
            request,
            "finance/money_ledger.html",
            _context(request, project, adjustment_form=form),
            status=400,
        )
    return _back(project)


@login_required
@require_POST
def adjustment_step(request, pk, name):
    adj = get_object_or_404(
        BudgetAdjustment.objects.filter(project__in=projects_visible_to(request.user)), pk=pk
    )
    form = StepForm(request.POST)
    form.is_valid()
    try:
        money.adjustment_transition(
            adj, name, user=request.user, comment=form.cleaned_data.get("comment", "")
        )
    except WorkflowError as exc:
        messages.error(request, exc.detail)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Done."))
    return _back(adj.project)


@login_required
@require_POST
def expenditure_submit(request, pk):
    project = _project(request, pk)
    form = ExpenditureForm(request.POST)
    if form.is_valid():
        try:
            money.expenditure_submit(
                project=project,
                user=request.user,
                period_start=form.cleaned_data["period_start"],
                period_end=form.cleaned_data["period_end"],
                lines=form.lines(),
            )
        except WorkflowError as exc:
            messages.error(request, exc.detail)
            return _back(project)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The expenditure report is recorded."))
            return _back(project)
    return render(
        request,
        "finance/money_ledger.html",
        _context(request, project, expenditure_form=form),
        status=400,
    )


@login_required
@require_POST
def recover(request, pk):
    project = _project(request, pk)
    form = RecoverForm(request.POST)
    if form.is_valid():
        try:
            money.recover(project, user=request.user, **form.cleaned_data)
        except WorkflowError as exc:
            messages.error(request, exc.detail)
            return _back(project)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The recovery is recorded."))
            return _back(project)
    return render(
        request,
        "finance/money_ledger.html",
        _context(request, project, recover_form=form),
        status=400,
    )


# --- exports ---------------------------------------------------------------------------------


def _export(projects, fmt, name):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    stamp = timezone.localdate().isoformat()
    if fmt == "xlsx":
        response = HttpResponse(
            ledger.export_xlsx(projects),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        ext = "xlsx"
    else:
        response = HttpResponse(ledger.export_csv(projects), content_type="text/csv; charset=utf-8")
        ext = "csv"
    response["Content-Disposition"] = f'attachment; filename="ledger-{name}-{stamp}.{ext}"'
    return response


@login_required
def ledger_export(request, pk, fmt):
    project = _project(request, pk)
    return _export(Project.objects.filter(pk=project.pk), fmt, project.number)


@login_required
def ledger_export_all(request, fmt):
    return _export(projects_visible_to(request.user).order_by("number"), fmt, "all")


# --- the payments queue ----------------------------------------------------------------------


class QueueFilter(filters.FilterSet):
    q = filters.CharFilter(label=gettext_lazy("Search"), method="search")
    state = filters.ChoiceFilter(
        label=gettext_lazy("Payment"),
        choices=[
            (DisbursementState.SCHEDULED, gettext_lazy("Due")),
            (DisbursementState.HELD, gettext_lazy("Held")),
        ],
    )
    hold_kind = filters.ChoiceFilter(label=gettext_lazy("Hold"), choices=HoldKind.choices)

    class Meta:
        model = Disbursement
        fields = ["q", "state", "hold_kind"]

    def search(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(project__number__icontains=value)
            | Q(project__application__title__icontains=value)
            | Q(project__application__institution__name__icontains=value)
        )


class QueueTable(tables.Table):
    project = tables.Column(verbose_name=gettext_lazy("Project"), order_by=("project__number",))
    institution = tables.Column(
        verbose_name=gettext_lazy("Institution"),
        accessor="project__application__institution__name",
    )
    program = tables.Column(
        verbose_name=gettext_lazy("Program"), accessor="project__application__call__program__code"
    )
    seq = tables.Column(verbose_name=gettext_lazy("Instalment"))
    milestone = tables.Column(verbose_name=gettext_lazy("Due"))
    due_at = tables.DateTimeColumn(verbose_name=gettext_lazy("Due since"), format="Y-m-d")
    amount = tables.Column(
        verbose_name=gettext_lazy("Amount (CNY)"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
    )
    state = tables.Column(verbose_name=gettext_lazy("State"))
    hold_reason = tables.Column(verbose_name=gettext_lazy("Reason for the hold"))

    class Meta:
        model = Disbursement
        fields = ()
        sequence = (
            "project", "institution", "program", "seq", "milestone", "due_at", "amount",
            "state", "hold_reason",
        )  # fmt: skip
        empty_text = gettext_lazy("No payments are due or held.")
        attrs = {"class": "data-table"}

    def render_project(self, record):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("finance:ledger", args=[record.project_id]),
            record.project.number,
        )

    def render_milestone(self, record):
        return record.get_milestone_display()

    def render_amount(self, value):
        return cny(value)

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>', record.state, record.get_state_display()
        )


def payments_queue_queryset(user):
    return (
        Disbursement.objects.filter(
            project__application__call__program__in=managed_programs(user),
        )
        .filter(
            Q(state=DisbursementState.SCHEDULED, due_at__isnull=False)
            | Q(state=DisbursementState.HELD)
        )
        .select_related("project__application__institution", "project__application__call__program")
        .order_by("due_at", "id")
    )


@login_required
def payments_queue(request):
    user = request.user
    if not (user.is_superuser or user.has_role("program_officer", "agency_staff")):
        raise Http404
    filterset = QueueFilter(request.GET, queryset=payments_queue_queryset(user))
    table = QueueTable(filterset.qs)
    configure_table(request, table, PER_PAGE)
    return render(request, "finance/money_payments.html", {"filter": filterset, "table": table})
