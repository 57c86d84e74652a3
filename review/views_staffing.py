"""Staffing a call's review: run the assignment engine, see who reviews what, and why not.

For program officers, and agency staff for the programs delegated to their agency; anyone
else gets 404. Views parse input and call ``review.assignment``; nothing here decides.
"""

import django_filters as filters
import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from config.tables import configure as configure_table
from grants.enums import ApplicationState
from grants.models import Application
from programs.models import Call
from programs.permissions import can_manage_program

from . import assignment
from .models import ACTIVE_ASSIGNMENT_STATES, AssignmentRun, ReviewAssignment

PER_PAGE = 25
#: Proposals shown on the staffing page: being staffed, and reviewed ones for reference.
SHOWN_STATES = [
    ApplicationState.ACCEPTED,
    ApplicationState.UNDER_REVIEW,
    ApplicationState.REVIEWED,
]


def _get_call(user, pk):
    call = get_object_or_404(Call.objects.select_related("program"), pk=pk)
    if not can_manage_program(user, call.program_id):
        raise Http404
    return call


def _last_run(call):
    return AssignmentRun.objects.filter(call=call).select_related("started_by").first()


# --- the table of proposals -----------------------------------------------------------------


class StaffingFilter(filters.FilterSet):
    q = filters.CharFilter(
        label=gettext_lazy("Search"), method="search", help_text=gettext_lazy("Number or title")
    )
    state = filters.ChoiceFilter(
        label=gettext_lazy("State"),
        choices=[c for c in ApplicationState.choices if c[0] in SHOWN_STATES],
        empty_label=gettext_lazy("Any state"),
    )
    staffing = filters.ChoiceFilter(
        label=gettext_lazy("Staffing"),
        choices=[
            ("incomplete", gettext_lazy("Seats open")),
            ("complete", gettext_lazy("Fully staffed")),
        ],
        empty_label=gettext_lazy("All"),
        method="filter_staffing",
    )

    class Meta:
        model = Application
        fields = ["q", "state", "staffing"]

    def __init__(self, *args, call=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.call = call

    def search(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value) | Q(title__icontains=value) | Q(title_en__icontains=value)
        )

    def filter_staffing(self, queryset, name, value):
        need = self.call.reviewers_per_application
        if value == "incomplete":
            return queryset.filter(active_count__lt=need)
        if value == "complete":
            return queryset.filter(active_count__gte=need)
        return queryset


class StaffingTable(tables.Table):
    number = tables.Column(verbose_name=gettext_lazy("Number"), order_by=("number", "id"))
    title = tables.Column(verbose_name=gettext_lazy("Title"))
    state = tables.Column(verbose_name=gettext_lazy("State"))
    active_count = tables.Column(
        verbose_name=gettext_lazy("Reviewers"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
    )
    intl_count = tables.Column(
        verbose_name=gettext_lazy("International"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
    )
    assignments = tables.Column(
        verbose_name=gettext_lazy("Assignments"), empty_values=(), orderable=False
    )
    open_reason = tables.Column(
        verbose_name=gettext_lazy("Why seats are open"), empty_values=(), orderable=False
    )

    class Meta:
        model = Application
        fields = ()
        sequence = (
            "number", "title", "state", "active_count", "intl_count", "assignments",
            "open_reason",
        )  # fmt: skip
        order_by = ("number",)
        empty_text = gettext_lazy("No proposals to staff.")
        attrs = {"class": "data-table"}

    def __init__(self, *args, call, unfilled, **kwargs):
        super().__init__(*args, **kwargs)
        self.call = call
        self.unfilled = unfilled

    def render_title(self, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("grants:detail", args=[record.pk]), record.title
        )

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>', record.state, record.get_state_display()
        )

    def render_active_count(self, record):
        return f"{record.active_count} / {self.call.reviewers_per_application}"

    def render_intl_count(self, record):
        return f"{record.intl_count} / {self.call.min_international_reviewers}"

    def render_assignments(self, record):
        rows = record.review_assignments.all()
        if not rows:
            return format_html('<span class="muted">{}</span>', _("none"))
        return format_html(
            '<ul class="plain">{}</ul>',
            format_html_join(
                "",
                '<li>{}{} <span class="state-pill state-{}">{}</span> '
                '<span class="muted">{}</span></li>',
                (
                    (
                        a.reviewer.display_name,
                        format_html(' <abbr title="{}">(I)</abbr>', _("international"))
                        if a.is_international
                        else "",
                        a.state,
                        a.get_state_display(),
                        _("affinity %(value).2f") % {"value": a.affinity},
                    )
                    for a in rows
                ),
            ),
        )

    def render_open_reason(self, record):
        if record.active_count >= self.call.reviewers_per_application:
            return ""
        reason = self.unfilled.get(str(record.pk))
        return reason or format_html('<span class="muted">{}</span>', _("Run the assignment."))


def staffing_rows(call):
    """The call's proposals with their assignments and counts: a fixed number of queries."""
    return (
        Application.objects.filter(call=call, state__in=SHOWN_STATES)
        .annotate(
            active_count=Count(
                "review_assignments",
                filter=Q(review_assignments__state__in=ACTIVE_ASSIGNMENT_STATES),
            ),
            intl_count=Count(
                "review_assignments",
                filter=Q(
                    review_assignments__state__in=ACTIVE_ASSIGNMENT_STATES,
                    review_assignments__is_international=True,
                ),
            ),
        )
        .prefetch_related(
            Prefetch(
                "review_assignments",
                queryset=ReviewAssignment.objects.select_related("reviewer").order_by("id"),
            )
        )
    )


@login_required
def staffing(request, pk):
    call = _get_call(request.user, pk)
    run = _last_run(call)
    unfilled = (run.result or {}).get("unfilled", {}) if run and run.is_finished else {}
    filterset = StaffingFilter(request.GET or None, queryset=staffing_rows(call), call=call)
    table = StaffingTable(filterset.qs, call=call, unfilled=unfilled)
    configure_table(request, table, PER_PAGE)
    return render(
        request,
        "review/staffing.html",
        {
            "call": call,
            "run": run,
            "filter": filterset,
            "table": table,
            "sync_limit": assignment.SYNC_LIMIT,
        },
    )


@login_required
@require_POST
def staffing_run(request, pk):
    call = _get_call(request.user, pk)
    run = assignment.run_start(call=call, actor=request.user)
    if run.is_finished:
        result = run.result
        messages.success(
            request,
            _("%(n)s new assignments; %(u)s proposals with open seats.")
            % {"n": result.get("assigned", 0), "u": len(result.get("unfilled", {}))},
        )
        return redirect("review:staffing", pk=call.pk)
    messages.info(request, _("The assignment runs in the background."))
    return redirect("review:staffing_run_detail", pk=call.pk, run_pk=run.pk)


@login_required
def staffing_run_detail(request, pk, run_pk):
    call = _get_call(request.user, pk)
    run = get_object_or_404(
        AssignmentRun.objects.select_related("started_by"), pk=run_pk, call=call
    )
    unfilled = []
    if run.is_finished and run.result:
        reasons = run.result.get("unfilled", {})
        numbers = dict(
            Application.objects.filter(pk__in=[int(k) for k in reasons]).values_list("pk", "number")
        )
        unfilled = [(numbers.get(int(k)) or k, v) for k, v in reasons.items()]
    return render(
        request,
        "review/staffing_run.html",
        {"call": call, "run": run, "unfilled": unfilled},
    )


def _find_application(call, value):
    value = (value or "").strip()
    if not value:
        return None
    queryset = Application.objects.filter(call=call).select_related("call")
    if value.isdigit():
        found = queryset.filter(pk=int(value)).first()
        if found:
            return found
    return queryset.filter(number=value).first()


def _find_reviewer(value):
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        found = User.objects.filter(pk=int(value)).first()
        if found:
            return found
    return User.objects.filter(username=value).first()


@login_required
def staffing_why(request, pk):
    """Why a reviewer is (or is not) excluded from a proposal."""
    call = _get_call(request.user, pk)
    application = _find_application(call, request.GET.get("application"))
    reviewer = _find_reviewer(request.GET.get("reviewer"))
    errors = {}
    if request.GET.get("application") and application is None:
        errors["application"] = _("No proposal of this call has this number or id.")
    if request.GET.get("reviewer") and reviewer is None:
        errors["reviewer"] = _("No user has this username or id.")
    reasons = None
    if application is not None and reviewer is not None:
        reasons = assignment.exclusion_reasons(call, application, reviewer)
    return render(
        request,
        "review/staffing_why.html",
        {
            "call": call,
            "application": application,
            "reviewer": reviewer,
            "reasons": reasons,
            "errors": errors,
            "values": {
                "application": request.GET.get("application", ""),
                "reviewer": request.GET.get("reviewer", ""),
            },
        },
    )
