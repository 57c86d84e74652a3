"""Use cases of misconduct cases: report, investigate, decide, notify, appeal, finalize.

Every state change runs on a row-locked case through ``audit.workflow.perform`` (which logs
it); mail is recorded in the outbox with the change and leaves after the commit. Who reads
what:

- integrity officers: everything, the reporter's identity and the evidence files included;
- auditors: the case's metadata, subjects, decision and timeline — never the reporter, never
  the evidence files or the institutions' reports (:func:`may_read_reporter`,
  :func:`may_read_files`);
- a subject (the person named, the administrators of an institution named, the staff of an
  agency named): a decided case about them — decision, deadline, their appeal — never the
  reporter, the evidence or the investigation (:func:`cases_of_subject`);
- an institution's administrators: the investigation requests addressed to their institution
  (message and due date), nothing else of the case;
- everyone else: nothing (404).

Other apps open cases through :func:`case_report` only (the objection of a public notice, a
reviewer reporting intercession): integrity imports none of them.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from audit import workflow
from audit.workflow import WorkflowError
from config.uploads import PDF_OR_IMAGE, check_upload
from outbox.dispatch import enqueue

from . import services
from .models import (
    Action,
    AppealOutcome,
    CaseChannel,
    CaseEvidence,
    CaseState,
    CaseSubject,
    CreditRecord,
    InvestigationRequest,
    MisconductCase,
    MisconductCategory,
)
from .models.cases import DEFAULT_APPEAL_WORKING_DAYS

logger = logging.getLogger(__name__)

S = CaseState
EVIDENCE_MAX_BYTES = 20 * 1024 * 1024


# --- who reads what -------------------------------------------------------------------------


def is_integrity_officer(user):
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_superuser or user.has_role(Role.INTEGRITY_OFFICER))
    )


def may_read_cases(user):
    """Integrity officers and auditors read case files (metadata, subjects, timeline)."""
    return is_integrity_officer(user) or bool(
        user is not None and user.is_authenticated and user.has_role(Role.AUDITOR)
    )


def may_read_reporter(user):
    """The reporter's identity: integrity officers only."""
    return is_integrity_officer(user)


def may_read_files(user):
    """Evidence files and institutions' reports: integrity officers only."""
    return is_integrity_officer(user)


def _require_officer(user):
    if not is_integrity_officer(user):
        raise PermissionDenied(_("Only integrity officers may do this."))


def cases_for_reader(user):
    """The case list of integrity officers and auditors, subjects loaded; empty for others."""
    if not may_read_cases(user):
        return MisconductCase.objects.none()
    overdue = InvestigationRequest.objects.filter(
        case=OuterRef("pk"), answered_at__isnull=True, due_on__lt=timezone.localdate()
    )
    return (
        MisconductCase.objects.select_related("investigator")
        .prefetch_related(
            Prefetch(
                "subjects",
                queryset=CaseSubject.objects.select_related("user", "institution", "agency"),
            )
        )
        .annotate(has_overdue_request=Exists(overdue))
    )


def subject_q(user):
    """Subjects that ``user`` answers for: themselves, their institution as its
    administrator, their agency as its staff."""
    q = Q(user=user)
    if user.institution_id and user.has_role(Role.INSTITUTION_ADMIN):
        q |= Q(institution_id=user.institution_id)
    if user.agency_id and user.has_role(Role.AGENCY_STAFF):
        q |= Q(agency_id=user.agency_id)
    return q


def cases_of_subject(user):
    """Decided cases about ``user`` (or the institution or agency they answer for)."""
    if user is None or not user.is_authenticated:
        return MisconductCase.objects.none()
    named = CaseSubject.objects.filter(subject_q(user), case=OuterRef("pk"))
    return (
        MisconductCase.objects.filter(Exists(named), state__in=[S.DECIDED, S.APPEALED, S.FINAL])
        .prefetch_related(
            Prefetch(
                "subjects",
                queryset=CaseSubject.objects.select_related("user", "institution", "agency"),
            )
        )
        .order_by("-decided_at", "-id")
    )


def requests_for_institution(user):
    """Investigation requests addressed to the institution ``user`` administers."""
    if (
        user is None
        or not user.is_authenticated
        or not user.institution_id
        or not user.has_role(Role.INSTITUTION_ADMIN)
    ):
        return InvestigationRequest.objects.none()
    return InvestigationRequest.objects.filter(institution_id=user.institution_id).select_related(
        "case", "institution"
    )


def overdue_requests(today=None):
    return InvestigationRequest.objects.filter(
        answered_at__isnull=True, due_on__lt=today or timezone.localdate()
    ).select_related("case", "institution")


# --- working days ---------------------------------------------------------------------------


def add_working_days(start, days):
    """The date ``days`` working days (Monday to Friday) after ``start``."""
    current = start
    left = int(days)
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


# --- files ----------------------------------------------------------------------------------


def check_file(upload, field):
    """A PDF, JPEG or PNG by its content, within the size limit; returns (extension, mime)."""
    limit = int(getattr(settings, "GRANTFLOW_CASE_FILE_MAX_BYTES", EVIDENCE_MAX_BYTES))
    return check_upload(upload, field, PDF_OR_IMAGE, max_bytes=limit)


def _store_evidence(case, upload, *, user, description=""):
    extension, mime = check_file(upload, "file")
    evidence = CaseEvidence(
        case=case,
        original_name=(getattr(upload, "name", "") or "")[:255],
        content_type=mime,
        size=upload.size,
        description=(description or "").strip()[:300],
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    evidence.file.save(
        f"{case.number}-{timezone.now():%Y%m%d%H%M%S}.{extension}", upload, save=False
    )
    evidence.save()
    return evidence


# --- reporting ------------------------------------------------------------------------------


def _subject_row(case, data):
    row = CaseSubject(
        case=case,
        user=data.get("user"),
        institution=data.get("institution"),
        agency=data.get("agency"),
        name=(data.get("name") or "").strip()[:200],
        identity=(data.get("identity") or "").strip()[:300],
    )
    if not (row.user or row.institution or row.agency or row.name):
        raise ValidationError(
            {"subjects": [_("Name a person, an institution, an agency or describe who it is.")]}
        )
    return row


def _number(case):
    year = timezone.localtime(case.created_at).year
    return f"IC-{year}-{case.pk:06d}"


def case_report(
    *,
    channel,
    title,
    allegation,
    subjects=(),
    kind="",
    reporter_user=None,
    reporter_name="",
    reporter_phone="",
    reporter_email="",
    reporter_organisation="",
    reference=None,
    reference_text="",
    evidence=(),
    created_by=None,
    appeal_working_days=None,
):
    """Open a case in ``reported``; returns it. Anyone may report (the channel says how).

    ``subjects``: dicts with ``user``, ``institution``, ``agency``, ``name``, ``identity``
    (at least one of the first four). ``reference``: any model instance the report concerns
    (kept as a generic reference). ``evidence``: uploaded files (PDF, JPEG, PNG by content).
    A report on paper is entered by an integrity officer (``created_by``).
    """
    errors = {}
    title = (title or "").strip()
    allegation = (allegation or "").strip()
    if channel not in CaseChannel.values:
        errors["channel"] = [_("Unknown channel.")]
    if not title:
        errors["title"] = [_("Give the report a short summary.")]
    if not allegation:
        errors["allegation"] = [_("Write what happened.")]
    if kind and kind not in MisconductCategory.values:
        errors["kind"] = [_("Unknown kind of misconduct.")]
    if channel == CaseChannel.USER and not getattr(reporter_user, "is_authenticated", False):
        errors["reporter_user"] = [_("Sign in to report.")]
    if channel == CaseChannel.PAPER and not is_integrity_officer(created_by):
        raise PermissionDenied(_("Only integrity officers enter reports received on paper."))
    for upload in evidence:
        try:
            check_file(upload, "evidence")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = MisconductCase(
            channel=channel,
            title=title[:300],
            allegation=allegation,
            kind=kind or "",
            reporter_user=reporter_user if getattr(reporter_user, "pk", None) else None,
            reporter_name=(reporter_name or "").strip()[:150],
            reporter_phone=(reporter_phone or "").strip()[:32],
            reporter_email=(reporter_email or "").strip()[:254],
            reporter_organisation=(reporter_organisation or "").strip()[:200],
            reference_text=(reference_text or "").strip()[:300],
            appeal_working_days=appeal_working_days or DEFAULT_APPEAL_WORKING_DAYS,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        if reference is not None:
            case.reference_type = ContentType.objects.get_for_model(type(reference))
            case.reference_id = reference.pk
            if not case.reference_text:
                case.reference_text = str(reference)[:300]
        case.full_clean(exclude=["number", "state"])
        case.save()
        case.number = _number(case)
        case.save(update_fields=["number"])
        rows = [_subject_row(case, s) for s in subjects]
        CaseSubject.objects.bulk_create(rows)
        for upload in evidence:
            _store_evidence(case, upload, user=created_by or reporter_user)
    return case


def case_subject_add(*, case, user, **data):
    """An integrity officer names one more subject while the case is open."""
    _require_officer(user)
    if case.state not in (S.REPORTED, S.INVESTIGATING):
        raise WorkflowError("invalid_transition", _("Subjects are named before the decision."))
    row = _subject_row(case, data)
    row.save()
    return row


def case_subject_remove(*, case, user, subject_id):
    _require_officer(user)
    if case.state not in (S.REPORTED, S.INVESTIGATING):
        raise WorkflowError("invalid_transition", _("Subjects are named before the decision."))
    CaseSubject.objects.filter(case=case, pk=subject_id).delete()


def evidence_add(*, case, user, upload, description=""):
    _require_officer(user)
    if case.state in (S.FINAL, S.DISMISSED):
        raise WorkflowError("invalid_transition", _("The case is closed."))
    return _store_evidence(case, upload, user=user, description=description)


def case_assign_investigator(*, case, user, investigator):
    _require_officer(user)
    if not is_integrity_officer(investigator):
        raise ValidationError(
            {"investigator": [_("The investigator must be an integrity officer.")]}
        )
    if case.state in (S.FINAL, S.DISMISSED):
        raise WorkflowError("invalid_transition", _("The case is closed."))
    MisconductCase.objects.filter(pk=case.pk).update(investigator=investigator)
    case.investigator = investigator
    return case


# --- investigation requests to institutions ---------------------------------------------------


def investigation_request_create(*, case, user, institution, message, due_on, today=None):
    """Ask ``institution`` to investigate its own people first; mails its administrators."""
    _require_officer(user)
    errors = {}
    if case.state not in (S.REPORTED, S.INVESTIGATING):
        raise WorkflowError(
            "invalid_transition", _("Institutions are asked before the case is decided.")
        )
    if not (message or "").strip():
        errors["message"] = [_("Say what the institution should investigate.")]
    if due_on is None or due_on <= (today or timezone.localdate()):
        errors["due_on"] = [_("The due date must be in the future.")]
    if errors:
        raise ValidationError(errors)
    request = InvestigationRequest.objects.create(
        case=case,
        institution=institution,
        message=message.strip(),
        due_on=due_on,
        requested_by=user,
    )
    from .tasks_cases import notify_case_investigation_request

    enqueue(notify_case_investigation_request, request.pk)
    return request


def investigation_request_answer(*, request, user, report, summary=""):
    """The institution's administrator answers with their report (once)."""
    if request not in requests_for_institution(user):
        raise PermissionDenied(_("This request is not addressed to your institution."))
    if request.answered_at is not None:
        raise WorkflowError("invalid_transition", _("This request has already been answered."))
    if request.case.state in (S.FINAL, S.DISMISSED):
        raise WorkflowError("invalid_transition", _("The case is closed."))
    if report is None:
        raise ValidationError({"report": [_("Attach the report of your investigation.")]})
    extension, mime = check_file(report, "report")
    with transaction.atomic():
        request = InvestigationRequest.objects.select_for_update().get(pk=request.pk)
        if request.answered_at is not None:
            raise WorkflowError("invalid_transition", _("This request has already been answered."))
        request.report.save(
            f"{request.case.number}-report-{request.pk}.{extension}", report, save=False
        )
        request.report_name = (getattr(report, "name", "") or "")[:255]
        request.report_content_type = mime
        request.report_summary = (summary or "").strip()
        request.answered_at = timezone.now()
        request.answered_by = user
        request.save()
    return request


# --- transitions ----------------------------------------------------------------------------


def _lock(case):
    return MisconductCase.objects.select_for_update().get(pk=case.pk)


def _clean_decision(data):
    errors = {}
    findings = (data.get("findings") or "").strip()
    kind = data.get("kind") or ""
    bars = list(dict.fromkeys(data.get("bars") or []))
    starts_on = data.get("starts_on") or timezone.localdate()
    ends_on = data.get("ends_on")
    if not findings:
        errors["findings"] = [_("Write the findings.")]
    if kind not in MisconductCategory.values:
        errors["kind"] = [_("Choose the kind of misconduct.")]
    if any(b not in Action.values for b in bars):
        errors["bars"] = [_("Unknown bar.")]
    sanctions = list(dict.fromkeys(data.get("sanctions") or []))
    catalogue = sanction_catalogue()
    if catalogue is not None and any(c not in catalogue.values for c in sanctions):
        errors["sanctions"] = [_("Unknown sanction.")]
    if ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = [_("The period cannot end before it starts.")]
    if not (data.get("deciding_body") or "").strip():
        errors["deciding_body"] = [_("Name the deciding body.")]
    if errors:
        raise ValidationError(errors)
    bars = [a for a in Action.values if a in set(bars) | sanction_bars(sanctions)]
    return {
        "findings": findings,
        "kind": kind,
        "bars": bars,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "sanctions": sanctions,
        "deciding_body": data["deciding_body"].strip()[:200],
        "legal_basis": (data.get("legal_basis") or "").strip()[:300],
    }


def sanction_catalogue():
    """The sanctions catalogue (``integrity.models.records.Sanction``) or None before it
    exists; :func:`sanction_bars` what its codes bar."""
    from .models import records

    return getattr(records, "Sanction", None)


def sanction_bars(codes):
    from .models import records

    bars_of = getattr(records, "sanction_bars", None)
    return set(bars_of(codes)) if bars_of else set()


def _record_has(field):
    return any(f.name == field for f in CreditRecord._meta.get_fields())


def _record_fields(case, decision):
    extra = {"sanctions": decision["sanctions"]} if _record_has("sanctions") else {}
    return {
        **extra,
        "category": decision["kind"],
        "starts_on": decision["starts_on"],
        "ends_on": decision["ends_on"],
        "decision": decision["findings"],
        "deciding_body": decision["deciding_body"],
        "legal_basis": decision["legal_basis"],
        "description": _("Decision of misconduct case %(number)s.") % {"number": case.number},
        "source": CreditRecord.Source.OWN,
    }


def _decide(case, user, comment, data, now):
    decision = _clean_decision(data)
    subjects = list(case.subjects.select_related("user", "institution"))
    if not subjects:
        raise ValidationError({"subjects": [_("Name who the case is about before deciding.")]})
    records = []
    agencies = _record_has("subject_agency")
    for subject in subjects:
        who = {}
        if subject.user_id:
            who["subject_user"] = subject.user
        elif subject.institution_id:
            who["subject_institution"] = subject.institution
        elif subject.agency_id and agencies:
            who["subject_agency"] = subject.agency
        else:
            continue  # only a described identity: the record is entered by hand
        records.append(
            services.record_create(
                created_by=user, bars=decision["bars"], **who, **_record_fields(case, decision)
            )
        )
    case.findings = decision["findings"]
    case.kind = decision["kind"]
    case.sanctions = decision["sanctions"]
    case.decided_at = now
    case.decided_by = user
    case.notified_at = now
    case.appeal_deadline = add_working_days(timezone.localdate(now), case.appeal_working_days)
    case = workflow.perform(
        case,
        "decide",
        user=user,
        comment=comment,
        log_data={
            "records": [r.pk for r in records],
            "bars": decision["bars"],
            "appeal_deadline": case.appeal_deadline.isoformat(),
        },
        locked=True,
    )
    case.records.add(*records)
    _queue_decision_mail(case.pk)
    return case


def _appeal(case, user, comment, today):
    if (
        case.state == S.DECIDED
        and case.appeal_deadline is not None
        and today > case.appeal_deadline
        and is_subject_of(case, user)
    ):
        # Before the generic check: a late appeal gets its own clear answer.
        raise WorkflowError(
            "invalid_transition",
            _(
                "The appeal window closed on %(date)s (%(days)d working days after the "
                "notification); a late appeal cannot be accepted."
            )
            % {"date": case.appeal_deadline.isoformat(), "days": case.appeal_working_days},
        )
    _require_available(case, "appeal", user)
    if not (comment or "").strip():
        raise ValidationError({"comment": [_("Give the grounds of your appeal.")]})
    case.appeal_text = comment.strip()
    case.appealed_at = timezone.now()
    case.appealed_by = user
    case = workflow.perform(case, "appeal", user=user, comment=comment, locked=True)
    from .tasks_cases import notify_case_appeal

    enqueue(notify_case_appeal, case.pk)
    return case


def _decide_appeal(case, user, comment, data, now):
    outcome = data.get("outcome")
    if outcome not in AppealOutcome.values:
        raise ValidationError({"outcome": [_("Uphold or amend the decision.")]})
    if not (comment or "").strip():
        raise ValidationError({"comment": [_("Give the reasons of the appeal decision.")]})
    corrections = []
    if outcome == AppealOutcome.AMEND:
        decision = _clean_decision(
            {
                "findings": data.get("findings") or case.findings,
                "kind": data.get("kind") or case.kind,
                "bars": data.get("bars") or [],
                "starts_on": data.get("starts_on"),
                "ends_on": data.get("ends_on"),
                "sanctions": data.get("sanctions", case.sanctions),
                "deciding_body": data.get("deciding_body") or _deciding_body_of(case),
                "legal_basis": data.get("legal_basis", ""),
            }
        )
        live = case.records.filter(superseded_by__isnull=True)
        for record in live.select_related("subject_user", "subject_institution"):
            fields = _record_fields(case, decision)
            fields["description"] = _(
                "Amended on appeal of misconduct case %(number)s: %(reason)s"
            ) % {"number": case.number, "reason": comment.strip()}
            if data.get("starts_on") is None:
                fields["starts_on"] = record.starts_on
            corrections.append(
                services.record_correct(
                    record=record, created_by=user, bars=decision["bars"], **fields
                )
            )
        case.findings = decision["findings"]
        case.kind = decision["kind"]
        case.sanctions = decision["sanctions"]
    case.appeal_outcome = outcome
    case.appeal_decision = comment.strip()
    case.appeal_decided_at = now
    case = workflow.perform(
        case,
        "decide_appeal",
        user=user,
        comment=comment,
        log_data={"outcome": outcome, "corrections": [r.pk for r in corrections]},
        locked=True,
    )
    if corrections:
        case.records.add(*corrections)
    _queue_decision_mail(case.pk, appeal=True)
    return case


def _deciding_body_of(case):
    record = case.records.order_by("id").first()
    return record.deciding_body if record else ""


def is_subject_of(case, user):
    if user is None or not user.is_authenticated:
        return False
    return case.subjects.filter(subject_q(user)).exists()


def _require_available(case, name, user):
    if name not in workflow.available_names(case, user):
        raise WorkflowError(
            "invalid_transition",
            _("'%(name)s' is not possible for you while the case is '%(state)s'.")
            % {"name": name, "state": case.get_state_display()},
        )


def case_transition(*, case, name, user, comment="", data=None, now=None):
    """Take the step ``name`` (design.md); ``data`` carries the decision of ``decide`` and
    ``decide_appeal`` (findings, kind, bars, starts_on, ends_on, sanctions, deciding_body,
    legal_basis; ``outcome`` uphold|amend for the appeal)."""
    data = data or {}
    now = now or timezone.now()
    if workflow.find(case, name) is None:
        raise WorkflowError(
            "invalid_transition", _("Unknown transition '%(name)s'.") % {"name": name}
        )
    with transaction.atomic():
        case = _lock(case)
        if name == "appeal":
            return _appeal(case, user, comment, timezone.localdate(now))
        _require_available(case, name, user)
        if name == "investigate" and case.investigator_id is None:
            case.investigator = user
        if name == "decide":
            return _decide(case, user, comment, data, now)
        if name == "decide_appeal":
            return _decide_appeal(case, user, comment, data, now)
        return workflow.perform(case, name, user=user, comment=comment, locked=True)


def finalize_unappealed(today=None):
    """Beat: decided cases whose appeal window passed unused become final (the system's
    step, ``user=None``). Returns how many."""
    today = today or timezone.localdate()
    done = 0
    for pk in MisconductCase.objects.filter(state=S.DECIDED, appeal_deadline__lt=today).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            case = MisconductCase.objects.select_for_update().filter(pk=pk, state=S.DECIDED).first()
            if case is None or case.appeal_open(today):
                continue
            workflow.perform(
                case,
                "finalize",
                user=None,
                comment=_("The appeal window passed without an appeal."),
                locked=True,
            )
            done += 1
    return done


# --- mail -----------------------------------------------------------------------------------


def site_url(path):
    base = getattr(settings, "GRANTFLOW_SITE_URL", "") or "http://localhost:8000"
    return base.rstrip("/") + path


def subject_recipients(case):
    """Who is told of a decision: the people named, the administrators of the institutions
    named, the staff of the agencies named; active, with an email."""
    people = {}
    for s in case.subjects.select_related("user"):
        if s.user is not None:
            people[s.user.pk] = s.user
        if s.institution_id:
            for u in User.objects.filter(
                institution_id=s.institution_id, groups__name=Role.INSTITUTION_ADMIN
            ):
                people[u.pk] = u
        if s.agency_id:
            for u in User.objects.filter(agency_id=s.agency_id, groups__name=Role.AGENCY_STAFF):
                people[u.pk] = u
    return [p for p in people.values() if p.email and p.is_active]


def _send(person, template, context):
    with translation.override(person.language or settings.LANGUAGE_CODE):
        context = {**context, "person": person}
        subject = render_to_string(f"integrity/mail/{template}_subject.txt", context)
        body = render_to_string(f"integrity/mail/{template}_body.txt", context)
    subject = " ".join(subject.split())
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])


def _queue_decision_mail(case_id, appeal=False):
    from .tasks_cases import notify_case_decision

    enqueue(notify_case_decision, case_id, appeal=appeal)


def notify_decision(case_id, appeal=False):
    """The decision (or the appeal decision), in each subject's language: what was decided,
    the sanctions, and the appeal deadline; never who reported."""
    case = MisconductCase.objects.filter(pk=case_id).first()
    if case is None:
        return 0
    sent = 0
    url = site_url(reverse("integrity:my_case", args=[case.pk]))
    for person in subject_recipients(case):
        sent += _send(
            person,
            "case_appeal_decision" if appeal else "case_decision",
            {"case": case, "url": url},
        )
    return sent


def notify_officers_of_appeal(case_id):
    case = MisconductCase.objects.select_related("investigator").filter(pk=case_id).first()
    if case is None:
        return 0
    people = [case.investigator] if case.investigator_id else []
    if not people:
        people = list(User.objects.filter(groups__name=Role.INTEGRITY_OFFICER, is_active=True))
    url = site_url(reverse("integrity:case_detail", args=[case.pk]))
    return sum(
        _send(p, "case_appeal", {"case": case, "url": url})
        for p in people
        if p.email and p.is_active
    )


def notify_investigation_request(request_id):
    request = (
        InvestigationRequest.objects.select_related("case", "institution")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return 0
    admins = User.objects.filter(
        institution_id=request.institution_id,
        groups__name=Role.INSTITUTION_ADMIN,
        is_active=True,
    ).exclude(email="")
    url = site_url(reverse("integrity:investigation_request", args=[request.pk]))
    return sum(
        _send(p, "case_investigation_request", {"request": request, "url": url}) for p in admins
    )
