"""The auditor's read-only browser over the transition log, and its CSV export."""

import csv
from datetime import datetime, time, timedelta

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from config.tables import configure as configure_table

from .models import TransitionLog
from .selectors import visible_entries
from .workflow import transition_labels

PAGE_SIZE = 50

#: Where an object of a logged type is shown: (app_label, model) → URL name taking its id.
OBJECT_URLS = {
    ("grants", "application"): "grants:detail",
}


def may_read(user):
    return user.is_authenticated and (
        user.is_superuser or user.has_role(Role.AUDITOR, Role.PROGRAM_OFFICER)
    )


def object_url(entry):
    ct = ContentType.objects.get_for_id(entry.content_type_id)
    name = OBJECT_URLS.get((ct.app_label, ct.model))
    if name is None:
        return None
    try:
        return reverse(name, args=[entry.object_id])
    except NoReverseMatch:
        return None


def _logged_types(request=None):
    ids = TransitionLog.objects.order_by().values_list("content_type_id", flat=True).distinct()
    return ContentType.objects.filter(pk__in=ids).order_by("app_label", "model")


class LogFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Object"), method="search")
    object_type = django_filters.ModelChoiceFilter(
        label=_("Object type"), field_name="content_type", queryset=_logged_types
    )
    transition = django_filters.ChoiceFilter(label=_("Transition"), choices=[])
    actor = django_filters.CharFilter(label=_("Actor"), method="filter_actor")
    date_from = django_filters.DateFilter(
        label=_("From date"),
        field_name="created_at",
        method="filter_from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("To date"),
        field_name="created_at",
        method="filter_to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = TransitionLog
        fields = ["q", "object_type", "transition", "actor", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = (
            TransitionLog.objects.order_by("transition")
            .values_list("transition", flat=True)
            .distinct()
        )
        labels = transition_labels()
        self.filters["transition"].extra["choices"] = [
            (n, f"{labels[n]} ({n})" if n in labels else n) for n in names
        ]

    def search(self, queryset, name, value):
        return queryset.filter(Q(object_repr__icontains=value) | Q(comment__icontains=value))

    def filter_actor(self, queryset, name, value):
        return queryset.filter(
            Q(actor__username__icontains=value) | Q(actor__full_name__icontains=value)
        )

    # Whole days in the site's time zone, inclusive at both ends.
    def filter_from(self, queryset, name, value):
        start = timezone.make_aware(datetime.combine(value, time.min))
        return queryset.filter(created_at__gte=start)

    def filter_to(self, queryset, name, value):
        end = timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min))
        return queryset.filter(created_at__lt=end)


class LogTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    content_type = tables.Column(
        verbose_name=_("Object type"), order_by=("content_type__app_label", "content_type__model")
    )
    object_repr = tables.Column(verbose_name=_("Object"))
    transition = tables.Column(verbose_name=_("Transition"))
    source = tables.Column(verbose_name=_("From state"))
    target = tables.Column(verbose_name=_("To state"))
    actor = tables.Column(
        verbose_name=_("Actor"), order_by=("actor__username",), default=_("system")
    )
    actor_roles = tables.Column(verbose_name=_("Actor's roles"), orderable=False)
    comment = tables.Column(verbose_name=_("Comment"), orderable=False, default="")

    class Meta:
        model = TransitionLog
        fields = (
            "created_at",
            "content_type",
            "object_repr",
            "transition",
            "source",
            "target",
            "actor",
            "actor_roles",
            "comment",
        )
        attrs = {"class": "list"}
        order_by = ("-created_at",)

    # Words in the reader's language, with the stable code an auditor can search for.
    def render_transition(self, record):
        return format_html(
            '{} <code class="muted">{}</code>', record.transition_label, record.transition
        )

    def render_source(self, record):
        return record.source_label

    def render_target(self, record):
        return record.target_label

    def render_content_type(self, record):
        model = ContentType.objects.get_for_id(record.content_type_id).model_class()
        return model._meta.verbose_name if model else record.content_type

    def render_object_repr(self, record, value):
        url = object_url(record)
        if url:
            return format_html('<a href="{}">{}</a>', url, value)
        return value

    def render_actor(self, record):
        return record.actor.display_name

    def render_actor_roles(self, value):
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(v, v)) for v in value) or "—"


def _filtered(request):
    if not may_read(request.user):
        raise Http404
    queryset = visible_entries(
        request.user, TransitionLog.objects.select_related("actor", "content_type")
    )
    return LogFilter(request.GET or None, queryset=queryset)


@login_required
def log(request):
    filterset = _filtered(request)
    table = LogTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(request, "audit/log.html", {"filter": filterset, "table": table})


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """Plain text for a spreadsheet: no formulas smuggled in through a comment."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


@login_required
def log_csv(request):
    filterset = _filtered(request)
    queryset = filterset.qs.order_by("created_at", "id")
    writer = csv.writer(_Echo())
    header = [
        "id",
        "time",
        "object_type",
        "object_id",
        "object",
        "transition",
        "from",
        "to",
        "actor",
        "actor_roles",
        "comment",
    ]

    def rows():
        yield "\ufeff"  # so that spreadsheet programs read the Chinese text as UTF-8
        yield writer.writerow(header)
        for e in queryset.iterator(chunk_size=500):
            yield writer.writerow(
                _cell(v)
                for v in (
                    e.pk,
                    timezone.localtime(e.created_at).isoformat(),
                    f"{e.content_type.app_label}.{e.content_type.model}",
                    e.object_id,
                    e.object_repr,
                    e.transition,
                    e.source,
                    e.target,
                    e.actor.username if e.actor else "",
                    " ".join(e.actor_roles or []),
                    e.comment,
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="transition-log-{stamp}.csv"'
    return response


# --- the auditors' search across all logs and records, and the records charts ---------------

OBJECT_URLS[("integrity", "creditrecord")] = "integrity:record_detail"


def _search_reader(request):
    from .search import may_search

    if not may_search(request.user):
        raise Http404


def _url_for(ct_id, object_id):
    ct = ContentType.objects.get_for_id(ct_id)
    name = OBJECT_URLS.get((ct.app_label, ct.model))
    if name is None:
        return None
    try:
        return reverse(name, args=[object_id])
    except NoReverseMatch:
        return None


class SearchTable(tables.Table):
    e_time = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    e_source = tables.Column(verbose_name=_("Source"))
    e_ct = tables.Column(verbose_name=_("Object type"), orderable=False)
    e_object = tables.Column(verbose_name=_("Object or subject"), orderable=False, default="")
    e_name = tables.Column(verbose_name=_("What"))
    e_detail = tables.Column(verbose_name=_("Detail"), orderable=False, default="")
    e_actor = tables.Column(verbose_name=_("Actor"), default=_("system"))
    e_comment = tables.Column(verbose_name=_("Comment or decision"), orderable=False, default="")

    class Meta:
        attrs = {"class": "list"}
        order_by = ("-e_time",)
        sequence = (
            "e_time",
            "e_source",
            "e_ct",
            "e_object",
            "e_name",
            "e_detail",
            "e_actor",
            "e_comment",
        )

    def render_e_source(self, value):
        from .search import SOURCE_LABELS

        return SOURCE_LABELS.get(value, value)

    def render_e_ct(self, value):
        model = ContentType.objects.get_for_id(value).model_class()
        return model._meta.verbose_name if model else value

    def render_e_object(self, record, value):
        url = _url_for(record["e_ct"], record["e_object_id"])
        text = f"{value} (#{record['e_object_id']})"
        if url:
            return format_html('<a href="{}">{}</a>', url, text)
        return text

    def render_e_name(self, record, value):
        from .search import RECORD

        if record["e_source"] == RECORD:
            from integrity.models import MisconductCategory

            label = dict(MisconductCategory.choices).get(value, value)
        else:
            label = value
        return format_html('{} <code class="muted">{}</code>', label, value)

    def render_e_actor(self, record, value):
        return record["e_actor_name"] or value


def _search(request):
    from .search import SearchForm, search

    _search_reader(request)
    form = SearchForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    return form, search(data, user=request.user)


@login_required
def search_page(request):
    form, rows = _search(request)
    table = SearchTable(rows)
    configure_table(request, table, PAGE_SIZE)
    return render(request, "audit/search.html", {"form": form, "table": table})


@login_required
def search_csv(request):
    _form, rows = _search(request)
    writer = csv.writer(_Echo())
    header = [
        "source",
        "id",
        "time",
        "object_type",
        "object_id",
        "object",
        "what",
        "detail",
        "actor",
        "comment",
    ]
    types = {}

    def type_of(ct_id):
        if ct_id not in types:
            ct = ContentType.objects.get_for_id(ct_id)
            types[ct_id] = f"{ct.app_label}.{ct.model}"
        return types[ct_id]

    def lines():
        yield "\ufeff"  # spreadsheet programs read the Chinese text as UTF-8
        yield writer.writerow(header)
        for r in rows.iterator(chunk_size=1000):
            yield writer.writerow(
                _cell(v)
                for v in (
                    r["e_source"],
                    r["e_id"],
                    timezone.localtime(r["e_time"]).isoformat(),
                    type_of(r["e_ct"]),
                    r["e_object_id"],
                    r["e_object"],
                    r["e_name"],
                    r["e_detail"],
                    r["e_actor"] or "",
                    r["e_comment"],
                )
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-search-{stamp}.csv"'
    return response


@login_required
def charts(request):
    from .search import records_chart

    _search_reader(request)
    return render(request, "audit/charts.html", {"chart": records_chart()})


@login_required
def charts_csv(request):
    from .search import records_chart

    _search_reader(request)
    chart = records_chart()
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"
        yield writer.writerow(["year", "kind", "kind_label", "kind_label_other", "records"])
        for row in chart["rows"]:
            for kind, n in zip(chart["kinds"], row["cells"], strict=True):
                yield writer.writerow(
                    _cell(v) for v in (row["year"], kind["code"], kind["label"], kind["other"], n)
                )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="credit-records-by-kind-and-year.csv"'
    return response
