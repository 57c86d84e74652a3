"""Integrity's Celery tasks: thin, they call the services and return counts."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation


@shared_task
def lift_expired_bars():
    """Nightly (celery beat): note the bars whose period ended and tell the people."""
    from .lifts import lift_expired_bars as lift

    return len(lift())


@shared_task
def relink_records():
    """Nightly: records that matched nobody try again (new accounts, new identifiers)."""
    from .matching import relink

    return relink()


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def notify_bar_lifted(self, record_id):
    from .models import BarLift

    lift = (
        BarLift.objects.select_related("record__subject_user")
        .filter(record_id=record_id, notified=False)
        .first()
    )
    if lift is None:
        return 0
    person = lift.record.subject_user
    if person is None or not person.email or not person.is_active:
        return 0
    with translation.override(person.language):
        context = {"record": lift.record, "lift": lift, "person": person}
        subject = render_to_string("integrity/mail/bar_lifted_subject.txt", context).strip()
        body = render_to_string("integrity/mail/bar_lifted_body.txt", context)
    sent = send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
    BarLift.objects.filter(pk=lift.pk).update(notified=True)
    return sent
