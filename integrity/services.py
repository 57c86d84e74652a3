"""The one eligibility service every other app asks before a barred action."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.roles import Role
from audit.workflow import WorkflowError

from .models import Action, CreditRecord


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reasons: list = field(default_factory=list)
    records: list = field(default_factory=list)

    def __bool__(self):
        return self.allowed


def check_eligibility(action, *, users=(), institutions=(), on=None, viewer=None, roles=None):
    """May every one of ``users`` and ``institutions`` take ``action`` on day ``on``?

    One query, whatever the number of subjects. Reasons name each record that bars; given a
    ``viewer``, they are worded for that person (``reasons_for``): their own record in full,
    anyone else's without its details. ``roles`` names people (user id → "a team member").
    """
    action = Action(action)
    user_ids = {u.pk for u in users if u is not None}
    inst_ids = {i.pk for i in institutions if i is not None}
    if not user_ids and not inst_ids:
        return Eligibility(True)
    records = list(
        CreditRecord.objects.in_force(on or timezone.localdate())
        .barring(action)
        .filter(Q(subject_user_id__in=user_ids) | Q(subject_institution_id__in=inst_ids))
        .select_related("subject_user", "subject_institution")
    )
    reasons = reasons_for(records, action, viewer, roles=roles)
    return Eligibility(not records, reasons, records)


def record_create(*, created_by, bars=(), **fields):
    record = CreditRecord(created_by=created_by, **fields)
    for action in Action.values:
        setattr(record, f"bars_{action}", action in bars)
    record.full_clean()
    from django.db import transaction

    from audit import chain as audit_chain

    with transaction.atomic():  # the record and its entry in the audit chain, together
        record.save()
        audit_chain.record(
            "integrity.record_corrected" if record.supersedes_id else "integrity.record_created",
            record,
            created_by,
            audit_chain.snapshot(record),
        )
    return record


def record_correct(*, record, created_by, bars=None, **fields):
    """Record a correction: a new record that supersedes ``record``; history stays."""
    values = {
        f.name: getattr(record, f.name)
        for f in CreditRecord._meta.concrete_fields
        if f.name not in {"id", "supersedes", "created_by", "created_at"}
    }
    for action in Action.values:
        values.pop(f"bars_{action}", None)
    values.update(fields)
    if bars is None:
        bars = record.bars
    values.pop("subject_user", None)
    values.pop("subject_institution", None)
    return record_create(
        created_by=created_by,
        bars=bars,
        subject_user=fields.get("subject_user", record.subject_user),
        subject_institution=fields.get("subject_institution", record.subject_institution),
        supersedes=record,
        **{
            k: v
            for k, v in values.items()
            if k not in {"subject_user_id", "subject_institution_id"}
        },
    )


def barred_users(action, users, *, on=None):
    """The users among ``users`` barred from ``action`` on day ``on``, with the records.

    ``users`` may be a queryset (used as a subquery) or ids: one query for any number of
    people (the assignment engine asks this for a whole reviewer pool at once). Answers
    ``{user id: [record, ...]}`` for the barred ones only.
    """
    action = Action(action)
    if hasattr(users, "values"):
        user_filter = Q(subject_user_id__in=users.values("pk"))
    else:
        user_filter = Q(subject_user_id__in=[getattr(u, "pk", u) for u in users])
    barred = {}
    for record in (
        CreditRecord.objects.in_force(on or timezone.localdate())
        .barring(action)
        .filter(user_filter)
        .order_by("subject_user_id", "-starts_on", "-id")
    ):
        barred.setdefault(record.subject_user_id, []).append(record)
    return barred


# --- credit and gates ---
#
# Every gate asks ``check_eligibility`` (or one of the helpers below, which call it). The
# person refused reads a reason naming their own record only; a record about someone else
# (a team member, the PI, the institution) is named by that person's part, without details.
# Integrity officers, auditors and program officers (who read the records anyway) read all.


#: Roles that read every record in full (they read the records pages too).
FULL_VIEW_ROLES = (Role.INTEGRITY_OFFICER, Role.AUDITOR, Role.PROGRAM_OFFICER)


def integrity_contact():
    """Whom a refused person should contact (``settings.INTEGRITY_CONTACT`` if set)."""
    return getattr(settings, "INTEGRITY_CONTACT", "") or _("the commission's integrity office")


def sees_all_records(viewer):
    return bool(
        viewer is not None
        and viewer.is_authenticated
        and (viewer.is_superuser or viewer.has_role(*FULL_VIEW_ROLES))
    )


def _full_reason(record, action):
    return _(
        "%(subject)s is barred from %(action)s until %(until)s (record %(id)s: %(category)s)."
    ) % {
        "subject": record.subject,
        "action": action.label,
        "until": record.ends_on.isoformat() if record.ends_on else _("further notice"),
        "id": record.pk,
        "category": record.get_category_display(),
    }


def reason_for(record, action, viewer=None, *, roles=None):
    """Why ``record`` stops ``action``, in words ``viewer`` may read.

    ``viewer`` None (the system, a log) or an officer who reads records: the full sentence.
    The subject of the record: their own record in full. Anyone else: who is barred by their
    part (``roles``: user id → "a team member"; the institution as "your institution" or "the
    host institution"), no name, no record details, and whom to contact.
    """
    action = Action(action)
    if viewer is None or sees_all_records(viewer):
        return _full_reason(record, action)
    values = {
        "action": action.label,
        "until": record.ends_on.isoformat() if record.ends_on else _("further notice"),
        "id": record.pk,
        "category": record.get_category_display(),
        "contact": integrity_contact(),
    }
    if record.subject_user_id is not None:
        if record.subject_user_id == viewer.pk:
            return (
                _(
                    "You may not %(action)s until %(until)s (record %(id)s: %(category)s). "
                    "Contact %(contact)s about it."
                )
                % values
            )
        who = (roles or {}).get(record.subject_user_id) or _("a person named in this request")
        return _("%(who)s may not %(action)s at present; contact %(contact)s.") % {
            **values,
            "who": capfirst(str(who)),
        }
    agency_id = getattr(record, "subject_agency_id", None)
    if record.subject_institution_id is None and agency_id is not None:
        if getattr(viewer, "agency_id", None) == agency_id:
            return (
                _(
                    "Your agency may not %(action)s until %(until)s (record %(id)s: %(category)s). "
                    "Contact %(contact)s about it."
                )
                % values
            )
        return _("The agency may not %(action)s at present; contact %(contact)s.") % values
    own = viewer.institution_id is not None and viewer.institution_id == (
        record.subject_institution_id
    )
    if own and viewer.has_role(Role.INSTITUTION_ADMIN):
        return (
            _(
                "Your institution may not %(action)s until %(until)s (record %(id)s: %(category)s). "
                "Contact %(contact)s about it."
            )
            % values
        )
    if own:
        return (
            _(
                "Your institution may not %(action)s at present; ask its research office or "
                "contact %(contact)s."
            )
            % values
        )
    return _("The host institution may not %(action)s at present; contact %(contact)s.") % values


def reasons_for(records, action, viewer=None, *, roles=None):
    """``reason_for`` each record, each sentence once (in the records' order)."""
    seen, reasons = set(), []
    for record in records:
        reason = reason_for(record, action, viewer, roles=roles)
        if reason not in seen:
            seen.add(reason)
            reasons.append(reason)
    return reasons


def require_eligible(action, *, users=(), institutions=(), viewer=None, roles=None, on=None):
    """``check_eligibility`` that refuses: ``WorkflowError("integrity_block")`` (API 409) with
    the reasons worded for ``viewer``; the Eligibility when everyone is clear."""
    result = check_eligibility(
        action, users=users, institutions=institutions, on=on, viewer=viewer, roles=roles
    )
    if not result.allowed:
        raise WorkflowError("integrity_block", " ".join(str(r) for r in result.reasons))
    return result


def funds_gate(users=(), institutions=(), *, viewer=None, roles=None, on=None):
    """The gate before money moves to ``users``/``institutions`` (``receive_funds``).

    For the steps of issue 5: contract signing raises (409 ``integrity_block``) through this;
    a disbursement due while a bar stands should catch the ``WorkflowError`` (or call
    ``check_eligibility(Action.RECEIVE_FUNDS, ...)``) and hold the payment, not lose it.
    """
    return require_eligible(
        Action.RECEIVE_FUNDS,
        users=users,
        institutions=institutions,
        viewer=viewer,
        roles=roles,
        on=on,
    )


def manage_action():
    """``Action.MANAGE`` once the records carry a ``manage`` bar, else None."""
    return getattr(Action, "MANAGE", None)


def manage_barred(user, on=None):
    """Is ``user`` (agency staff) barred from managing? Read once per user object (request).

    The answer is cached on ``user`` so that permission checks on every row of a list cost
    no more queries; a new request loads a new user object and asks again.
    """
    action = manage_action()
    if action is None or user is None or not user.is_authenticated:
        return False
    cached = user.__dict__.get("_integrity_manage_barred")
    if cached is None or on is not None:
        cached = not check_eligibility(action, users=[user], on=on).allowed
        if on is None:
            user.__dict__["_integrity_manage_barred"] = cached
    return cached


def barred_subjects(action, *, on=None):
    """Subqueries of the user ids and institution ids barred from ``action`` on ``on``.

    Other apps filter their own rows with these (``applicant_id__in=users``): the affected
    list and the credit page read them without integrity importing grants or review.
    """
    records = CreditRecord.objects.in_force(on or timezone.localdate()).barring(Action(action))
    users = records.filter(subject_user_id__isnull=False).values("subject_user_id")
    institutions = records.filter(subject_institution_id__isnull=False).values(
        "subject_institution_id"
    )
    return users, institutions


def barring_records(action, *, user_ids=(), institution_ids=(), on=None):
    """``{("user", id) | ("institution", id): [records]}`` in force barring ``action``, for
    the subjects given, in one query (the rows of one page of a list)."""
    user_ids, institution_ids = set(user_ids), set(institution_ids)
    found = {}
    if not user_ids and not institution_ids:
        return found
    for record in (
        CreditRecord.objects.in_force(on or timezone.localdate())
        .barring(Action(action))
        .filter(Q(subject_user_id__in=user_ids) | Q(subject_institution_id__in=institution_ids))
        .select_related("subject_user", "subject_institution")
    ):
        if record.subject_user_id in user_ids:
            found.setdefault(("user", record.subject_user_id), []).append(record)
        if record.subject_institution_id in institution_ids:
            found.setdefault(("institution", record.subject_institution_id), []).append(record)
    return found


# --- auditors' reading (audit search and charts) ---


def records_for_audit(*, subject="", actor="", date_from=None, date_to=None):
    """Credit records for the auditors' search, every version (superseded ones too):
    ``subject`` matches the person's name or username, the institution's or agency's name
    or the name as given; ``actor`` who entered it; ``date_from``/``date_to`` aware
    datetimes bounding when it was entered (``created_at``; the end exclusive)."""
    records = CreditRecord.objects.all()
    if subject:
        records = records.filter(
            Q(subject_user__full_name__icontains=subject)
            | Q(subject_user__username__icontains=subject)
            | Q(subject_institution__name__icontains=subject)
            | Q(subject_agency__name__icontains=subject)
            | Q(subject_name__icontains=subject)
            | Q(subject_institution_name__icontains=subject)
        )
    if actor:
        records = records.filter(
            Q(created_by__username__icontains=actor) | Q(created_by__full_name__icontains=actor)
        )
    if date_from is not None:
        records = records.filter(created_at__gte=date_from)
    if date_to is not None:
        records = records.filter(created_at__lt=date_to)
    return records


def record_counts_by_category_and_year():
    """``[(year, category, count)]`` of the records in their current version (a corrected
    record counts once, as its latest correction), by the year they take effect. One query."""
    from django.db.models import Count
    from django.db.models.functions import ExtractYear

    return [
        (row["year"], row["category"], row["n"])
        for row in CreditRecord.objects.filter(superseded_by__isnull=True)
        .annotate(year=ExtractYear("starts_on"))
        .values("year", "category")
        .annotate(n=Count("pk"))
        .order_by("year", "category")
    ]
