"""Tracking pages: keyword trends (rising topics, CSV) and tracked teams (list, suggestions,
record, add/remove with reason). Program officers, the leadership and auditors (read-only);
everyone else gets 404. Rules live in ``insights.tracking``."""

import csv

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from programs.models import Category, Program

from . import tracking
from .models import TrackedTeam


def _reader(request):
    if not tracking.can_read(request.user):
        raise Http404
    return request.user


def _editor(request):
    _reader(request)
    if not tracking.can_edit(request.user):
        raise Http404
    return request.user


# --- keyword trends -------------------------------------------------------------------


class TrendForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1900, max_value=2999)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", "---------"), *Category.choices]
    )
    program = forms.ModelChoiceField(
        label=_("Program"), required=False, queryset=Program.objects.order_by("name")
    )
    min_count = forms.IntegerField(
        label=_("Minimum proposals in the year"), required=False, min_value=1,
        initial=tracking.MIN_COUNT,
    )  # fmt: skip
    rising = forms.BooleanField(label=_("Rising topics only"), required=False)


class TopicTable(tables.Table):
    label = tables.Column(verbose_name=_("Topic"))
    count = tables.Column(verbose_name=_("Proposals in the year"))
    share = tables.Column(verbose_name=_("Share of the year"))
    previous_mean = tables.Column(verbose_name=_("Mean share, two years before"))
    score = tables.Column(verbose_name=_("Growth score"))
    spark = tables.Column(verbose_name=_("Share by year"), orderable=False)

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}

    def render_share(self, value):
        return f"{value:.1%}"

    def render_previous_mean(self, value):
        return f"{value:.1%}"

    def render_score(self, value):
        return f"{value:.2f}"

    def render_spark(self, record):
        return format_html(
            '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
            'aria-label="{}"><polyline points="{}" fill="none" stroke="currentColor" '
            'stroke-width="1.5"/></svg>',
            tracking.SPARK_W, tracking.SPARK_H, tracking.SPARK_W, tracking.SPARK_H,
            record["spark_label"], record["spark"],
        )  # fmt: skip


def _trends(request):
    form = TrendForm(request.GET or None)
    params = form.cleaned_data if form.is_valid() else {}
    trends = tracking.keyword_trends(
        year=params.get("year"),
        min_count=params.get("min_count") or tracking.MIN_COUNT,
        category=params.get("category") or None,
        program=params.get("program"),
    )
    topics = trends.rising if params.get("rising") else trends.topics
    return form, trends, topics


def _spark_label(topic, years):
    return "; ".join(f"{y}: {topic.counts.get(y, 0)}" for y in years[-6:])


@login_required
def trends(request):
    _reader(request)
    form, result, topics = _trends(request)
    rows = [
        {
            "label": t.label, "count": t.count, "share": t.share,
            "previous_mean": t.previous_mean, "score": t.score, "spark": t.spark,
            "spark_label": _spark_label(t, result.years),
        }
        for t in topics
    ]  # fmt: skip
    table = TopicTable(rows, order_by=request.GET.get("sort"))
    tables.RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "insights/tracking_trends.html", {
        "form": form, "trends": result, "table": table,
        "rising": result.rising[:10], "query": request.GET.urlencode(),
    })  # fmt: skip


@login_required
def trends_csv(request):
    _reader(request)
    _form, result, topics = _trends(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="keyword-trends.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        ["topic", "year", "count", "share", "previous_mean_share", "growth_score", "rising"]
        + [f"count_{y}" for y in result.years]
    )
    for t in topics:
        writer.writerow(
            [t.label, result.year, t.count, f"{t.share:.4f}", f"{t.previous_mean:.4f}",
             f"{t.score:.4f}", int(t.rising)]
            + [t.counts.get(y, 0) for y in result.years]
        )  # fmt: skip
    return response


# --- tracked teams --------------------------------------------------------------------


class TeamFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Team or PI"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), method="by_status", empty_label=_("Tracked now"),
        choices=[("removed", _("Removed")), ("all", _("All, with history"))],
    )  # fmt: skip

    class Meta:
        model = TrackedTeam
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(team_name__icontains=value)
            | Q(pi__full_name__icontains=value)
            | Q(pi__username__icontains=value)
        )

    def by_status(self, queryset, name, value):
        if value == "removed":
            return queryset.filter(removed_at__isnull=False)
        return queryset

    @property
    def qs(self):
        qs = super().qs
        if not self.form.cleaned_data.get("status"):
            qs = qs.filter(removed_at__isnull=True)
        return qs


class TeamTable(tables.Table):
    team_name = tables.Column(verbose_name=_("Team"))
    pi = tables.Column(verbose_name=_("Principal investigator"), accessor="pi__full_name",
                       order_by=("pi__full_name", "pi__username"))  # fmt: skip
    institution = tables.Column(verbose_name=_("Institution"), accessor="pi__institution__name",
                                default="—")  # fmt: skip
    excellent = tables.Column(verbose_name=_("Excellent grades"))
    projects = tables.Column(verbose_name=_("Projects"))
    amount = tables.Column(verbose_name=_("Awarded (CNY)"))
    added_at = tables.DateTimeColumn(verbose_name=_("Tracked since"), format="Y-m-d")
    removed_at = tables.DateTimeColumn(verbose_name=_("Removed"), format="Y-m-d", default="—")

    class Meta:
        model = TrackedTeam
        fields = ()
        sequence = ("team_name", "pi", "institution", "excellent", "projects", "amount",
                    "added_at", "removed_at")  # fmt: skip
        template_name = "tables/table.html"
        order_by = ("-added_at",)

    def render_team_name(self, record, value):
        url = reverse("insights:tracking_team", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, value)

    def render_pi(self, record):
        return str(record.pi)


class SuggestionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Principal investigator"), method="search")

    class Meta:
        model = get_user_model()
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(full_name__icontains=value) | Q(username__icontains=value))


class SuggestionTable(tables.Table):
    pi = tables.Column(verbose_name=_("Principal investigator"), accessor="full_name",
                       order_by=("full_name", "username"))  # fmt: skip
    institution = tables.Column(verbose_name=_("Institution"), accessor="institution__name",
                                default="—")  # fmt: skip
    excellent = tables.Column(verbose_name=_("Excellent grades"))
    projects = tables.Column(verbose_name=_("Projects"))
    amount = tables.Column(verbose_name=_("Awarded (CNY)"))
    action = tables.Column(verbose_name=_("Action"), empty_values=(), orderable=False)

    class Meta:
        model = get_user_model()
        fields = ()
        sequence = ("pi", "institution", "excellent", "projects", "amount", "action")
        template_name = "tables/table.html"
        order_by = ("-excellent",)

    def __init__(self, *args, editable=False, **kwargs):
        self.editable = editable
        super().__init__(*args, **kwargs)

    def render_pi(self, record):
        url = reverse("insights:tracking_pi", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, str(record))

    def render_action(self, record):
        if not self.editable:
            return "—"
        url = reverse("insights:tracking_add", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, _("Track this team"))


@login_required
def teams(request):
    user = _reader(request)
    filterset = TeamFilter(request.GET, queryset=tracking.tracked_teams(include_removed=True))
    table = TeamTable(filterset.qs)
    tables.RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "insights/tracking_teams.html", {
        "filter": filterset, "table": table, "editable": tracking.can_edit(user),
        "min_excellent": tracking.MIN_EXCELLENT,
    })  # fmt: skip


@login_required
def suggestions(request):
    user = _reader(request)
    filterset = SuggestionFilter(request.GET, queryset=tracking.suggestions())
    table = SuggestionTable(filterset.qs, editable=tracking.can_edit(user))
    tables.RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "insights/tracking_suggestions.html", {
        "filter": filterset, "table": table, "min_excellent": tracking.MIN_EXCELLENT,
    })  # fmt: skip


def _pi_context(pi):
    record = tracking.pi_records().get(pk=pi.pk)
    history = (
        TrackedTeam.objects.filter(pi=pi)
        .select_related("added_by", "removed_by")
        .order_by("-added_at", "-id")
    )
    return {"pi": record, "projects": tracking.pi_projects(pi), "history": history,
            "current": next((t for t in history if t.active), None)}  # fmt: skip


@login_required
def pi_record(request, pk):
    user = _reader(request)
    pi = get_object_or_404(get_user_model(), pk=pk)
    context = _pi_context(pi)
    if not context["projects"].exists() and not context["history"].exists():
        raise Http404
    return render(request, "insights/tracking_team.html", {
        **context, "editable": tracking.can_edit(user), "remove_form": RemoveForm(),
    })  # fmt: skip


@login_required
def team(request, pk):
    _reader(request)
    tracked = get_object_or_404(TrackedTeam, pk=pk)
    return redirect("insights:tracking_pi", tracked.pi_id)


class AddForm(forms.Form):
    team_name = forms.CharField(label=_("Team name"), max_length=200)
    reason = forms.CharField(
        label=_("Reason for tracking"), widget=forms.Textarea(attrs={"rows": 3})
    )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for removal"), widget=forms.Textarea(attrs={"rows": 3})
    )


def _apply_errors(form, exc):
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
def team_add(request, pk):
    user = _editor(request)
    pi = get_object_or_404(get_user_model(), pk=pk)
    form = AddForm(request.POST or None, initial={"team_name": str(pi)})
    if request.method == "POST" and form.is_valid():
        try:
            tracking.team_add(pi=pi, by=user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The team is tracked."))
            return redirect("insights:tracking_pi", pi.pk)
    return render(request, "insights/tracking_add.html", {"form": form, "pi": pi})


@login_required
@require_POST
def team_remove(request, pk):
    user = _editor(request)
    tracked = get_object_or_404(TrackedTeam, pk=pk)
    form = RemoveForm(request.POST)
    if form.is_valid():
        try:
            tracking.team_remove(team=tracked, by=user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The team is no longer tracked; its record stays."))
            return redirect("insights:tracking_pi", tracked.pi_id)
    return render(request, "insights/tracking_team.html", {
        **_pi_context(tracked.pi), "editable": True, "remove_form": form,
    }, status=400)  # fmt: skip
