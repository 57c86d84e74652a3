"""The public notice (公示) and the objections filed during it.

Approved proposals stay ``in_notice`` for the call's notice days (``grants.services.
application_approve``); anyone, signed in or not, may read the notice and object. An objection
names a real person (name and phone) or an institution (with an image or PDF of its seal);
an anonymous objection is accepted only with evidence. The objector's identity is
confidential: :func:`objections_for_integrity` (integrity officers) is the only read that
returns it; officers and the public see :func:`objections_for_application` without it.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from audit import workflow
from audit.workflow import WorkflowError
from config.uploads import PDF_OR_IMAGE, check_upload

from .enums import ApplicationState
from .models import Application, BudgetLine, NumberSequence, Objection

S = ApplicationState
K = Objection.Kind

#: Objections one client address may file per window (settings may change both).
RATE_LIMIT = 5
RATE_WINDOW_SECONDS = 3600
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024


def _setting(name, default):
    return getattr(settings, name, default)


# --- reading the notice --------------------------------------------------------------------


def _amount_subquery():
    return Coalesce(
        Subquery(
            BudgetLine.objects.filter(application=OuterRef("pk"))
            .order_by()
            .values("application")
            .annotate(total=Sum("amount"))
            .values("total"),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        ),
        Value(0, output_field=DecimalField(max_digits=16, decimal_places=2)),
    )


def notices(*, call=None, now=None):
    """Proposals in public notice (window running or ended but not yet awarded), with their
    amount, in one query; grouped by call, then by number."""
    queryset = (
        Application.objects.filter(state=S.IN_NOTICE)
        .select_related("call__program", "applicant", "institution")
        .annotate(amount=_amount_subquery())
        .order_by("call__opens_at", "call_id", "number")
    )
    if call is not None:
        queryset = queryset.filter(call=call)
    return queryset


def is_window_open(application, now=None):
    now = now or timezone.now()
    return (
        application.state == S.IN_NOTICE
        and application.notice_starts_at is not None
        and application.notice_ends_at is not None
        and application.notice_starts_at <= now < application.notice_ends_at
    )


# --- filing an objection -------------------------------------------------------------------


def _rate_key(client):
    digest = hashlib.sha256((client or "unknown").encode()).hexdigest()[:32]
    return f"grantflow:objection-rate:{digest}"


def rate_limited(client):
    """True when ``client`` (an IP address) has used up its objections for the window."""
    limit = int(_setting("GRANTFLOW_OBJECTION_RATE_LIMIT", RATE_LIMIT))
    return int(cache.get(_rate_key(client), 0)) >= limit


def _count(client):
    key = _rate_key(client)
    window = int(_setting("GRANTFLOW_OBJECTION_RATE_WINDOW", RATE_WINDOW_SECONDS))
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def check_file(upload, field):
    """A PDF, JPEG or PNG by its content, within the size limit; returns its extension."""
    limit = int(_setting("GRANTFLOW_OBJECTION_MAX_BYTES", EVIDENCE_MAX_BYTES))
    return check_upload(upload, field, PDF_OR_IMAGE, max_bytes=limit)[0]


def _next_confirmation_number(now):
    year = timezone.localtime(now).year
    NumberSequence.objects.bulk_create(
        [NumberSequence(prefix="OBJ", year=year)], ignore_conflicts=True
    )
    seq = NumberSequence.objects.select_for_update().get(prefix="OBJ", year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"OBJ-{year}-{seq.last:06d}"


def _identity_errors(kind, name, phone, institution_name, seal, evidence):
    errors = {}
    if kind == K.PERSON:
        if not name:
            errors["name"] = [_("Give your real name.")]
        if not phone:
            errors["phone"] = [_("Give a phone number where you can be reached.")]
        elif not sum(c.isdigit() for c in phone) >= 5:
            errors["phone"] = [_("Enter a valid phone number.")]
    elif kind == K.INSTITUTION:
        if not institution_name:
            errors["institution_name"] = [_("Give the institution's name.")]
        if seal is None:
            errors["seal"] = [_("Attach the objection with the institution's seal (image or PDF).")]
    elif kind == K.ANONYMOUS:
        if evidence is None:
            errors["__all__"] = [
                _(
                    "Anonymous objections without evidence are not accepted. Give your real "
                    "name and phone, or your institution's name and seal, or attach evidence."
                )
            ]
    else:
        errors["kind"] = [_("Choose who files the objection.")]
    return errors


def objection_file(
    *, application, kind, text, name="", phone="", institution_name="", seal=None,
    evidence=None, client=None, now=None,
):  # fmt: skip
    """File an objection during the notice window; returns it with its confirmation number.

    Refused: outside the window (``WorkflowError('invalid_transition')``), past the rate limit
    of ``client`` (``WorkflowError('limit_exceeded')``), incomplete identity or text, files
    that are not PDF/JPEG/PNG or too large (``ValidationError`` by field).
    """
    now = now or timezone.now()
    if not is_window_open(application, now):
        raise WorkflowError(
            "invalid_transition", _("The public notice of this proposal is not open.")
        )
    if rate_limited(client):
        raise WorkflowError(
            "limit_exceeded",
            _("Too many objections from your network in the last hour; please try again later."),
        )
    name, phone = (name or "").strip(), (phone or "").strip()
    institution_name, text = (institution_name or "").strip(), (text or "").strip()
    if kind != K.PERSON:
        name, phone = "", ""
    if kind != K.INSTITUTION:
        institution_name, seal = "", None
    errors = _identity_errors(kind, name, phone, institution_name, seal, evidence)
    if not text:
        errors["text"] = [_("Write what the objection is about.")]
    for field, upload in (("seal", seal), ("evidence", evidence)):
        if upload is not None and field not in errors:
            try:
                check_file(upload, field)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        objection = Objection(
            application=application,
            kind=kind,
            name=name,
            phone=phone,
            institution_name=institution_name,
            text=text,
            confirmation_number=_next_confirmation_number(now),
        )
        for field, upload in (("seal", seal), ("evidence", evidence)):
            if upload is not None:
                extension = check_file(upload, field)
                stored = f"{objection.confirmation_number}-{field}.{extension}"
                getattr(objection, field).save(stored, upload, save=False)
        if evidence is not None:
            objection.evidence_name = (evidence.name or "")[:255]
        objection.save()
        open_integrity_case(objection)
    _count(client)
    return objection


# --- reading and resolving objections -------------------------------------------------------


def can_read_identity(user):
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.INTEGRITY_OFFICER))


def objections_for_integrity(user):
    """Every objection with the objector's identity: integrity officers only."""
    if not can_read_identity(user):
        raise PermissionDenied(_("Only integrity officers read objections."))
    return Objection.objects.select_related(
        "application__call__program", "application__applicant", "resolved_by"
    )


@dataclass(frozen=True)
class ObjectionSummary:
    """What officers may know of an objection: never who filed it."""

    pk: int
    application_id: int
    confirmation_number: str
    state: str
    state_label: str
    created_at: object
    resolution: str


def objections_for_application(application_ids):
    """Identity-free summaries per proposal id (for the board and the proposal page)."""
    result = {}
    rows = (
        Objection.objects.filter(application_id__in=list(application_ids))
        .order_by("created_at", "id")
        .only("pk", "application_id", "confirmation_number", "state", "created_at", "resolution")
    )
    for row in rows:
        result.setdefault(row.application_id, []).append(
            ObjectionSummary(
                pk=row.pk,
                application_id=row.application_id,
                confirmation_number=row.confirmation_number,
                state=row.state,
                state_label=str(row.get_state_display()),
                created_at=row.created_at,
                resolution=row.resolution,
            )
        )
    return result


def objection_resolve(*, objection, user, name, reason):
    """Uphold or dismiss (``name``) with a reason; only integrity officers."""
    if name not in ("uphold", "dismiss"):
        raise WorkflowError("invalid_transition", _("Unknown step."))
    with transaction.atomic():
        objection = workflow.lock(objection)
        if name in workflow.available_names(objection, user):
            objection.resolved_by = user
            objection.resolution = (reason or "").strip()
            objection.resolved_at = timezone.now()
        objection = workflow.perform(objection, name, user=user, comment=reason, locked=True)
    return objection


# --- integrity: every objection opens a misconduct case (integrity.cases) ------------------


def open_integrity_case(objection):
    """The objection becomes a ``reported`` misconduct case about the PI, in the same
    transaction: the objector is its confidential reporter (integrity officers only), the
    evidence is copied into the case's private files, the appeal window is the call's rule
    set's ``appeal_working_days``."""
    from integrity.cases import case_report
    from integrity.models import CaseChannel

    application = objection.application
    evidence = []
    if objection.evidence:
        objection.evidence.open("rb")
        evidence.append(objection.evidence)
    try:
        return case_report(
            channel=CaseChannel.OBJECTION,
            title=_("Objection %(number)s to proposal %(proposal)s")
            % {"number": objection.confirmation_number, "proposal": application.number},
            allegation=objection.text,
            subjects=[{"user": application.applicant}],
            reporter_name=objection.name,
            reporter_phone=objection.phone,
            reporter_organisation=objection.institution_name,
            reference=objection,
            reference_text=f"{application.number} {application.title}"[:300],
            evidence=evidence,
            appeal_working_days=int(application.call.rules["appeal_working_days"]),
        )
    finally:
        if objection.evidence:
            objection.evidence.close()
