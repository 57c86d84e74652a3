"""The outbox against a real broker, real workers and PostgreSQL's row locks.

Runs when CELERY_TEST_BROKER_URL names a Redis database (``make test`` sets it when Redis
answers) and the tests run on PostgreSQL. "Broker down" is a closed port: a real refused
connection. The killed worker is a ``celery worker`` process on the test database, killed
with SIGKILL while its job waits for a table lock this test holds.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
import redis
from django.conf import settings
from django.core import mail
from django.db import connection, connections
from mailer.models import RESULT_SUCCESS, Message, MessageLog

from config.celery_app import app
from grants.enums import ApplicationState
from grants.services import application_submit
from grants.tasks import notify_transition
from outbox.dispatch import sweep
from outbox.models import Job
from tests import factories as f

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "")
REFUSED_URL = "redis://127.0.0.1:6399/0"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(
        not BROKER_URL,
        reason="CELERY_TEST_BROKER_URL is not set (make test sets it when Redis answers)",
    ),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="needs PostgreSQL"
    ),
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _reset_connections():
    """Forget broker connections so the next publish connects to the broker now configured."""
    from kombu import pools

    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def broker():
    """Point the shared Celery app at a broker (``broker(url)``), not eager; restored after."""
    keys = ("broker_url", "task_always_eager", "result_backend", "worker_hijack_root_logger")
    saved = {key: app.conf[key] for key in keys}

    def use(url):
        _reset_connections()
        app.conf.update(
            broker_url=url,
            task_always_eager=False,
            result_backend=None,
            worker_hijack_root_logger=False,
        )
        return app

    yield use
    _reset_connections()
    app.conf.update(saved)


@pytest.fixture
def queue():
    """The Redis database of the test broker, emptied before and after."""
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def wait_until(predicate, timeout=60, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s")


def job_done(pk):
    return Job.objects.filter(pk=pk, done_at__isnull=False).exists()


# --- the broker is down -----------------------------------------------------------------------


def test_submission_succeeds_while_the_broker_is_down_and_mails_once_it_returns(broker, queue):
    from celery.contrib.testing.worker import start_worker

    pi = f.applicant(language="en")
    application = f.ApplicationFactory(applicant=pi)
    broker(REFUSED_URL)
    started = time.monotonic()
    application = application_submit(application=application, user=pi)
    elapsed = time.monotonic() - started
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED and application.number
    assert elapsed < 1.5, f"the submission waited {elapsed:.2f} s for the broker"
    job = Job.objects.get()
    assert (job.dispatched_at, job.done_at) == (None, None)  # pending: the sweeper's
    assert sweep() == 0  # still down: nothing published, the row stays pending
    assert Job.objects.get().dispatched_at is None

    broker(BROKER_URL)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        assert sweep() == 1
        wait_until(lambda: job_done(job.pk))
        assert sweep() == 0
        time.sleep(1.0)  # a second delivery would have reached the running worker
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([pi.email], f"Proposal {application.number} submitted")
    ]
    assert Job.objects.get().attempts == 1


# --- two sweepers at once ---------------------------------------------------------------------


def published_job_ids(client):
    ids = []
    for raw in client.lrange("celery", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        assert message["headers"]["task"] == "outbox.tasks.run_job"
        ids.append(args[0])
    return ids


def test_two_sweepers_at_once_publish_each_job_once(broker, queue):
    broker(BROKER_URL)
    jobs = Job.objects.bulk_create(
        Job(task=notify_transition.name, args=[0, "submit"]) for _ in range(60)
    )
    barrier = threading.Barrier(2)
    counts = []

    def sweeper():
        try:
            barrier.wait()
            counts.append(sweep(batch=4))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 60
    assert sorted(published_job_ids(queue)) == sorted(j.pk for j in jobs)
    assert not Job.objects.filter(dispatched_at__isnull=True).exists()


# --- a worker killed mid-task -------------------------------------------------------------------


def database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker_process(log):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "GRANTFLOW_MAIL_QUEUE": "1",
        # What the queue is sent with: nothing leaves the machine; MessageLog records it.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "GRANTFLOW_DEMO": "0",
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def backend_waiting_on(table):
    """The PostgreSQL backend blocked on a lock while writing ``table``, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            [f'%INSERT INTO "{table}"%'],
        )
        row = cursor.fetchone()
    return row and row[0]


def backend_alive(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def mails_by_recipient():
    sent = [m.to_addresses for m in MessageLog.objects.filter(result=RESULT_SUCCESS)]
    queued = [m.to_addresses for m in Message.objects.all()]
    counts = {}
    for to in sent + queued:
        counts[tuple(to)] = counts.get(tuple(to), 0) + 1
    return counts


def test_a_worker_killed_mid_task_leaves_nothing_and_the_retry_mails_once(broker, queue, tmp_path):
    pi = f.applicant(language="en")
    admin = f.institution_admin(pi.institution, language="en")
    application = f.ApplicationFactory(applicant=pi)
    broker(BROKER_URL)
    blocker = psycopg2.connect(database_url())
    workers = []
    try:
        # The job's first mail row cannot be written while this lock is held.
        blocker.cursor().execute("LOCK TABLE mailer_message IN EXCLUSIVE MODE")
        application = application_submit(application=application, user=pi)
        job = Job.objects.get()
        workers.append(start_worker_process((tmp_path / "worker1.log").open("w")))
        stuck = wait_until(lambda: backend_waiting_on("mailer_message"), timeout=90)
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(30)
        blocker.rollback()  # the lock goes; the dead worker's transaction can only roll back
        wait_until(lambda: not backend_alive(stuck), timeout=30)
        assert not Job.objects.filter(pk=job.pk, done_at__isnull=False).exists()
        assert mails_by_recipient() == {}

        workers.append(start_worker_process((tmp_path / "worker2.log").open("w")))
        # Its message died with the first worker (unacknowledged): the sweeper publishes it
        # again once it is older than the redispatch delay (0 here).
        assert sweep(redispatch_after=0) == 1
        wait_until(lambda: job_done(job.pk), timeout=90)
        wait_until(lambda: not Message.objects.exists(), timeout=30)  # the nudge sent them
        assert sweep(redispatch_after=0) == 0
        time.sleep(1.0)
        assert mails_by_recipient() == {(pi.email,): 1, (admin.email,): 1}
        assert Job.objects.get().attempts == 1
        subjects = {m.subject for m in MessageLog.objects.all()}
        assert subjects == {f"Proposal {application.number} submitted"}
    finally:
        blocker.close()
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
