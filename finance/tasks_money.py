"""Periodic money jobs (celery beat): held payments are re-checked against the integrity
records; a hold whose bar has lifted is released and, if the officer had ordered the
payment, the instalment is paid with its amount intact."""

from celery import shared_task


@shared_task(name="finance.tasks_money.recheck_held_payments")
def recheck_held_payments():
    from .money import recheck_held

    return [d.pk for d in recheck_held()]
