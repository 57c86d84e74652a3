"""Misconduct-case pages.

- Integrity officers: the case list, a case with its reporter, subjects, evidence,
  investigation requests, decision and appeal forms, and the timeline; paper reports.
- Auditors: the same list and case, read-only, without the reporter and without files.
- Any signed-in user: the "report misconduct" form.
- A subject: the decided cases about them (decision, deadline, appeal) — no reporter, no
  evidence, no investigation.
- An institution's administrators: the investigation requests addressed to it, and the
  upload of their report.
Everyone else gets 404. Every change goes through ``integrity.cases``.
"""

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.forms import apply_errors
from accounts.roles import Role
from audit import workflow
from audit.selectors import timeline
from audit.workflow import WorkflowError
from config.tables import configure as configure_table
from config.uploads import protect_download

from . import cases
from .forms_cases import (
    AnswerForm,
    AppealDecisionForm,
    AppealForm,
    CaseFilter,
    CommentForm,
    DecisionForm,
    EvidenceForm,
    InvestigationRequestForm,
    InvestigatorForm,
    PaperReportForm,
    ReportForm,
    SubjectForm,
)
from .models import CaseChannel, CaseEvidence, CaseState, InvestigationRequest, MisconductCase

PAGE_SIZE = 25
#: Transitions the subject's page shows in its timeline (the office's inner steps are not
#: theirs to read).
SUBJECT_TIMELINE = ("decide", "appeal", "decide_appeal", "finalize")


def _readable_case(request, pk):
    if not cases.may_read_cases(request.user):
        raise Http404
    return get_object_or_404(cases.cases_for_reader(request.user), pk=pk)


def _officer_case(request, pk):
    if not cases.is_integrity_officer(request.user):
        raise Http404
    return get_object_or_404(MisconductCase.objects.all(), pk=pk)


def _file_response(field, filename, content_type):
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    return protect_download(response)


def _refuse(request, exc):
    if isinstance(exc, WorkflowError):
        messages.error(request, exc.detail)
    elif isinstance(exc, ValidationError):
        for line in exc.messages:
            messages.error(request, line)


# --- the list -------------------------------------------------------------------------------


class CaseTable(tables.Table):
    number = tables.Column(
        verbose_name=gettext_lazy("Case"), linkify=("integrity:case_detail", [tables.A("pk")])
    )
    title = tables.Column(verbose_name=gettext_lazy("Summary"))
    subjects = tables.Column(
        verbose_name=gettext_lazy("Subjects"), empty_values=(), orderable=False
    )
    state = tables.Column(verbose_name=gettext_lazy("State"))
    kind = tables.Column(verbose_name=gettext_lazy("Misconduct"))
    investigator = tables.Column(
        verbose_name=gettext_lazy("Investigator"), order_by=("investigator__full_name",)
    )
    created_at = tables.DateColumn(verbose_name=gettext_lazy("Reported"), format="Y-m-d")
    appeal_deadline = tables.DateColumn(verbose_name=gettext_lazy("Appeal until"), format="Y-m-d")
    overdue = tables.Column(
        verbose_name=gettext_lazy("Institution's report"),
        empty_values=(),
        order_by=("-has_overdue_request",),
        accessor="has_overdue_request",
    )

    class Meta:
        model = MisconductCase
        fields = (
            "number",
            "title",
            "subjects",
            "state",
            "kind",
            "investigator",
            "created_at",
            "appeal_deadline",
            "overdue",
        )
        attrs = {"class": "list"}
        order_by = ("-created_at",)

    def render_subjects(self, record):
        return format_html_join(", ", "{}", ((str(s),) for s in record.subjects.all())) or "—"

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>', record.state, record.get_state_display()
        )

    def render_investigator(self, record):
        return record.investigator.display_name if record.investigator else "—"

    def render_overdue(self, record):
        if record.has_overdue_request:
            return format_html('<span class="state-pill state-overdue">{}</span>', _("overdue"))
        return "—"


@login_required
def case_list(request):
    if not cases.may_read_cases(request.user):
        raise Http404
    filterset = CaseFilter(request.GET or None, queryset=cases.cases_for_reader(request.user))
    table = CaseTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    overdue = None
    if cases.is_integrity_officer(request.user):
        overdue = list(cases.overdue_requests().order_by("due_on", "id")[:50])
    return render(
        request,
        "integrity/case_list.html",
        {
            "filter": filterset,
            "table": table,
            "overdue_requests": overdue,
            "is_officer": cases.is_integrity_officer(request.user),
        },
    )


# --- reporting ------------------------------------------------------------------------------


@login_required
def case_report(request):
    """Any signed-in user reports misconduct; they get a case number back, no more."""
    form = ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = cases.case_report(
                channel=CaseChannel.USER,
                title=data["title"],
                allegation=data["allegation"],
                kind=data["kind"],
                subjects=[{"name": data["subject_name"], "identity": data["subject_identity"]}],
                reporter_user=request.user,
                evidence=[data["evidence"]] if data.get("evidence") else [],
                created_by=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render(request, "integrity/case_reported.html", {"number": case.number})
    return render(request, "integrity/case_report.html", {"form": form})


@login_required
def case_paper(request):
    if not cases.is_integrity_officer(request.user):
        raise Http404
    form = PaperReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = cases.case_report(
                channel=CaseChannel.PAPER,
                title=data["title"],
                allegation=data["allegation"],
                kind=data["kind"],
                subjects=[form.subject()] if form.has_subject() else [],
                reporter_name=data["reporter_name"],
                reporter_phone=data["reporter_phone"],
                reporter_email=data["reporter_email"],
                reporter_organisation=data["reporter_organisation"],
                reference_text=data["reference_text"],
                evidence=[data["evidence"]] if data.get("evidence") else [],
                created_by=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Case %(number)s is open.") % {"number": case.number})
            return redirect("integrity:case_detail", pk=case.pk)
    return render(request, "integrity/case_paper.html", {"form": form})


# --- one case -------------------------------------------------------------------------------


def _detail_context(request, case, **forms):
    user = request.user
    officer = cases.is_integrity_officer(user)
    context = {
        "case": case,
        "subjects": list(case.subjects.all()),
        "is_officer": officer,
        "show_reporter": cases.may_read_reporter(user),
        "show_files": cases.may_read_files(user),
        "requests": list(case.investigation_requests.select_related("institution")),
        "records": list(case.records.select_related("subject_user", "subject_institution")),
        "entries": timeline(case),
        "available": workflow.available(case, user),
        "open": case.state in (CaseState.REPORTED, CaseState.INVESTIGATING),
    }
    if context["show_files"]:
        context["evidence"] = list(case.evidence.all())
    if officer:
        context.update(
            {
                "subject_form": SubjectForm(prefix="subject"),
                "evidence_form": EvidenceForm(prefix="evidence"),
                "investigator_form": InvestigatorForm(
                    prefix="inv", initial={"investigator": case.investigator_id}
                ),
                "request_form": InvestigationRequestForm(prefix="req"),
                "comment_form": CommentForm(prefix="step"),
                "decision_form": DecisionForm(prefix="decide"),
                "appeal_decision_form": AppealDecisionForm(prefix="appeal"),
            }
        )
    context.update(forms)
    return context


def _render_detail(request, case, status=200, **forms):
    return render(
        request,
        "integrity/case_detail.html",
        _detail_context(request, case, **forms),
        status=status,
    )


@login_required
def case_detail(request, pk):
    case = _readable_case(request, pk)
    return _render_detail(request, case)


@login_required
@require_POST
def case_step(request, pk, name):
    case = _officer_case(request, pk)
    forms = {}
    data = {}
    if name == "decide":
        form = DecisionForm(request.POST, prefix="decide")
        forms["decision_form"] = form
    elif name == "decide_appeal":
        form = AppealDecisionForm(request.POST, prefix="appeal")
        forms["appeal_decision_form"] = form
    else:
        form = CommentForm(request.POST, prefix="step")
        forms["comment_form"] = form
    if not form.is_valid():
        return _render_detail(request, case, status=400, **forms)
    data = dict(form.cleaned_data)
    comment = data.pop("comment", "")
    try:
        case = cases.case_transition(
            case=case, name=name, user=request.user, comment=comment, data=data
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and name in ("decide", "decide_appeal"):
            apply_errors(form, exc)
        else:
            _refuse(request, exc)
        return _render_detail(request, _officer_case(request, pk), status=400, **forms)
    except WorkflowError as exc:
        _refuse(request, exc)
        return _render_detail(request, _officer_case(request, pk), status=409, **forms)
    messages.success(
        request,
        _("Case %(number)s: %(state)s.")
        % {"number": case.number, "state": case.get_state_display()},
    )
    return redirect("integrity:case_detail", pk=case.pk)


@login_required
@require_POST
def case_subject_add(request, pk):
    case = _officer_case(request, pk)
    form = SubjectForm(request.POST, prefix="subject")
    if form.is_valid():
        try:
            cases.case_subject_add(case=case, user=request.user, **form.subject())
        except (ValidationError, WorkflowError) as exc:
            _refuse(request, exc)
        else:
            return redirect("integrity:case_detail", pk=case.pk)
    return _render_detail(request, case, status=400, subject_form=form)


@login_required
@require_POST
def case_subject_remove(request, pk, subject_pk):
    case = _officer_case(request, pk)
    try:
        cases.case_subject_remove(case=case, user=request.user, subject_id=subject_pk)
    except WorkflowError as exc:
        _refuse(request, exc)
    return redirect("integrity:case_detail", pk=case.pk)


@login_required
@require_POST
def case_evidence_add(request, pk):
    case = _officer_case(request, pk)
    form = EvidenceForm(request.POST, request.FILES, prefix="evidence")
    if form.is_valid():
        try:
            cases.evidence_add(
                case=case,
                user=request.user,
                upload=form.cleaned_data["file"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except WorkflowError as exc:
            _refuse(request, exc)
        else:
            return redirect("integrity:case_detail", pk=case.pk)
    return _render_detail(request, case, status=400, evidence_form=form)


@login_required
def case_evidence(request, pk, evidence_pk):
    """Evidence files: integrity officers only; anyone else (auditors too) gets 404."""
    if not cases.may_read_files(request.user):
        raise Http404
    evidence = get_object_or_404(CaseEvidence, pk=evidence_pk, case_id=pk)
    return _file_response(
        evidence.file, evidence.original_name or evidence.file.name, evidence.content_type
    )


@login_required
@require_POST
def case_investigator(request, pk):
    case = _officer_case(request, pk)
    form = InvestigatorForm(request.POST, prefix="inv")
    if form.is_valid():
        try:
            cases.case_assign_investigator(
                case=case, user=request.user, investigator=form.cleaned_data["investigator"]
            )
        except (ValidationError, WorkflowError) as exc:
            _refuse(request, exc)
        else:
            return redirect("integrity:case_detail", pk=case.pk)
    return _render_detail(request, case, status=400, investigator_form=form)


@login_required
@require_POST
def case_request_add(request, pk):
    case = _officer_case(request, pk)
    form = InvestigationRequestForm(request.POST, prefix="req")
    if form.is_valid():
        try:
            cases.investigation_request_create(
                case=case,
                user=request.user,
                institution=form.cleaned_data["institution"],
                message=form.cleaned_data["message"],
                due_on=form.cleaned_data["due_on"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except WorkflowError as exc:
            _refuse(request, exc)
        else:
            messages.success(request, _("The institution has been asked to investigate."))
            return redirect("integrity:case_detail", pk=case.pk)
    return _render_detail(request, case, status=400, request_form=form)


@login_required
def case_request_report(request, request_pk):
    """The institution's report: integrity officers, and the institution that wrote it."""
    inquiry = get_object_or_404(InvestigationRequest, pk=request_pk)
    own = cases.requests_for_institution(request.user).filter(pk=inquiry.pk).exists()
    if not (cases.may_read_files(request.user) or own) or not inquiry.report:
        raise Http404
    return _file_response(
        inquiry.report,
        inquiry.report_name or inquiry.report.name,
        inquiry.report_content_type or "application/octet-stream",
    )


# --- the institution's side -----------------------------------------------------------------


@login_required
def investigation_requests(request):
    if not request.user.has_role(Role.INSTITUTION_ADMIN) or not request.user.institution_id:
        raise Http404
    rows = list(cases.requests_for_institution(request.user).order_by("answered_at", "due_on"))
    return render(request, "integrity/case_requests.html", {"requests": rows})


@login_required
def investigation_request(request, pk):
    """The page only the addressed institution's administrators see: what to investigate, by
    when, and the upload of their report. Nothing else of the case (no reporter, evidence)."""
    inquiry = get_object_or_404(cases.requests_for_institution(request.user), pk=pk)
    form = AnswerForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                cases.investigation_request_answer(
                    request=inquiry,
                    user=request.user,
                    report=form.cleaned_data["report"],
                    summary=form.cleaned_data["summary"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
                status = 400
            except WorkflowError as exc:
                _refuse(request, exc)
                status = 409
            except PermissionDenied:
                raise Http404 from None
            else:
                messages.success(request, _("Thank you: your report has been received."))
                return redirect("integrity:investigation_request", pk=inquiry.pk)
        else:
            status = 400
    return render(
        request,
        "integrity/case_request.html",
        {"inquiry": inquiry, "form": form, "overdue": inquiry.is_overdue()},
        status=status,
    )


# --- the subject's side ---------------------------------------------------------------------


@login_required
def my_cases(request):
    rows = list(cases.cases_of_subject(request.user))
    return render(request, "integrity/case_mine.html", {"cases": rows})


def _subject_context(request, case, form=None):
    entries = [e for e in timeline(case) if e.transition in SUBJECT_TIMELINE]
    return {
        "case": case,
        "form": form or AppealForm(),
        "may_appeal": "appeal" in workflow.available_names(case, request.user),
        "entries": entries,
        "records": list(case.records.filter(superseded_by__isnull=True)),
    }


@login_required
def my_case(request, pk):
    case = get_object_or_404(cases.cases_of_subject(request.user), pk=pk)
    return render(request, "integrity/case_subject.html", _subject_context(request, case))


@login_required
@require_POST
def my_case_appeal(request, pk):
    case = get_object_or_404(cases.cases_of_subject(request.user), pk=pk)
    form = AppealForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            cases.case_transition(
                case=case, name="appeal", user=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except WorkflowError as exc:
            form.add_error(None, exc.detail)
            status = 409
        else:
            messages.success(request, _("Your appeal has been filed."))
            return redirect("integrity:my_case", pk=case.pk)
    return render(
        request, "integrity/case_subject.html", _subject_context(request, case, form), status=status
    )
