"""The integrity officer's credit records: write (integrity officers), read (auditors and
program officers too); anyone else is answered 404."""

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.forms import apply_errors
from accounts.roles import Role
from config.tables import configure as configure_table

from . import services
from .forms import RecordFilter, RecordForm, RecordStatus
from .models import Action, CreditRecord

PAGE_SIZE = 25


def may_write(user):
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.INTEGRITY_OFFICER))


def may_read(user):
    return user.is_authenticated and (
        user.is_superuser
        or user.has_role(Role.INTEGRITY_OFFICER, Role.AUDITOR, Role.PROGRAM_OFFICER)
    )


def status_of(record, today=None):
    today = today or timezone.localdate()
    if getattr(record, "superseded_by", None) is not None:
        return RecordStatus.SUPERSEDED
    if record.starts_on > today:
        return RecordStatus.UPCOMING
    if record.ends_on is not None and record.ends_on < today:
        return RecordStatus.EXPIRED
    return RecordStatus.IN_FORCE


def status_label(status):
    return dict(RecordStatus.CHOICES)[status]


def records():
    return CreditRecord.objects.select_related(
        "subject_user", "subject_institution", "superseded_by", "supersedes", "created_by"
    )


class RecordTable(tables.Table):
    id = tables.Column(
        verbose_name=gettext_lazy("No."), linkify=("integrity:record_detail", [tables.A("pk")])
    )
    subject = tables.Column(
        verbose_name=gettext_lazy("Subject"),
        empty_values=(),
        order_by=("subject_user__full_name", "subject_institution__name"),
        linkify=("integrity:record_detail", [tables.A("pk")]),
    )
    category = tables.Column(verbose_name=gettext_lazy("Misconduct"))
    bars = tables.Column(verbose_name=gettext_lazy("Bars"), empty_values=(), orderable=False)
    starts_on = tables.DateColumn(verbose_name=gettext_lazy("Takes effect"), format="Y-m-d")
    ends_on = tables.DateColumn(
        verbose_name=gettext_lazy("Ends"), format="Y-m-d", default=gettext_lazy("permanent")
    )
    status = tables.Column(verbose_name=gettext_lazy("Status"), empty_values=(), orderable=False)
    deciding_body = tables.Column(verbose_name=gettext_lazy("Deciding body"))

    class Meta:
        model = CreditRecord
        fields = (
            "id",
            "subject",
            "category",
            "bars",
            "starts_on",
            "ends_on",
            "status",
            "deciding_body",
        )
        attrs = {"class": "list"}
        order_by = ("-starts_on",)

    def render_subject(self, record):
        return " / ".join(str(s) for s in (record.subject_user, record.subject_institution) if s)

    def render_bars(self, record):
        labels = dict(Action.choices)
        return ", ".join(str(labels[a]) for a in record.bars) or "—"

    def render_status(self, record):
        status = status_of(record)
        return format_html(
            '<span class="state-pill state-{}">{}</span>', status, status_label(status)
        )


@login_required
def record_list(request):
    if not may_read(request.user):
        raise Http404
    filterset = RecordFilter(request.GET or None, queryset=records())
    table = RecordTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(
        request,
        "integrity/record_list.html",
        {"filter": filterset, "table": table, "may_write": may_write(request.user)},
    )


def _save(request, form, *, record=None):
    data = dict(form.cleaned_data)
    bars = data.pop("bars")
    try:
        if record is None:
            return services.record_create(created_by=request.user, bars=bars, **data)
        return services.record_correct(record=record, created_by=request.user, bars=bars, **data)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None


@login_required
def record_create(request):
    if not may_write(request.user):
        raise Http404
    form = RecordForm(request.POST or None, initial={"starts_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        record = _save(request, form)
        if record is not None:
            messages.success(
                request, _("Credit record %(id)s has been recorded.") % {"id": record.pk}
            )
            return redirect("integrity:record_detail", pk=record.pk)
    return render(request, "integrity/record_form.html", {"form": form, "record": None})


@login_required
def record_detail(request, pk):
    if not may_read(request.user):
        raise Http404
    record = get_object_or_404(records(), pk=pk)
    status = status_of(record)
    return render(
        request,
        "integrity/record_detail.html",
        {
            "record": record,
            "status": status,
            "status_label": status_label(status),
            "bars": [label for value, label in Action.choices if value in record.bars],
            "may_correct": may_write(request.user) and status != RecordStatus.SUPERSEDED,
        },
    )


@login_required
def record_correct(request, pk):
    if not may_write(request.user):
        raise Http404
    record = get_object_or_404(records(), pk=pk)
    if status_of(record) == RecordStatus.SUPERSEDED:
        messages.warning(
            request, _("This record has already been corrected; correct the newest record.")
        )
        return redirect("integrity:record_detail", pk=record.superseded_by.pk)
    form = RecordForm(request.POST or None, initial=RecordForm.initial_from(record))
    if request.method == "POST" and form.is_valid():
        new = _save(request, form, record=record)
        if new is not None:
            messages.success(
                request,
                _("Correction recorded: record %(new)s supersedes record %(old)s.")
                % {"new": new.pk, "old": record.pk},
            )
            return redirect("integrity:record_detail", pk=new.pk)
    return render(request, "integrity/record_form.html", {"form": form, "record": record})
