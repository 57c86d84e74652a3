"""Officers' pages of issue 4's gates and credit: the affected list and institutional credit.

- ``affected``: the in-flight objects touched by bars in force, one section per kind that
  other apps registered (``integrity.providers``): proposals, review assignments, approvals
  and awarded projects. Integrity officers, program officers and auditors; others get 404.
- ``credit_list``: institutions (or agencies) with grade, score and every input, filtered,
  sorted and paginated in the database (``integrity.credit.annotate``).
- ``credit_detail``: one organisation's grade with its inputs, weights and points.
"""

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from config.tables import configure as configure_table

from . import credit, services
from .models import Action, CreditRule
from .providers import affected_kinds

PAGE_SIZE = 25


def may_see_affected(user):
    return user.is_authenticated and (
        user.is_superuser
        or user.has_role(Role.INTEGRITY_OFFICER, Role.PROGRAM_OFFICER, Role.AUDITOR)
    )


may_see_credit = may_see_affected


def may_see_credit_box(user):
    """Who sees the institution's grade on a proposal: officers, agency staff, auditors."""
    return may_see_affected(user) or (user.is_authenticated and user.has_role(Role.AGENCY_STAFF))


# --- the affected list ----------------------------------------------------------------------


class AffectedFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Show"), required=False)
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text=gettext_lazy("Number, title, person or institution."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Everything"))] + [
            (k.code, k.label) for k in affected_kinds()
        ]


class AffectedTable(tables.Table):
    object = tables.Column(verbose_name=gettext_lazy("Object"), empty_values=(), orderable=False)
    state = tables.Column(verbose_name=gettext_lazy("State"), empty_values=(), orderable=False)
    where = tables.Column(verbose_name=gettext_lazy("Where"), empty_values=(), orderable=False)
    barred = tables.Column(
        verbose_name=gettext_lazy("Barred, and by which record"),
        empty_values=(),
        orderable=False,
    )

    class Meta:
        attrs = {"class": "list"}
        template_name = "tables/table.html"
        empty_text = gettext_lazy("Nothing touched by a bar in force.")

    def __init__(self, data, *, kind, **kwargs):
        super().__init__(data, prefix=f"{kind.code}-", **kwargs)
        self.kind = kind
        self.caption = kind.label
        self.described = {}

    def describe_page(self):
        """Describe the rows of the shown page and fetch their records: one query."""
        objects = [row.record for row in self.page.object_list] if self.page else []
        rows = [self.kind.describe(obj) for obj in objects]
        found = services.barring_records(
            self.kind.action,
            user_ids={uid for row in rows for uid in row.people},
            institution_ids={iid for row in rows for iid in row.institution_ids},
        )
        for row in rows:
            for uid, part in row.people.items():
                for record in found.get(("user", uid), []):
                    row.records.append((part, record))
            for iid in row.institution_ids:
                for record in found.get(("institution", iid), []):
                    row.records.append((_("institution"), record))
            self.described[row.obj.pk] = row

    def render_object(self, record):
        row = self.described[record.pk]
        return format_html('<a href="{}">{}</a>', row.url, row.title)

    def render_state(self, record):
        return self.described[record.pk].state

    def render_where(self, record):
        return self.described[record.pk].context or "—"

    def render_barred(self, record):
        row = self.described[record.pk]
        return format_html(
            "<ul class='plain'>{}</ul>",
            format_html_join(
                "",
                '<li>{}: {} — <a href="{}">{}</a> ({}, {})</li>',
                (
                    (
                        part,
                        rec.subject,
                        reverse("integrity:record_detail", args=[rec.pk]),
                        _("record %(id)s") % {"id": rec.pk},
                        rec.get_category_display(),
                        _("until %(date)s") % {"date": rec.ends_on.isoformat()}
                        if rec.ends_on
                        else _("permanent"),
                    )
                    for part, rec in row.records
                ),
            ),
        )


@login_required
def affected(request):
    if not may_see_affected(request.user):
        raise Http404
    form = AffectedFilterForm(request.GET or None)
    wanted, text = "", ""
    if form.is_valid():
        wanted, text = form.cleaned_data["kind"], form.cleaned_data["q"].strip()
    sections = []
    for kind in affected_kinds():
        if wanted and kind.code != wanted:
            continue
        users, institutions = services.barred_subjects(kind.action)
        queryset = kind.queryset(request.user, users, institutions)
        if text and kind.search is not None:
            queryset = kind.search(queryset, text)
        table = AffectedTable(queryset, kind=kind)
        configure_table(request, table, PAGE_SIZE)
        table.describe_page()
        sections.append({"kind": kind, "table": table, "action_label": Action(kind.action).label})
    return render(request, "integrity/affected.html", {"form": form, "sections": sections})


# --- institutional credit -------------------------------------------------------------------

KIND_LABELS = {
    "institution": gettext_lazy("Institutions"),
    "agency": gettext_lazy("Agencies"),
}


class CreditFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=gettext_lazy("Name"),
        method="filter_q",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    grade = django_filters.MultipleChoiceFilter(
        label=gettext_lazy("Grade"),
        field_name="credit_grade",
        choices=CreditRule.Grade.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        q = Q(name__icontains=value) | Q(name_en__icontains=value)
        if hasattr(queryset.model, "credit_code"):
            q |= Q(credit_code__icontains=value)
        return queryset.filter(q)


def credit_table_class(kind, inputs):
    columns = {
        "name": tables.Column(
            verbose_name=gettext_lazy("Name"),
            linkify=lambda record: reverse("integrity:credit_detail", args=[kind, record.pk]),
        ),
        "credit_grade": tables.Column(
            verbose_name=gettext_lazy("Grade"), order_by=("credit_score",)
        ),
        "credit_score": tables.Column(verbose_name=gettext_lazy("Score")),
    }
    for item in inputs:
        columns[credit.ANNOTATION_PREFIX + item.code] = tables.Column(
            verbose_name=item.label, attrs={"td": {"class": "num"}, "th": {"class": "num"}}
        )

    def render_credit_grade(self, value):
        return format_html(
            '<span class="state-pill grade grade-{}" title="{}">{}</span>',
            value,
            CreditRule.Grade(value).label,
            value,
        )

    def render_credit_score(self, value):
        return f"{value:.1f}"

    meta = type(
        "Meta",
        (),
        {
            "attrs": {"class": "list"},
            "template_name": "tables/table.html",
            "order_by": ("credit_score",),
        },
    )
    return type(
        "CreditTable",
        (tables.Table,),
        {
            **columns,
            "Meta": meta,
            "render_credit_grade": render_credit_grade,
            "render_credit_score": render_credit_score,
        },
    )


def _kind(value):
    if value not in credit.KINDS:
        raise Http404
    return value


@login_required
def credit_list(request, kind="institution"):
    if not may_see_credit(request.user):
        raise Http404
    kind = _kind(kind)
    rule = CreditRule.current()
    inputs = credit.inputs_for(kind)
    queryset = credit.annotate(credit.KINDS[kind].objects.all(), kind, rule=rule)
    filterset = CreditFilter(request.GET or None, queryset=queryset)
    table = credit_table_class(kind, inputs)(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(
        request,
        "integrity/credit_list.html",
        {
            "filter": filterset,
            "table": table,
            "kind": kind,
            "kinds": KIND_LABELS.items(),
            "kind_label": KIND_LABELS[kind],
            "rule": rule,
            "inputs": [(item, rule.weight(item.code)) for item in inputs],
        },
    )


@login_required
def credit_detail(request, kind, pk):
    if not may_see_credit(request.user):
        raise Http404
    kind = _kind(kind)
    subject = get_object_or_404(credit.KINDS[kind], pk=pk)
    return render(
        request,
        "integrity/credit_detail.html",
        {
            "subject": subject,
            "kind": kind,
            "kind_label": KIND_LABELS[kind],
            "credit": credit.credit_of(subject),
        },
    )
