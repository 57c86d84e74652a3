"""Staff pages for programs and calls, and the applicants' list of open calls.

Officers see and change every program; agency staff see and work on the programs delegated
to their agency (anything else answers 404); auditors read everything.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.forms import apply_errors
from accounts.roles import Role
from config.tables import configure as configure_table

from . import services
from .filters import OpenCallFilter, ProgramFilter
from .forms import CallForm, ProgramForm
from .models import Call, Program, ScoringScheme
from .permissions import can_manage_program, managed_programs
from .tables import CallTable, OpenCallTable, ProgramTable

PAGE_SIZE = 25


def is_officer(user):
    return user.is_superuser or user.has_role(Role.PROGRAM_OFFICER)


def readable_programs(user):
    """Programs whose staff pages ``user`` may read: managed ones, or all for auditors."""
    if user.is_superuser or user.has_role(Role.PROGRAM_OFFICER, Role.AUDITOR):
        return Program.objects.all()
    return managed_programs(user)


def _get_program(user, pk, *, manage=False):
    program = get_object_or_404(readable_programs(user), pk=pk)
    if manage and not can_manage_program(user, program):
        raise Http404
    return program


def _get_call(user, pk, *, manage=False):
    call = get_object_or_404(
        Call.objects.select_related("program", "program__agency", "rule_set"),
        pk=pk,
        program__in=readable_programs(user),
    )
    if manage and not can_manage_program(user, call.program):
        raise Http404
    return call


@login_required
def program_list(request):
    user = request.user
    if not (
        user.is_superuser or user.has_role(Role.PROGRAM_OFFICER, Role.AGENCY_STAFF, Role.AUDITOR)
    ):
        raise Http404
    queryset = readable_programs(user).select_related("agency").annotate(call_count=Count("calls"))
    filterset = ProgramFilter(request.GET or None, queryset=queryset)
    table = ProgramTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(
        request,
        "programs/program_list.html",
        {"filter": filterset, "table": table, "may_create": is_officer(user)},
    )


@login_required
def program_detail(request, pk):
    program = _get_program(request.user, pk)
    table = CallTable(program.calls.all())
    configure_table(request, table, PAGE_SIZE)
    return render(
        request,
        "programs/program_detail.html",
        {
            "program": program,
            "table": table,
            "may_edit": is_officer(request.user),
            "may_add_call": can_manage_program(request.user, program),
        },
    )


@login_required
def program_create(request):
    if not is_officer(request.user):
        raise Http404
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program = services.program_create(**form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("The program %(program)s has been created.") % {"program": program}
            )
            return redirect("programs:program_detail", pk=program.pk)
    return render(request, "programs/program_form.html", {"form": form, "program": None})


@login_required
def program_update(request, pk):
    if not is_officer(request.user):
        raise Http404
    program = get_object_or_404(Program, pk=pk)
    form = ProgramForm(request.POST or None, instance=Program.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            program = services.program_update(program=program, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("The program %(program)s has been saved.") % {"program": program}
            )
            return redirect("programs:program_detail", pk=program.pk)
    return render(request, "programs/program_form.html", {"form": form, "program": program})


@login_required
def call_detail(request, pk):
    call = _get_call(request.user, pk)
    return render(
        request,
        "programs/call_detail.html",
        {
            "call": call,
            "program": call.program,
            "may_edit": can_manage_program(request.user, call.program),
            "is_open": call.is_open(),
            "scoring_scheme": ScoringScheme(call.effective_scoring_scheme).label,
        },
    )


@login_required
def call_create(request, program_pk):
    program = _get_program(request.user, program_pk, manage=True)
    form = CallForm(request.POST or None, program=program)
    if request.method == "POST" and form.is_valid():
        try:
            call = services.call_create(program=program, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The call %(call)s has been created.") % {"call": call})
            return redirect("programs:call_detail", pk=call.pk)
    return render(
        request, "programs/call_form.html", {"form": form, "program": program, "call": None}
    )


@login_required
def call_update(request, pk):
    call = _get_call(request.user, pk, manage=True)
    form = CallForm(request.POST or None, instance=call, program=call.program)
    if request.method == "POST" and form.is_valid():
        try:
            call = services.call_update(call=call, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The call %(call)s has been saved.") % {"call": call})
            return redirect("programs:call_detail", pk=call.pk)
    return render(
        request,
        "programs/call_form.html",
        {"form": form, "program": call.program, "call": call},
    )


@login_required
def open_calls(request):
    queryset = Call.objects.open_at(timezone.now()).select_related("program")
    filterset = OpenCallFilter(request.GET or None, queryset=queryset)
    table = OpenCallTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(request, "programs/open_calls.html", {"filter": filterset, "table": table})
