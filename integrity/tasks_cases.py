"""Celery tasks of misconduct cases. Thin: call ``integrity.cases``."""

import smtplib

from celery import shared_task


@shared_task(acks_late=True)
def finalize_unappealed_cases():
    """Beat: decided cases whose appeal window passed without an appeal become final (a
    system step, ``user=None``, logged like any other)."""
    from integrity.cases import finalize_unappealed

    return finalize_unappealed()


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def notify_case_decision(self, case_id, appeal=False):
    from integrity.cases import notify_decision

    return notify_decision(case_id, appeal=appeal)


@shared_task(acks_late=True)
def notify_case_appeal(case_id):
    from integrity.cases import notify_officers_of_appeal

    return notify_officers_of_appeal(case_id)


@shared_task(acks_late=True)
def notify_case_investigation_request(request_id):
    from integrity.cases import notify_investigation_request

    return notify_investigation_request(request_id)
