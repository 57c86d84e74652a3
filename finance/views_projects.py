"""Pages of projects: list, detail (contract, budget, milestones, KPIs, signatures,
timeline), budget approval, milestones and KPIs while the contract is a draft, the PDF."""

from decimal import Decimal

import django_filters as filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit import workflow
from audit.selectors import timeline
from audit.workflow import WorkflowError
from config.tables import configure as configure_table
from grants import rules as grant_rules
from grants.models import Project, ProjectState
from grants.templatetags.grants_tags import cny

from . import projects as services
from .models import ContractState

PER_PAGE = 25


# --- list --------------------------------------------------------------------------------


def _search(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    return queryset.filter(
        Q(number__icontains=value)
        | Q(application__title__icontains=value)
        | Q(application__applicant__full_name__icontains=value)
    )


class ProjectFilter(filters.FilterSet):
    q = filters.CharFilter(label=gettext_lazy("Search"), method=_search)
    state = filters.ChoiceFilter(label=gettext_lazy("State"), choices=ProjectState.choices)

    class Meta:
        model = Project
        fields = ["q", "state"]


class ProjectTable(tables.Table):
    number = tables.Column(verbose_name=gettext_lazy("Number"), order_by=("number",))
    title = tables.Column(
        verbose_name=gettext_lazy("Title"),
        accessor="application__title",
        order_by=("application__title",),
    )
    applicant = tables.Column(
        verbose_name=gettext_lazy("Principal investigator"),
        accessor="application__applicant",
        order_by=("application__applicant__full_name",),
    )
    institution = tables.Column(
        verbose_name=gettext_lazy("Institution"),
        accessor="application__institution__name",
        order_by=("application__institution__name",),
    )
    program = tables.Column(
        verbose_name=gettext_lazy("Program"),
        accessor="application__call__program__code",
        order_by=("application__call__program__code",),
    )
    state = tables.Column(verbose_name=gettext_lazy("State"))
    approved_budget = tables.Column(
        verbose_name=gettext_lazy("Approved budget (CNY)"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
    )

    class Meta:
        model = Project
        fields = ()
        sequence = (
            "number",
            "title",
            "applicant",
            "institution",
            "program",
            "state",
            "approved_budget",
        )
        empty_text = gettext_lazy("No projects match.")
        attrs = {"class": "data-table"}

    def render_number(self, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("finance:project", args=[record.pk]), record.number
        )

    def render_applicant(self, value):
        return value.display_name

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>', record.state, record.get_state_display()
        )

    def render_approved_budget(self, value):
        return cny(value)


@login_required
def project_list(request):
    queryset = services.project_list(request.user).order_by("-created_at", "-id")
    filterset = ProjectFilter(request.GET, queryset=queryset, request=request)
    table = ProjectTable(filterset.qs)
    configure_table(request, table, PER_PAGE)
    return render(request, "finance/project_list.html", {"filter": filterset, "table": table})


# --- detail ------------------------------------------------------------------------------


def _get_visible(request, pk):
    try:
        return services.project_detail(request.user, pk)
    except Project.DoesNotExist:
        raise Http404 from None


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=4000,
    )

    def __init__(self, *args, info, **kwargs):
        self.info = info
        kwargs.setdefault("prefix", f"t-{info.name}")
        super().__init__(*args, **kwargs)
        if info.needs_comment:
            self.fields["comment"].required = True
            self.fields["comment"].label = _("Reason")


class MilestoneForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Milestone"), max_length=300, required=False)
    due_on = forms.DateField(
        label=gettext_lazy("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class KPIForm(forms.Form):
    indicator = forms.CharField(label=gettext_lazy("Indicator"), max_length=300, required=False)
    target_value = forms.DecimalField(
        label=gettext_lazy("Target value"),
        max_digits=14,
        decimal_places=2,
        required=False,
        min_value=0,
    )
    unit = forms.CharField(label=gettext_lazy("Unit"), max_length=50, required=False)


MilestoneFormSet = forms.formset_factory(MilestoneForm, extra=2)
KPIFormSet = forms.formset_factory(KPIForm, extra=2)


def _detail_context(request, project, *, milestone_formset=None, kpi_formset=None):
    user = request.user
    contract = services.contract_for(project)
    manager = grant_rules.manages_project(project, user)
    editable = (
        manager
        and contract.state == ContractState.DRAFT
        and project.state == ProjectState.CONTRACTING
    )
    milestones = list(project.milestones.all())
    kpis = list(project.kpis.all())
    if editable and milestone_formset is None:
        milestone_formset = MilestoneFormSet(
            prefix="milestones",
            initial=[{"title": m.title, "due_on": m.due_on} for m in milestones],
        )
    if editable and kpi_formset is None:
        kpi_formset = KPIFormSet(
            prefix="kpis",
            initial=[
                {"indicator": k.indicator, "target_value": k.target_value, "unit": k.unit}
                for k in kpis
            ],
        )
    lines = services.approved_lines(project)
    entries = sorted([*timeline(project), *timeline(contract)], key=lambda e: (e.created_at, e.pk))
    contract_steps = [(info, CommentForm(info=info)) for info in workflow.available(contract, user)]
    project_steps = [
        (info, CommentForm(info=info))
        for info in workflow.available(project, user)
        if info.name != "sign"
    ]
    return {
        "project": project,
        "application": project.application,
        "contract": contract,
        "lines": lines,
        "budget_approved": bool(project.approved_lines.all()[:1]),
        "budget_total": sum((line.approved for line in lines), Decimal("0.00")),
        "milestones": milestones,
        "kpis": kpis,
        "editable": editable,
        "milestone_formset": milestone_formset,
        "kpi_formset": kpi_formset,
        "contract_steps": contract_steps,
        "project_steps": project_steps,
        "entries": entries,
    }


@login_required
def project_detail(request, pk):
    project = _get_visible(request, pk)
    return render(request, "finance/project_detail.html", _detail_context(request, project))


def _formset_apply_errors(exc, formset, prefix):
    """Put the service's ``<prefix>-<i>-<field>`` errors on the formset's forms."""
    rest = []
    for key, errors in exc.message_dict.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit():
            index, field = int(parts[1]), parts[2]
            filled = [form for form in formset.forms if form.has_changed()]
            if index < len(filled) and field in filled[index].fields:
                for error in errors:
                    filled[index].add_error(field, error)
                continue
        rest.extend(errors)
    return rest


def _edit_list(request, pk, *, prefix, formset_class, service, keyword, fields):
    project = _get_visible(request, pk)
    formset = formset_class(request.POST, prefix=prefix)
    status = 400
    if formset.is_valid():
        rows = [
            {f: form.cleaned_data.get(f) for f in fields}
            for form in formset.forms
            if form.has_changed()
            and any(form.cleaned_data.get(f) not in (None, "") for f in fields)
        ]
        try:
            service(project=project, user=request.user, **{keyword: rows})
        except WorkflowError as exc:
            messages.error(request, exc.detail)
            status = 409
        except ValidationError as exc:
            for error in _formset_apply_errors(exc, formset, prefix):
                messages.error(request, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("finance:project", pk=project.pk)
    context = _detail_context(
        request, project, **{f"{'milestone' if prefix == 'milestones' else 'kpi'}_formset": formset}
    )
    return render(request, "finance/project_detail.html", context, status=status)


@login_required
@require_POST
def milestones_edit(request, pk):
    return _edit_list(
        request,
        pk,
        prefix="milestones",
        formset_class=MilestoneFormSet,
        service=services.milestones_set,
        keyword="milestones",
        fields=("title", "due_on"),
    )


@login_required
@require_POST
def kpis_edit(request, pk):
    return _edit_list(
        request,
        pk,
        prefix="kpis",
        formset_class=KPIFormSet,
        service=services.kpis_set,
        keyword="kpis",
        fields=("indicator", "target_value", "unit"),
    )


# --- budget approval ---------------------------------------------------------------------


class BudgetApprovalForm(forms.Form):
    """One approved amount and one reason per category of the proposal's budget."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            label = line.get_category_display()
            self.fields[line.category] = forms.DecimalField(
                label=_("%(category)s: approved (requested %(amount)s)")
                % {"category": label, "amount": cny(line.requested)},
                max_digits=14,
                decimal_places=2,
                min_value=0,
                initial=line.approved,
            )
            self.fields[f"{line.category}_reason"] = forms.CharField(
                label=_("%(category)s: reason for a cut") % {"category": label},
                required=False,
                max_length=500,
                initial=line.reason,
            )


@login_required
def budget_approve(request, pk):
    project = _get_visible(request, pk)
    if not grant_rules.manages_project(project, request.user):
        raise Http404
    lines = services.approved_lines(project)
    status = 200
    if request.method == "POST":
        form = BudgetApprovalForm(request.POST, lines=lines)
        status = 400
        if form.is_valid():
            data = {
                line.category: {
                    "approved": form.cleaned_data[line.category],
                    "reason": form.cleaned_data[f"{line.category}_reason"],
                }
                for line in lines
            }
            try:
                services.budget_approve(project=project, user=request.user, lines=data)
            except WorkflowError as exc:
                form.add_error(None, exc.detail)
                status = 409
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("The budget is approved."))
                return redirect("finance:project", pk=project.pk)
    else:
        form = BudgetApprovalForm(lines=lines)
    cap = services.indirect_cap(project, {line.category: line.approved for line in lines})
    return render(
        request,
        "finance/project_budget.html",
        {
            "project": project,
            "application": project.application,
            "form": form,
            "lines": lines,
            "cap": cap,
        },
        status=status,
    )


# --- steps -------------------------------------------------------------------------------


def _step(request, pk, obj_for, run, label):
    project = _get_visible(request, pk)
    obj = obj_for(project)
    info = workflow.find(obj, request.resolver_match.kwargs["name"])
    if info is None:
        raise Http404
    form = CommentForm(request.POST, info=info)
    if not form.is_valid():
        messages.error(request, _("A reason is required for this step."))
        return redirect("finance:project", pk=project.pk)
    try:
        run(obj, info.name, form.cleaned_data["comment"])
    except WorkflowError as exc:
        messages.error(request, exc.detail)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, _("Done: %(step)s.") % {"step": info.label})
    return redirect("finance:project", pk=project.pk)


@login_required
@require_POST
def contract_step(request, pk, name):
    return _step(
        request,
        pk,
        services.contract_for,
        lambda contract, step, comment: services.contract_transition(
            contract=contract, name=step, user=request.user, comment=comment
        ),
        "contract",
    )


@login_required
@require_POST
def project_step(request, pk, name):
    return _step(
        request,
        pk,
        lambda project: project,
        lambda project, step, comment: services.project_transition(
            project=project, name=step, user=request.user, comment=comment
        ),
        "project",
    )


# --- PDF ---------------------------------------------------------------------------------


def contract_pdf_response(project):
    """The signed contract as stored, or (before the last signature) rendered now."""
    contract = services.contract_for(project)
    if contract.state == ContractState.SIGNED and contract.pdf:
        with contract.pdf.open("rb") as fh:
            data = fh.read()
    else:
        from .pdf import render_contract_pdf

        data = render_contract_pdf(contract)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{project.number}-contract.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def contract_pdf(request, pk):
    return contract_pdf_response(_get_visible(request, pk))
