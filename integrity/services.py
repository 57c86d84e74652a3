"""The one eligibility service every other app asks before a barred action."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Action, CreditRecord


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reasons: list = field(default_factory=list)
    records: list = field(default_factory=list)

    def __bool__(self):
        return self.allowed


def check_eligibility(action, *, users=(), institutions=(), on=None):
    """May every one of ``users`` and ``institutions`` take ``action`` on day ``on``?

    One query, whatever the number of subjects. Reasons name each record that bars.
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
    reasons = [
        _("%(subject)s is barred from %(action)s until %(until)s (record %(id)s: %(category)s).")
        % {
            "subject": r.subject,
            "action": action.label,
            "until": r.ends_on.isoformat() if r.ends_on else _("further notice"),
            "id": r.pk,
            "category": r.get_category_display(),
        }
        for r in records
    ]
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
