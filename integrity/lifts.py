"""Bars lift by themselves: the gates compare dates, so a bar stops on the day after
``ends_on`` with nothing run. The nightly task only notes it in the history (``BarLift`` and
an audit event) and tells the person, once."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from outbox.dispatch import enqueue

from .models import Action, BarLift, CreditRecord

CHUNK = 1000


def ended_bars(today=None):
    """Records whose bars ended before ``today`` and that no note has recorded yet."""
    today = today or timezone.localdate()
    any_bar = Q()
    for action in Action.values:
        any_bar |= Q(**{f"bars_{action}": True})
    return (
        CreditRecord.objects.filter(any_bar, ends_on__lt=today, lift__isnull=True)
        .filter(superseded_by__isnull=True)
        .order_by("pk")
    )


def lift_expired_bars(today=None):
    """Note every bar that has lifted; answers the ids of the records noted."""
    from .tasks import notify_bar_lifted

    noted = []
    while True:
        with transaction.atomic():
            chunk = list(ended_bars(today).select_related("subject_user")[:CHUNK])
            if not chunk:
                return noted
            BarLift.objects.bulk_create(
                [BarLift(record=r, lifted_on=r.ends_on + timedelta(days=1)) for r in chunk],
                ignore_conflicts=True,
            )
            for record in chunk:
                _audit(record)
                if record.subject_user_id and record.subject_user.email:
                    enqueue(notify_bar_lifted, record.pk)
            noted += [r.pk for r in chunk]


def _audit(record):
    try:
        from audit.chain import record as audit_event
    except ImportError:  # the audit chain is optional for this module
        return
    audit_event(
        "integrity.bar_lifted",
        record,
        data={"bars": record.bars, "ends_on": record.ends_on.isoformat()},
    )
