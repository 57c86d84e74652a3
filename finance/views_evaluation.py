"""Pages of the mid-term check, the final evaluation, follow-on funding, the institution's
outcomes and the public result notice. Every step calls ``finance.evaluation`` services."""

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.roles import Role
from audit.selectors import timeline
from audit.workflow import WorkflowError
from grants import rules as grant_rules
from grants.models import Project, ProjectState

from . import evaluation as services
from . import followon
from .models import FinalEvaluation, Grade, MidtermDecision, Outcome

# --- forms -----------------------------------------------------------------------------


class MidtermForm(forms.Form):
    text = forms.CharField(label=_("Mid-term report"), widget=forms.Textarea(attrs={"rows": 6}))
    file = forms.FileField(label=_("Report (PDF)"))


class MidtermDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(c.value, c.label) for c in services.MIDTERM_DECISIONS],
    )
    expert_opinion = forms.CharField(
        label=_("Expert opinion"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    comment = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the check fails."),
    )  # fmt: skip


class FinalForm(forms.Form):
    acceptance_application = forms.FileField(label=_("Acceptance application"))
    contract = forms.FileField(label=_("Contract (as signed)"))
    self_evaluation = forms.FileField(label=_("Self-evaluation"))
    audit_report = forms.FileField(label=_("Audit report"))
    st_report = forms.FileField(label=_("S&T report (full text)"))
    st_title = forms.CharField(label=_("Public title of the S&T report"), max_length=300)
    st_abstract = forms.CharField(
        label=_("Public abstract"), widget=forms.Textarea(attrs={"rows": 4})
    )
    st_keywords = forms.CharField(label=_("Keywords"), help_text=_("Separated by semicolons."))
    st_results_summary = forms.CharField(
        label=_("Summary of results"), widget=forms.Textarea(attrs={"rows": 4})
    )


class PanelOpinionForm(forms.Form):
    expert = forms.ModelChoiceField(label=_("Expert"), queryset=get_user_model().objects.none())
    recommendation = forms.ChoiceField(label=_("Recommended outcome"), choices=Outcome.choices)
    grade = forms.ChoiceField(label=_("Suggested grade"), choices=Grade.choices)
    opinion = forms.CharField(label=_("Opinion"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expert"].queryset = (
            get_user_model()
            .objects.filter(groups__name=Role.REVIEWER, is_active=True)
            .order_by("full_name", "username")
        )


class EvaluateForm(forms.Form):
    grade = forms.ChoiceField(label=_("Performance grade"), choices=Grade.choices)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", _("From the grade")), *Outcome.choices], required=False
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the project does not pass."),
    )  # fmt: skip


# --- helpers ---------------------------------------------------------------------------


def _project(request, pk):
    try:
        return services.project_for(request.user, pk)
    except Project.DoesNotExist as exc:
        raise Http404 from exc


def _apply_errors(form, exc):
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _page(request, project, **forms_):
    user = request.user
    is_pi = grant_rules.is_project_pi(project, user)
    decides = services.can_decide(project, user)
    last = services.latest_midterm(project)
    state = project.state
    evaluation = FinalEvaluation.objects.filter(project=project).first()
    pending_midterm = state == ProjectState.MIDTERM_REVIEW and last and (
        last.decision == MidtermDecision.PENDING)  # fmt: skip
    can_midterm = is_pi and (
        (state == ProjectState.ACTIVE and not project.midterm_reports.filter(
            decision=MidtermDecision.PASSED).exists())
        or (state == ProjectState.MIDTERM_REVIEW and last and last.decision == MidtermDecision.HOLD)
    )  # fmt: skip
    context = {
        "project": project,
        "application": project.application,
        "midterm_reports": project.midterm_reports.select_related("decided_by"),
        "evaluation": evaluation,
        "opinions": evaluation.opinions.select_related("expert") if evaluation else [],
        "st_report": getattr(project, "st_report", None) if evaluation else None,
        "follow_on": followon.follow_on(project),
        "entries": timeline(project),
        "midterm_form": forms_.get("midterm_form") or (MidtermForm() if can_midterm else None),
        "midterm_decision_form": forms_.get("midterm_decision_form")
        or (MidtermDecisionForm() if decides and pending_midterm else None),
        "final_form": forms_.get("final_form")
        or (FinalForm() if is_pi and state == ProjectState.ACTIVE else None),
        "panel_form": forms_.get("panel_form")
        or (PanelOpinionForm() if decides and state == ProjectState.FINAL_REVIEW else None),
        "evaluate_form": forms_.get("evaluate_form")
        or (EvaluateForm() if decides and state == ProjectState.FINAL_REVIEW else None),
    }
    status = 400 if any(forms_.values()) else 200
    return render(request, "finance/evaluation_detail.html", context, status=status)


def _run(request, project, form, key, action, done):
    """Validate ``form``, run ``action(form.cleaned_data)``; errors inline (400) or 409."""
    if not form.is_valid():
        return _page(request, project, **{key: form})
    try:
        action(form.cleaned_data)
    except ValidationError as exc:
        _apply_errors(form, exc)
        return _page(request, project, **{key: form})
    except PermissionDenied:
        raise
    except WorkflowError as exc:
        messages.error(request, exc.detail)
        return redirect("finance:evaluation", project.pk)
    messages.success(request, done)
    return redirect("finance:evaluation", project.pk)


# --- pages -----------------------------------------------------------------------------


@login_required
def evaluation_detail(request, pk):
    return _page(request, _project(request, pk))


@login_required
@require_POST
def midterm_submit(request, pk):
    project = _project(request, pk)
    form = MidtermForm(request.POST, request.FILES)
    return _run(request, project, form, "midterm_form", lambda d: services.midterm_submit(
        project=project, user=request.user, text=d["text"], file=d["file"]),
        _("The mid-term report was submitted."))  # fmt: skip


@login_required
@require_POST
def midterm_decide(request, pk):
    project = _project(request, pk)
    form = MidtermDecisionForm(request.POST)
    return _run(request, project, form, "midterm_decision_form", lambda d: services.midterm_decide(
        project=project, user=request.user, **d), _("The mid-term decision was recorded."))  # fmt: skip


@login_required
@require_POST
def final_submit(request, pk):
    project = _project(request, pk)
    form = FinalForm(request.POST, request.FILES)

    def action(d):
        services.final_submit(
            project=project, user=request.user,
            files={n: d[n] for n in services.FINAL_INPUTS},
            st_report={"file": d["st_report"], "title": d["st_title"],
                       "abstract": d["st_abstract"], "keywords": d["st_keywords"],
                       "results_summary": d["st_results_summary"]},
        )  # fmt: skip

    return _run(request, project, form, "final_form", action,
                _("Submitted for final evaluation."))  # fmt: skip


@login_required
@require_POST
def panel_opinion(request, pk):
    project = _project(request, pk)
    form = PanelOpinionForm(request.POST)
    return _run(request, project, form, "panel_form", lambda d: services.panel_opinion_add(
        project=project, user=request.user, **d), _("The opinion was recorded."))  # fmt: skip


@login_required
@require_POST
def evaluate(request, pk):
    project = _project(request, pk)
    form = EvaluateForm(request.POST)
    return _run(request, project, form, "evaluate_form", lambda d: services.evaluate(
        project=project, user=request.user, grade=d["grade"], comment=d["comment"],
        outcome=d["outcome"] or None), _("The final evaluation was decided."))  # fmt: skip


@login_required
def follow_on(request, pk):
    project = _project(request, pk)
    return render(request, "finance/followon_detail.html", {
        "project": project, "follow_on": followon.follow_on(project),
        "grade": services.performance_grade(project),
        "bar": followon.bar_in_force(project.application.applicant,
                                     project.application.call.program),
    })  # fmt: skip


# --- outcomes (institutions, officers, auditors) ---------------------------------------


class OutcomeFilter(django_filters.FilterSet):
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=Outcome.choices)
    grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices)
    q = django_filters.CharFilter(label=_("Number or title"), method="search")

    class Meta:
        model = FinalEvaluation
        fields = ["outcome", "grade"]

    def search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(
            Q(project__number__icontains=value) | Q(project__application__title__icontains=value)
        )


class OutcomeTable(tables.Table):
    number = tables.Column(verbose_name=_("Project"), accessor="project__number",
                           order_by=("project__number",))  # fmt: skip
    title = tables.Column(verbose_name=_("Title"), accessor="project__application__title")
    pi = tables.Column(verbose_name=_("Principal investigator"),
                       accessor="project__application__applicant__full_name")  # fmt: skip
    program = tables.Column(verbose_name=_("Program"),
                            accessor="project__application__call__program__name")  # fmt: skip
    outcome = tables.Column(verbose_name=_("Outcome"))
    grade = tables.Column(verbose_name=_("Grade"))
    decided_at = tables.DateTimeColumn(verbose_name=_("Decided"), format="Y-m-d")

    class Meta:
        model = FinalEvaluation
        fields = ()
        sequence = ("number", "title", "pi", "program", "outcome", "grade", "decided_at")
        template_name = "tables/table.html"
        order_by = ("-decided_at",)

    def render_number(self, record, value):
        url = reverse("finance:evaluation", args=[record.project_id])
        return format_html('<a href="{}">{}</a>', url, value)


@login_required
def outcomes(request):
    queryset = services.outcomes_for_institution(request.user)
    filterset = OutcomeFilter(request.GET, queryset=queryset)
    table = OutcomeTable(filterset.qs)
    tables.RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(
        request, "finance/evaluation_outcomes.html", {"filter": filterset, "table": table}
    )


# --- public result notice ---------------------------------------------------------------


def result_notices(request):
    """The result notices in their 5 public days (no login), with the S&T reports' public part."""
    from django.core.paginator import Paginator

    page = Paginator(services.result_notices(), 25).get_page(request.GET.get("page"))
    return render(request, "finance/evaluation_notices.html", {"page": page})
