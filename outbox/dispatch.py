"""Record after-commit work with the commit, publish it, run it once.

``enqueue`` writes the job in the caller's transaction and publishes it on commit; a broker
that does not answer costs the request a log line, not an error. ``sweep`` publishes what
was never published and re-publishes what the broker lost. ``run`` executes a job at most
once to completion: an atomic task's writes (mail rows included) commit with the done mark,
so a worker killed half-way leaves nothing and the next delivery does all of it.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Job

logger = logging.getLogger(__name__)

RUNNER = "outbox.tasks.run_job"


def enqueue(task, *args, **kwargs):
    """Have ``task(*args, **kwargs)`` run once after the current transaction commits.

    ``task`` is a Celery task; arguments must be JSON (primary keys, names). Nothing is
    recorded if the transaction rolls back. A task that commits as it goes (progress rows)
    declares ``outbox_atomic=False`` in its decorator and must be idempotent itself."""
    job = Job.objects.create(
        task=task.name, args=list(args), kwargs=kwargs, dispatched_at=timezone.now()
    )
    pk = job.pk
    transaction.on_commit(lambda: publish(pk))
    return job


def publish(job_id):
    """Hand one job to the broker, or run it now in eager mode. False: the broker did not
    take it; the row is marked so the next sweep publishes it."""
    if current_app.conf.task_always_eager:
        run(job_id)
        return True
    try:
        # No publish retries: a request must not wait for a broker that is down.
        current_app.send_task(RUNNER, (job_id,), retry=False)
    except Exception:  # kombu, redis and socket errors alike: the row stays pending
        logger.warning(
            "outbox: job %s not published; the sweeper will retry", job_id, exc_info=True
        )
        Job.objects.filter(pk=job_id, done_at__isnull=True).update(dispatched_at=None)
        return False
    return True


def pending(now, redispatch_after=None):
    """Jobs to publish: never published, or published ``redispatch_after`` seconds ago and
    not done (the broker lost them, or their run failed); never a job a worker runs now."""
    if redispatch_after is None:
        redispatch_after = settings.GRANTFLOW_OUTBOX_REDISPATCH_AFTER
    lease = now - timedelta(seconds=settings.GRANTFLOW_OUTBOX_LEASE)
    return (
        Job.objects.filter(
            done_at__isnull=True, attempts__lt=settings.GRANTFLOW_OUTBOX_MAX_ATTEMPTS
        )
        .filter(
            Q(dispatched_at__isnull=True)
            | Q(dispatched_at__lt=now - timedelta(seconds=redispatch_after))
        )
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=lease))
        .order_by("pk")
    )


def sweep(*, batch=200, redispatch_after=None):
    """Publish the pending jobs in batches; answers how many were published.

    Each batch is claimed under ``SKIP LOCKED`` and stamped before it is published, so
    sweepers running at once take disjoint rows; a row a worker holds is skipped. Stops at
    the first refused publish (the broker is down: the rest stay pending)."""
    now = timezone.now()
    published = 0
    while True:
        with transaction.atomic():
            ids = list(
                pending(now, redispatch_after)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch]
            )
            Job.objects.filter(pk__in=ids).update(dispatched_at=now)
        for n, pk in enumerate(ids):
            if not publish(pk):
                Job.objects.filter(pk__in=ids[n + 1 :], done_at__isnull=True).update(
                    dispatched_at=None
                )
                return published
            published += 1
        if len(ids) < batch:
            return published


def run(job_id):
    """Execute a job unless it is done or running elsewhere; answers the task's result."""
    job = Job.objects.filter(pk=job_id, done_at__isnull=True).first()
    if job is None:
        return None
    task = _task(job.task)
    if getattr(task, "outbox_atomic", True):
        return _run_atomic(job_id, task)
    return _run_leased(job, task)


def _task(name):
    task = current_app.tasks.get(name)
    return task if task is not None else import_string(name)


def _run_atomic(job_id, task):
    """Lock the row, run, mark done, in one transaction: all of it commits or none."""
    try:
        with transaction.atomic():
            job = (
                Job.objects.select_for_update(skip_locked=True)
                .filter(pk=job_id, done_at__isnull=True)
                .first()
            )
            if job is None:  # done meanwhile, or another worker holds it right now
                return None
            result = task(*job.args, **job.kwargs)
            Job.objects.filter(pk=job_id).update(
                done_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
    except Exception as exc:
        _failed(job_id, exc, attempts=F("attempts") + 1)
        raise
    return result


def _run_leased(job, task):
    """A task that commits as it goes: claim a lease, run, mark done. A worker killed
    mid-way leaves the lease to expire; the task runs again and must be idempotent."""
    now = timezone.now()
    lease = now - timedelta(seconds=settings.GRANTFLOW_OUTBOX_LEASE)
    claimed = (
        Job.objects.filter(pk=job.pk, done_at__isnull=True)
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=lease))
        .update(started_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    try:
        result = task(*job.args, **job.kwargs)
    except Exception as exc:
        _failed(job.pk, exc, started_at=None)
        raise
    Job.objects.filter(pk=job.pk).update(done_at=timezone.now(), last_error="")
    return result


def _failed(job_id, exc, **fields):
    try:
        Job.objects.filter(pk=job_id).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000], **fields
        )
    except DatabaseError:
        logger.exception("outbox: could not record the failure of job %s", job_id)


def purge(days=None):
    """Delete jobs done more than ``days`` ago (GRANTFLOW_OUTBOX_KEEP_DAYS)."""
    days = settings.GRANTFLOW_OUTBOX_KEEP_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    return Job.objects.filter(done_at__lt=cutoff).delete()[0]
