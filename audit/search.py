"""The auditors' one search across the audit chain (transitions and events) and the credit
records, by subject, object, actor and period; and the data of the records charts.

The log is read here; credit records are read through ``integrity.services`` (imported
inside the functions: ``audit``'s models and chain depend on nothing of ours, only these
auditors' pages read the integrity app). One SQL ``UNION`` of both, as plain rows
(``values``), so that a page of results is one query whatever it holds.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

from . import chain
from .models import TransitionLog
from .selectors import visible_entries

RECORD = "record"
SOURCES = [
    (chain.TRANSITION, _("State transitions")),
    (chain.EVENT, _("Changes to money, decisions and records (events)")),
    (RECORD, _("Credit records")),
]
SOURCE_LABELS = {
    chain.TRANSITION: _("transition"),
    chain.EVENT: _("event"),
    RECORD: _("credit record"),
}
#: The row keys of a search result (one union of the log and the records).
COLUMNS = (
    "e_source",
    "e_id",
    "e_time",
    "e_ct",
    "e_object_id",
    "e_object",
    "e_name",
    "e_detail",
    "e_actor",
    "e_actor_name",
    "e_comment",
)


def may_search(user):
    """Auditors, integrity officers and program officers; everyone else gets 404."""
    return user.is_authenticated and (
        user.is_superuser
        or user.has_role(Role.AUDITOR, Role.INTEGRITY_OFFICER, Role.PROGRAM_OFFICER)
    )


def record_content_type():
    from integrity.models import CreditRecord

    return ContentType.objects.get_for_model(CreditRecord)


def _object_types():
    ids = set(TransitionLog.entries.order_by().values_list("content_type_id", flat=True).distinct())
    ids.add(record_content_type().pk)
    return [
        (ct.pk, ct.model_class()._meta.verbose_name if ct.model_class() else ct.model)
        for ct in ContentType.objects.filter(pk__in=ids).order_by("app_label", "model")
    ]


class SearchForm(forms.Form):
    sources = forms.MultipleChoiceField(
        label=_("Search in"),
        choices=SOURCES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    subject = forms.CharField(
        label=_("Subject"),
        required=False,
        help_text=_("Person, institution or agency a record is about, or named in an entry."),
    )
    object_type = forms.TypedChoiceField(
        label=_("Object type"), coerce=int, required=False, empty_value=None
    )
    object = forms.CharField(
        label=_("Object"), required=False, help_text=_("Part of its name or number, or its id.")
    )
    actor = forms.CharField(label=_("Actor"), required=False)
    date_from = forms.DateField(
        label=_("From date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", _("any"))] + _object_types()


def _period(date_from, date_to):
    """Whole days in the site's time zone, inclusive at both ends → [start, end)."""
    start = timezone.make_aware(datetime.combine(date_from, time.min)) if date_from else None
    end = (
        timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
        if date_to
        else None
    )
    return start, end


def _text(value):
    return Value(value, output_field=CharField())


def _log_rows(kinds, data, start, end, record_ids, user=None):
    entries = TransitionLog.entries.filter(kind__in=kinds)
    if user is not None:
        entries = visible_entries(user, entries)
    if data.get("subject"):
        match = Q(object_repr__icontains=data["subject"])
        if record_ids is not None:  # the entries about the subject's credit records
            match |= Q(content_type=record_content_type(), object_id__in=record_ids)
        entries = entries.filter(match)
    if data.get("object_type"):
        entries = entries.filter(content_type_id=data["object_type"])
    if data.get("object"):
        text = data["object"].strip()  # digits only: an id; else part of the name
        match = Q(object_id=int(text)) if text.isdigit() else Q(object_repr__icontains=text)
        entries = entries.filter(match)
    if data.get("actor"):
        entries = entries.filter(
            Q(actor__username__icontains=data["actor"])
            | Q(actor__full_name__icontains=data["actor"])
        )
    if start:
        entries = entries.filter(created_at__gte=start)
    if end:
        entries = entries.filter(created_at__lt=end)
    return (
        entries.annotate(
            e_source=F("kind"),
            e_id=F("id"),
            e_time=F("created_at"),
            e_ct=F("content_type_id"),
            e_object_id=F("object_id"),
            e_object=F("object_repr"),
            e_name=F("transition"),
            e_detail=F("target"),
            e_actor=F("actor__username"),
            e_actor_name=F("actor__full_name"),
            e_comment=F("comment"),
        )
        .order_by()
        .values(*COLUMNS)
    )


def _record_rows(data, start, end):
    from integrity import services as integrity

    records = integrity.records_for_audit(
        subject=data.get("subject") or "",
        actor=data.get("actor") or "",
        date_from=start,
        date_to=end,
    )
    if data.get("object"):
        text = data["object"].strip()
        if text.isdigit():
            match = Q(pk=int(text))
        else:
            match = Q(decision__icontains=text) | Q(category__icontains=text)
        records = records.filter(match)
    subject = Coalesce(
        NullIf(F("subject_user__full_name"), _text("")),
        F("subject_user__username"),
        F("subject_institution__name"),
        F("subject_agency__name"),
        NullIf(F("subject_name"), _text("")),
        _text(""),
        output_field=CharField(),
    )
    return (
        records.annotate(
            e_source=_text(RECORD),
            e_id=F("id"),
            e_time=F("created_at"),
            e_ct=Value(record_content_type().pk),
            e_object_id=F("id"),
            e_object=subject,
            e_name=F("category"),
            e_detail=F("deciding_body"),
            e_actor=F("created_by__username"),
            e_actor_name=F("created_by__full_name"),
            e_comment=F("decision"),
        )
        .order_by()
        .values(*COLUMNS)
    )


def search(data, user=None):
    """The union of matching log entries and credit records: rows of :data:`COLUMNS`,
    newest first (sortable by those names). ``data`` is a valid SearchForm's cleaned data."""
    sources = set(data.get("sources") or [s for s, _label in SOURCES])
    start, end = _period(data.get("date_from"), data.get("date_to"))
    record_ct = record_content_type().pk
    want_records = RECORD in sources and data.get("object_type") in (None, record_ct)
    record_ids = None
    if data.get("subject"):
        from integrity import services as integrity

        record_ids = integrity.records_for_audit(subject=data["subject"]).values("pk")
    parts = []
    kinds = [k for k in (chain.TRANSITION, chain.EVENT) if k in sources]
    if kinds:
        parts.append(_log_rows(kinds, data, start, end, record_ids, user))
    if want_records:
        parts.append(_record_rows(data, start, end))
    if not parts:
        return TransitionLog.entries.none().annotate(e_time=F("created_at")).values("e_time")
    rows = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True)
    return rows.order_by("-e_time", "-e_id")


# --- charts -----------------------------------------------------------------------------------

PALETTE = [
    "#1f5f99",
    "#d9822b",
    "#3a8f5c",
    "#b33c3c",
    "#7a5ba6",
    "#8c6d46",
    "#c75d9c",
    "#6b6b6b",
    "#9fa83a",
    "#2aa3b3",
    "#4d4d99",
    "#99603d",
    "#3d995c",
]
OTHER_LANGUAGE = {"en": "zh-hans", "zh-hans": "en"}


def bilingual(label):
    """(label in the reader's language, the same in the other language of the site)."""
    here = translation.get_language() or "en"
    there = OTHER_LANGUAGE.get(here.lower(), "zh-hans" if here.startswith("en") else "en")
    with translation.override(there):
        other = str(label)
    return str(label), other


def records_chart():
    """Counts of credit records by misconduct kind and year, with the geometry of two SVG
    charts (stacked columns per year; bars per kind): everything the template draws."""
    from integrity import services as integrity
    from integrity.models import MisconductCategory

    counts = integrity.record_counts_by_category_and_year()
    labels = dict(MisconductCategory.choices)
    years = sorted({y for y, _c, _n in counts})
    present = {c for _y, c, _n in counts}
    categories = [c for c in MisconductCategory.values if c in present] + sorted(
        present - set(MisconductCategory.values)
    )
    cell = {(y, c): n for y, c, n in counts}
    kinds = []
    for i, code in enumerate(categories):
        label, other = bilingual(labels.get(code, code))
        kinds.append(
            {
                "code": code,
                "label": label,
                "other": other,
                "color": PALETTE[i % len(PALETTE)],
                "cells": [cell.get((y, code), 0) for y in years],
                "total": sum(cell.get((y, code), 0) for y in years),
            }
        )
    rows = [
        {
            "year": y,
            "cells": [cell.get((y, k["code"]), 0) for k in kinds],
            "total": sum(cell.get((y, k["code"]), 0) for k in kinds),
        }
        for y in years
    ]
    total = sum(r["total"] for r in rows)

    # Stacked columns: one per year, one segment per kind.
    width, height, left, bottom, top = 640, 300, 48, 40, 16
    plot_h = height - bottom - top
    peak = max([r["total"] for r in rows] or [0]) or 1
    step = max(1, -(-peak // 5))
    ticks = [{"value": v, "y": top + plot_h - plot_h * v / peak} for v in range(0, peak + 1, step)]
    slot = (width - left - 8) / max(1, len(rows))
    bar_w = min(48, slot * 0.6)
    columns = []
    for i, row in enumerate(rows):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        segments = []
        for k, n in zip(kinds, row["cells"], strict=True):
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            segments.append({"x": x, "y": y, "h": h, "w": bar_w, "n": n, "kind": k})
        columns.append(
            {
                "year": row["year"],
                "total": row["total"],
                "x_label": x + bar_w / 2,
                "y_total": y - 4,
                "segments": segments,
            }
        )
    stacked = {
        "width": width,
        "height": height,
        "left": left,
        "tick_x": left - 6,
        "baseline": top + plot_h,
        "label_y": top + plot_h + 18,
        "ticks": ticks,
        "columns": columns,
    }

    # Horizontal bars: one per kind, the total over all years.
    bar_h, gap, label_w, bars_w = 22, 8, 0, 400
    most = max([k["total"] for k in kinds] or [0]) or 1
    bars = [
        {
            "kind": k,
            "y": i * (bar_h + gap),
            "w": bars_w * k["total"] / most,
            "text_x": bars_w * k["total"] / most + 6,
        }
        for i, k in enumerate(kinds)
    ]
    by_kind = {
        "width": label_w + bars_w + 60,
        "height": max(1, len(kinds)) * (bar_h + gap),
        "bar_h": bar_h,
        "mid": bar_h / 2,
        "bars": bars,
    }
    return {
        "kinds": kinds,
        "rows": rows,
        "total": total,
        "stacked": stacked,
        "by_kind": by_kind,
    }
