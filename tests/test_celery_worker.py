"""A real Celery worker on Redis delivers the submission mail, and only after the commit.

Runs when CELERY_TEST_BROKER_URL names a broker (``make test`` sets it to
redis://127.0.0.1:6379/15 when Redis answers); the worker runs in a thread of this process,
so the in-memory mail outbox and the test database are the ones the test reads.
"""

import os
import time

import pytest
from django.core import mail
from django.db import transaction

from config.celery_app import app
from grants.enums import ApplicationState
from grants.services import application_submit
from tests import factories as f

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "")

pytestmark = [
    pytest.mark.skipif(
        not BROKER_URL,
        reason="CELERY_TEST_BROKER_URL is not set (make test sets it when Redis answers)",
    ),
    pytest.mark.django_db(transaction=True),
]

#: Settings this module changes on the shared app, restored afterwards.
CHANGED = {
    "broker_url": BROKER_URL,
    "task_always_eager": False,
    "result_backend": None,
    "worker_hijack_root_logger": False,
    "broker_connection_retry_on_startup": False,
}


def _reset_connections():
    """Forget broker connections so the next use connects to the broker now configured."""
    from kombu import pools

    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # closes and forgets kombu's process-wide connection/producer pools


@pytest.fixture
def worker():
    from celery.contrib.testing.worker import start_worker

    saved = {key: app.conf[key] for key in CHANGED}
    _reset_connections()
    app.conf.update(CHANGED)
    try:
        app.control.purge()  # leftovers of an interrupted run would reach this outbox
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
    finally:
        _reset_connections()
        app.conf.update(saved)
    assert app.conf.task_always_eager is True


def wait_for_mail(count, timeout=20):
    deadline = time.monotonic() + timeout
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(mail.outbox)


def test_the_worker_mails_after_the_commit_and_not_before(worker):
    pi = f.applicant(language="en")
    admin = f.institution_admin(pi.institution, language="en")
    application = f.ApplicationFactory(applicant=pi)
    with transaction.atomic():
        application = application_submit(application=application, user=pi)
        assert application.state == ApplicationState.SUBMITTED
        time.sleep(1.0)  # a task sent now would have reached the running worker
        assert mail.outbox == []
    sent = wait_for_mail(2)
    subject = f"Proposal {application.number} submitted"
    assert sorted((m.to[0], m.subject) for m in sent) == sorted(
        [(pi.email, subject), (admin.email, subject)]
    )


def test_a_rolled_back_submission_queues_nothing(worker):
    rolled_back = f.ApplicationFactory(applicant=f.applicant(language="en"))
    with pytest.raises(RuntimeError), transaction.atomic():
        application_submit(application=rolled_back, user=rolled_back.applicant)
        raise RuntimeError("the request failed after the step")
    pi = f.applicant(language="en")
    application = application_submit(application=f.ApplicationFactory(applicant=pi), user=pi)
    # One solo worker takes tasks in order: had the first been queued, its mail came first.
    [message] = wait_for_mail(1)
    time.sleep(0.5)
    assert [m.to for m in mail.outbox] == [[pi.email]]
    assert message.subject == f"Proposal {application.number} submitted"
