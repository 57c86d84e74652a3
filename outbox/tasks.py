"""Celery tasks of the outbox: the runner, the sweeper (beat) and the mail sender."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def run_job(job_id):
    from .dispatch import run

    run(job_id)


@shared_task(ignore_result=True)
def sweep_outbox():
    """Beat: publish what the broker never took or lost; drop jobs done long ago."""
    from .dispatch import purge, sweep

    purge()
    return sweep()


@shared_task(ignore_result=True)
def send_queued_mail():
    """Send django-mailer's queue (each message row locked while it is sent)."""
    from mailer.engine import send_all
    from mailer.models import Message

    # The ids only: each message is read again, locked, when its turn comes.
    send_all(Message.objects.non_deferred().only("id", "priority", "when_added"))


@shared_task(ignore_result=True)
def retry_deferred_mail():
    """Beat: mail the SMTP server refused goes back into the queue (MAILER_EMAIL_MAX_RETRIES)."""
    from mailer.models import Message

    return Message.objects.retry_deferred()
