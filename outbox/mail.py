"""Mail queued in the database: a job's mail commits with the job, or not at all."""

import logging

from celery import current_app
from django.db import transaction
from mailer.backend import DbBackend

logger = logging.getLogger(__name__)


class QueuedMailBackend(DbBackend):
    """django-mailer's queue (rows in ``mailer_message``), nudged after the commit: a Celery
    task sends the queue at once instead of waiting for the next beat or ``runmailer_pg``
    notification. Senders lock rows one by one, so several may run."""

    def send_messages(self, email_messages):
        count = super().send_messages(email_messages)
        if count:
            transaction.on_commit(nudge)
        return count


def nudge():
    if current_app.conf.task_always_eager:
        from mailer.engine import send_all

        send_all()
        return
    try:
        current_app.send_task("outbox.tasks.send_queued_mail", retry=False)
    except Exception:  # the broker is down: beat or runmailer_pg send it later
        logger.info("outbox: mail queued; the sender was not nudged", exc_info=True)
