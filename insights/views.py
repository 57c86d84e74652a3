"""Dashboards for officers, agency staff (their programs only), auditors and leadership.

Each dashboard is a page of charts with filters (year, category, program, institution);
each chart downloads as SVG, as PNG (the same SVG rasterised by cairosvg, for office
documents that take no SVG) and its data as CSV with the same filters.
Readers other than leadership and agency staff get 404, like every hidden page.
"""

import csv
import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution
from programs.models import Category, Program
from programs.permissions import managed_programs

from . import charts, queries
from .queries import Scope


class FilterForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int, empty_value=None)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All"))] + Category.choices
    )
    program = forms.ModelChoiceField(
        label=_("Program"), required=False, queryset=Program.objects.none(), empty_label=_("All")
    )
    institution = forms.ModelChoiceField(
        label=_("Institution"),
        required=False,
        queryset=Institution.objects.order_by("name"),
        empty_label=_("All"),
    )
    by = forms.ChoiceField(
        label=_("Group by"),
        required=False,
        choices=[
            ("category", _("Category")),
            ("program", _("Program")),
            ("year", _("Year")),
            ("institution", _("Institution")),
        ],
    )

    def __init__(self, *args, user, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("All"))] + [(y, str(y)) for y in years]
        self.fields["program"].queryset = managed_programs(user).order_by("code")

    def scope(self, user):
        data = self.cleaned_data if self.is_valid() else {}
        return Scope.for_user(
            user,
            year=data.get("year"),
            category=data.get("category") or "",
            program=data["program"].pk if data.get("program") else None,
            institution=data["institution"].pk if data.get("institution") else None,
        )

    def group_by(self):
        return (self.cleaned_data.get("by") if self.is_valid() else None) or "category"


def _labels(by, keys):
    """Display names for the keys of a dimension: one query for programs or institutions."""
    if by == "category":
        return dict(Category.choices)
    if by == "program":
        return {p.pk: str(p) for p in Program.objects.filter(pk__in=keys)}
    if by == "institution":
        return {i.pk: i.name for i in Institution.objects.filter(pk__in=keys)}
    return {k: str(k) for k in keys}


def _percent(value):
    return "" if value is None else f"{value * 100:.1f}"


def applications_charts(scope, by):
    rows = queries.application_stats(scope, by)
    labels = _labels(by, [r["key"] for r in rows])
    for r in rows:
        r["label"] = labels.get(r["key"], str(r["key"]))
    header = [
        _("Group"),
        _("Proposals"),
        _("Submitted"),
        _("Awarded"),
        _("Decided"),
        _("Success rate (%)"),
        _("Requested (CNY)"),
        _("Requested by awarded (CNY)"),
    ]
    data = [
        [
            r["label"],
            r["total"],
            r["submitted"],
            r["awarded"],
            r["decided"],
            _percent(r["success_rate"]),
            r["requested"],
            r["granted"],
        ]
        for r in rows
    ]
    return [
        {
            "id": "applications",
            "title": _("Proposals and awards"),
            "series": [
                ("total", _("Proposals")),
                ("submitted", _("Submitted")),
                ("awarded", _("Awarded")),
            ],
            "rows": [(r["label"], r) for r in rows],
            "header": header,
            "data": data,
        },
        {
            "id": "money",
            "title": _("Money requested and awarded (CNY)"),
            "series": [("requested", _("Requested")), ("granted", _("Requested by awarded"))],
            "rows": [(r["label"], r) for r in rows],
            "header": header,
            "data": data,
        },
        {
            "id": "success",
            # xgettext:no-python-format
            "title": _("Success rate (% of decided proposals awarded)"),
            "series": [("rate", _("Success rate (%)"))],
            "rows": [
                (r["label"], {"rate": round(r["success_rate"] * 100, 1)})
                for r in rows
                if r["success_rate"] is not None
            ],
            "header": header,
            "data": data,
        },
    ]


def _call_title(row):
    return row["application__call__title"]


def review_charts(scope, by):
    progress = queries.review_progress(scope)
    load = queries.reviewer_load(scope)
    for r in load:
        r["label"] = r["reviewer__full_name"] or r["reviewer__username"]
    return [
        {
            "id": "progress",
            "title": _("Review progress per call"),
            "series": [
                ("invited", _("Invited")),
                ("accepted", _("Accepted")),
                ("submitted", _("Submitted")),
            ],
            "rows": [(_call_title(r), r) for r in progress],
            "header": [
                _("Call"),
                _("Invited"),
                _("Awaiting answer"),
                _("Accepted"),
                _("Submitted"),
                _("Declined, conflict or expired"),
            ],
            "data": [
                [
                    _call_title(r),
                    r["invited"],
                    r["pending"],
                    r["accepted"],
                    r["submitted"],
                    r["declined"],
                ]
                for r in progress
            ],
        },
        {
            "id": "load",
            "title": _("Reviewer load (the 20 busiest reviewers)"),
            "series": [("open", _("Open")), ("submitted", _("Submitted"))],
            "rows": [(r["label"], r) for r in load],
            "header": [_("Reviewer"), _("Assignments"), _("Open"), _("Submitted")],
            "data": [[r["label"], r["total"], r["open"], r["submitted"]] for r in load],
        },
    ]


def state_charts(scope, by):
    rows = queries.time_in_state(scope)
    return [
        {
            "id": "states",
            "title": _("Median days in each state"),
            "series": [("median_days", _("Median days"))],
            "rows": [(r["label"], r) for r in rows],
            "header": [_("State"), _("Stays"), _("Median days")],
            "data": [[str(r["label"]), r["stays"], f"{r['median_days']:.1f}"] for r in rows],
        }
    ]


def integrity_charts(scope, by):
    rows = queries.integrity_by_kind(scope.year)
    return [
        {
            "id": "records",
            "title": _("Integrity records by kind"),
            "series": [("n", _("Records"))],
            "rows": [(r["label"], r) for r in rows],
            "header": [_("Kind of misconduct"), _("Records")],
            "data": [[str(r["label"]), r["n"]] for r in rows],
        }
    ]


def agency_charts(scope, by):
    grades = queries.agency_grades(scope.year)
    return [
        {
            "id": "grades",
            "title": _("Agency grades (score 0–100)"),
            "series": [("score", _("Score"))],
            "rows": [
                (f"{g.agency.name} {g.year} ({g.grade})", {"score": float(g.score)}) for g in grades
            ],
            "header": [
                _("Agency"),
                _("Year"),
                _("Grade"),
                _("Score"),
                _("Timeliness"),
                _("Outcomes"),
                _("Integrity"),
            ],
            "data": [
                [g.agency.name, g.year, g.grade, g.score, g.timeliness, g.outcomes, g.integrity]
                for g in grades
            ],
        }
    ]


#: slug → (title, builder, leadership only, filters that apply)
DASHBOARDS = {
    "applications": (
        _("Proposals, success rates and money"),
        applications_charts,
        False,
        ("year", "category", "program", "institution", "by"),
    ),
    "reviews": (
        _("Review progress and reviewer load"),
        review_charts,
        False,
        ("year", "category", "program", "institution"),
    ),
    "states": (
        _("Time in each state"),
        state_charts,
        False,
        ("year", "category", "program", "institution"),
    ),
    "integrity": (_("Integrity records by kind"), integrity_charts, True, ("year",)),
    "agencies": (_("Agency grades"), agency_charts, True, ("year",)),
}


def _board(request, board):
    if not queries.may_read(request.user) or board not in DASHBOARDS:
        raise Http404
    title, build, leadership_only, fields = DASHBOARDS[board]
    if leadership_only and not queries.is_leadership(request.user):
        raise Http404
    base = Scope.for_user(request.user)
    form = FilterForm(request.GET or None, user=request.user, years=queries.years(base))
    for name in list(form.fields):
        if name not in fields:
            del form.fields[name]
    scope = form.scope(request.user)
    by = form.group_by() if "by" in fields else "category"
    return title, build(scope, by), form


def _visible_boards(user):
    leader = queries.is_leadership(user)
    return [(slug, t) for slug, (t, _b, only, _f) in DASHBOARDS.items() if leader or not only]


@login_required
def dashboard(request, board="applications"):
    title, built, form = _board(request, board)
    for chart in built:
        chart["svg"] = charts.bar_chart(
            chart["title"], chart["rows"], chart["series"], chart_id=chart["id"]
        ).split("\n", 1)[1]
    return render(
        request,
        "insights/dashboard.html",
        {
            "title": title,
            "board": board,
            "boards": _visible_boards(request.user),
            "charts": built,
            "form": form,
            "query": request.GET.urlencode(),
        },
    )


def _chart(request, board, chart_id):
    _t, built, _f = _board(request, board)
    for chart in built:
        if chart["id"] == chart_id:
            return chart
    raise Http404


@login_required
def chart_svg(request, board, chart):
    c = _chart(request, board, chart)
    response = HttpResponse(
        charts.bar_chart(c["title"], c["rows"], c["series"], chart_id=c["id"]),
        content_type="image/svg+xml; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{board}-{chart}.svg"'
    return response


@login_required
def chart_png(request, board, chart):
    c = _chart(request, board, chart)
    svg = charts.bar_chart(c["title"], c["rows"], c["series"], chart_id=c["id"])
    response = HttpResponse(charts.png(svg), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="{board}-{chart}.png"'
    return response


def _cell(value):
    """Plain text for a spreadsheet: a name cannot smuggle in a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else str(value)


@login_required
def chart_csv(request, board, chart):
    c = _chart(request, board, chart)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(h) for h in c["header"]])
    for row in c["data"]:
        writer.writerow([_cell(v) for v in row])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{board}-{chart}.csv"'
    return response
