"""Integrity officers' exchange pages: import another department's list (upload, preview
with row errors and matching report, confirm) and export the serious-dishonesty list.
Everyone else is answered 404."""

import secrets

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.tables import configure as configure_table

from . import exchange
from .api import export_response
from .forms import ImportConfirmForm, ImportForm
from .models import ImportBatch
from .views import may_write

PAGE_SIZE = 25
#: Rows of each part of the report shown on a page (the batch keeps up to REPORT_LIMIT).
SHOWN = 200


def _officer(request):
    if not may_write(request.user):
        raise Http404


def _stash_name(user, token, file_format):
    return f"integrity-imports/{user.pk}/{token}.{file_format}"


def _stash(user, upload, file_format):
    """Keep the uploaded file (private storage) until the officer confirms the preview."""
    token = secrets.token_hex(16)
    upload.seek(0)
    storages["private"].save(_stash_name(user, token, file_format), upload)
    return token


def _stashed(user, token):
    storage = storages["private"]
    for file_format in ("csv", "json"):
        name = _stash_name(user, token, file_format)
        if storage.exists(name):
            return name, file_format
    return None, None


def _run(request, fileobj, filename, source_field, *, dry_run):
    file_format, source, rows, sha = exchange.read_upload(fileobj, filename)
    result = exchange.import_records(
        rows,
        source=source_field or source,
        created_by=request.user,
        dry_run=dry_run,
        file_format=file_format,
        filename=filename,
        sha256=sha,
    )
    return file_format, result


class BatchTable(tables.Table):
    id = tables.Column(
        verbose_name=gettext_lazy("No."), linkify=("integrity:import_detail", [tables.A("pk")])
    )
    created_at = tables.DateTimeColumn(verbose_name=gettext_lazy("Imported at"), format="Y-m-d H:i")
    source = tables.Column(verbose_name=gettext_lazy("Sending department"))
    rows = tables.Column(verbose_name=gettext_lazy("Rows"))
    created = tables.Column(verbose_name=gettext_lazy("Created"))
    duplicates = tables.Column(verbose_name=gettext_lazy("Duplicates"))
    rejected = tables.Column(verbose_name=gettext_lazy("Rejected"))
    matched = tables.Column(verbose_name=gettext_lazy("Linked"))
    ambiguous = tables.Column(verbose_name=gettext_lazy("Ambiguous"))
    unmatched = tables.Column(verbose_name=gettext_lazy("Not linked"))
    created_by = tables.Column(verbose_name=gettext_lazy("Imported by"))

    class Meta:
        model = ImportBatch
        fields = (
            "id",
            "created_at",
            "source",
            "rows",
            "created",
            "duplicates",
            "rejected",
            "matched",
            "ambiguous",
            "unmatched",
            "created_by",
        )
        attrs = {"class": "list"}
        order_by = ("-created_at",)


@login_required
def import_list(request):
    _officer(request)
    table = BatchTable(ImportBatch.objects.select_related("created_by"))
    configure_table(request, table, PAGE_SIZE)
    return render(request, "integrity/import_list.html", {"table": table})


@login_required
def import_start(request):
    """Upload; with "dry run" ticked, a preview that can be confirmed, else the import."""
    _officer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        dry_run = form.cleaned_data["dry_run"]
        try:
            file_format, result = _run(
                request, upload, upload.name, form.cleaned_data["source"], dry_run=dry_run
            )
        except exchange.ExchangeError as exc:
            form.add_error(exc.field if exc.field in form.fields else "file", exc.message)
        else:
            if not dry_run:
                return _imported(request, result)
            token = _stash(request.user, upload, file_format)
            confirm = ImportConfirmForm(
                initial={"token": token, "source": form.cleaned_data["source"]}
            )
            return render(
                request,
                "integrity/import_preview.html",
                {
                    "result": result,
                    "confirm": confirm,
                    "filename": upload.name,
                    **_report(result.report, result.rejected),
                },
            )
    return render(request, "integrity/import_form.html", {"form": form})


@login_required
@require_POST
def import_confirm(request):
    _officer(request)
    form = ImportConfirmForm(request.POST)
    if not form.is_valid():
        raise Http404
    name, file_format = _stashed(request.user, form.cleaned_data["token"])
    if name is None:
        messages.warning(request, _("That preview has expired or was imported; upload again."))
        return redirect("integrity:import_start")
    storage = storages["private"]
    try:
        with storage.open(name, "rb") as f:
            __, result = _run(
                request, f, f"list.{file_format}", form.cleaned_data["source"], dry_run=False
            )
    except exchange.ExchangeError as exc:
        messages.error(request, exc.message)
        return redirect("integrity:import_start")
    finally:
        storage.delete(name)
    return _imported(request, result)


def _imported(request, result):
    messages.success(
        request,
        _("Imported: %(created)s created, %(duplicates)s duplicates, %(rejected)s rejected.")
        % {
            "created": result.created,
            "duplicates": result.duplicates,
            "rejected": len(result.rejected),
        },
    )
    return redirect("integrity:import_detail", pk=result.batch.pk)


def _report(report, rejected):
    return {
        "rejected_rows": rejected[:SHOWN],
        "ambiguous_rows": report.get("ambiguous", [])[:SHOWN],
        "unmatched_rows": report.get("unmatched", [])[:SHOWN],
        "matched_rows": report.get("matched", [])[:SHOWN],
        "shown": SHOWN,
    }


@login_required
def import_detail(request, pk):
    _officer(request)
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)
    report = batch.report or {}
    return render(
        request,
        "integrity/import_detail.html",
        {"batch": batch, **_report(report, report.get("rejected", []))},
    )


@login_required
def export_page(request):
    _officer(request)
    return render(
        request,
        "integrity/export.html",
        {
            "count": exchange.serious_list().count(),
            "formats": [(fmt, exchange.export_serious_list(fmt).sha256) for fmt in ("csv", "json")],
        },
    )


@login_required
def export_download(request, fmt, sidecar=False):
    _officer(request)
    if fmt not in ("csv", "json"):
        raise Http404
    return export_response(exchange.export_serious_list(fmt), sidecar=sidecar)
