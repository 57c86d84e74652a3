"""Public notice pages (no login) and the integrity officers' objection pages.

Views parse input and call ``grants.notice``; identity of objectors is read only through
``grants.notice.objections_for_integrity``.
"""

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit import workflow
from audit.selectors import timeline
from audit.workflow import WorkflowError
from config.security import client_ip, rate_limited
from config.tables import configure as configure_table
from config.uploads import EXTENSIONS, protect_download
from programs.models import Call

from . import notice
from .models import Objection, ObjectionState

K = Objection.Kind


def client_address(request):
    """The client's address, as the rate limits and the sign-in lockout read it."""
    return client_ip(request)


# --- public notice --------------------------------------------------------------------------


def notice_list(request, call_pk=None):
    call = None
    if call_pk is not None:
        call = get_object_or_404(Call.objects.select_related("program"), pk=call_pk)
    rows = list(notice.notices(call=call))
    for row in rows:
        row.window_open = notice.is_window_open(row)
    return render(request, "notices/list.html", {"rows": rows, "call": call})


class ObjectionForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Who objects"),
        choices=K.choices,
        widget=forms.RadioSelect,
        initial=K.PERSON,
    )
    name = forms.CharField(label=gettext_lazy("Real name"), max_length=100, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=32, required=False)
    institution_name = forms.CharField(
        label=gettext_lazy("Institution"), max_length=200, required=False
    )
    seal = forms.FileField(
        label=gettext_lazy("Objection with the institution's seal"),
        required=False,
        help_text=gettext_lazy(
            "Scan or photo of the signed and sealed objection: PDF, JPEG or PNG."
        ),
    )
    text = forms.CharField(
        label=gettext_lazy("Objection"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10000,
        help_text=gettext_lazy("What is wrong, and how you know it."),
    )
    evidence = forms.FileField(
        label=gettext_lazy("Evidence"),
        required=False,
        help_text=gettext_lazy("PDF, JPEG or PNG. Required for an anonymous objection."),
    )


@rate_limited(("objection", "ip"))
def objection_create(request, pk):
    application = get_object_or_404(
        notice.notices().select_related(None).select_related("call", "applicant", "institution"),
        pk=pk,
    )
    if not notice.is_window_open(application):
        messages.error(request, _("The public notice of this proposal is closed."))
        return redirect("notices:list")
    form = ObjectionForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                objection = notice.objection_file(
                    application=application,
                    kind=data["kind"],
                    text=data["text"],
                    name=data["name"],
                    phone=data["phone"],
                    institution_name=data["institution_name"],
                    seal=data["seal"],
                    evidence=data["evidence"],
                    client=client_address(request),
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            except WorkflowError as exc:
                form.add_error(None, exc.detail)
                status = 429 if exc.code == "limit_exceeded" else 409
            else:
                return render(
                    request,
                    "notices/objection_done.html",
                    {"application": application, "objection": objection},
                    status=201,
                )
        else:
            status = 400
    return render(
        request,
        "notices/objection_form.html",
        {"application": application, "form": form},
        status=status,
    )


# --- integrity officers ---------------------------------------------------------------------


def _require_integrity(user):
    if not notice.can_read_identity(user):
        raise Http404(_("No such page."))


class ObjectionFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label=gettext_lazy("State"), choices=ObjectionState.choices)
    number = django_filters.CharFilter(
        label=gettext_lazy("Proposal number"),
        field_name="application__number",
        lookup_expr="icontains",
    )

    class Meta:
        model = Objection
        fields = ["state", "number"]


class ObjectionTable(tables.Table):
    confirmation_number = tables.Column(verbose_name=gettext_lazy("Confirmation number"))
    application = tables.Column(
        verbose_name=gettext_lazy("Proposal"), order_by=("application__number",)
    )
    kind = tables.Column(verbose_name=gettext_lazy("Objector"))
    objector = tables.Column(verbose_name=gettext_lazy("Name"), empty_values=(), orderable=False)
    state = tables.Column(verbose_name=gettext_lazy("State"))
    created_at = tables.DateTimeColumn(verbose_name=gettext_lazy("Filed"), format="Y-m-d H:i")

    class Meta:
        model = Objection
        fields = ("confirmation_number", "application", "kind", "objector", "state", "created_at")
        order_by = ("-created_at",)
        attrs = {"class": "table"}

    def render_confirmation_number(self, record, value):
        return format_html(
            '<a href="{}">{}</a>', reverse("notices:objection_detail", args=[record.pk]), value
        )

    def render_application(self, record):
        return f"{record.application.number} {record.application.title}"

    def render_objector(self, record):
        if record.kind == K.PERSON:
            return f"{record.name} ({record.phone})"
        if record.kind == K.INSTITUTION:
            return record.institution_name
        return "—"

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>', record.state, record.get_state_display()
        )


@login_required
def objection_list(request):
    _require_integrity(request.user)
    filterset = ObjectionFilter(
        request.GET or {"state": ObjectionState.OPEN},
        queryset=notice.objections_for_integrity(request.user),
    )
    table = ObjectionTable(filterset.qs)
    configure_table(request, table)
    return render(request, "notices/objection_list.html", {"filter": filterset, "table": table})


class ResolveForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text=gettext_lazy("Required; recorded in the log. An upheld objection lets the "
                               "program officer revoke the approval."),
    )  # fmt: skip


def _objection(request, pk):
    _require_integrity(request.user)
    return get_object_or_404(notice.objections_for_integrity(request.user), pk=pk)


def _detail(request, objection, forms_by_name=None, status=200):
    forms_by_name = forms_by_name or {}
    steps = [
        (info, forms_by_name.get(info.name) or ResolveForm(prefix=info.name))
        for info in workflow.available(objection, request.user)
    ]
    return render(
        request,
        "notices/objection_detail.html",
        {"objection": objection, "steps": steps, "entries": timeline(objection)},
        status=status,
    )


@login_required
def objection_detail(request, pk):
    return _detail(request, _objection(request, pk))


@login_required
@require_POST
def objection_resolve(request, pk, name):
    objection = _objection(request, pk)
    if name not in ("uphold", "dismiss"):
        raise Http404(_("No such step."))
    form = ResolveForm(request.POST, prefix=name)
    if form.is_valid():
        try:
            notice.objection_resolve(
                objection=objection,
                user=request.user,
                name=name,
                reason=form.cleaned_data["reason"],
            )
        except WorkflowError as exc:
            messages.error(request, exc.detail)
            return _detail(request, objection, {name: form}, status=409)
        except ValidationError as exc:
            form.add_error("reason", exc.messages)
        else:
            if name == "uphold":
                messages.success(
                    request,
                    _("Objection upheld. The program officer may now revoke the approval of "
                      "proposal %(number)s.") % {"number": objection.application.number},
                )  # fmt: skip
            else:
                messages.success(request, _("Objection dismissed."))
            return redirect("notices:objection_detail", pk=objection.pk)
    return _detail(request, objection, {name: form}, status=400)


@login_required
def objection_file(request, pk, field):
    objection = _objection(request, pk)
    if field not in ("seal", "evidence"):
        raise Http404(_("No such file."))
    stored = getattr(objection, field)
    if not stored:
        raise Http404(_("No such file."))
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing.")) from None
    extension = stored.name.rsplit(".", 1)[-1].lower()
    mime = {ext: m for m, ext in EXTENSIONS.items()}.get(extension, "application/octet-stream")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{objection.confirmation_number}-{field}.{extension}",
        content_type=mime,
    )
    return protect_download(response)
