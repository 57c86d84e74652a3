"""The outbox in eager mode (development, tests): a job is written in the caller's
transaction, runs on its commit, and runs once; a rolled-back change leaves nothing."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from grants.enums import ApplicationState
from grants.services import application_submit
from outbox.dispatch import run, sweep
from outbox.models import Job
from review import services as review_services
from review import tasks as review_tasks
from review.models import AssignmentState
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def test_a_submission_records_its_mail_job_and_runs_it_on_commit(
    mailoutbox, django_capture_on_commit_callbacks
):
    pi = f.applicant(language="en")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        application = application_submit(application=f.ApplicationFactory(applicant=pi), user=pi)
    job = Job.objects.get()
    assert (job.task, job.args, job.done_at) == (
        "grants.tasks.notify_transition",
        [application.pk, "submit"],
        None,
    )
    assert mailoutbox == []
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.done_at is not None and job.attempts == 1
    assert [m.to for m in mailoutbox] == [[pi.email]]


def test_a_rolled_back_change_leaves_no_job(mailoutbox, django_capture_on_commit_callbacks):
    pi = f.applicant(language="en")
    application = f.ApplicationFactory(applicant=pi)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            application_submit(application=application, user=pi)
            raise RuntimeError("the request failed after the step")
    assert not Job.objects.exists()
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert mailoutbox == []


def test_a_job_runs_once_however_often_it_is_delivered(
    mailoutbox, django_capture_on_commit_callbacks
):
    pi = f.applicant(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        application_submit(application=f.ApplicationFactory(applicant=pi), user=pi)
    job = Job.objects.get()
    run(job.pk)
    run(job.pk)
    job.refresh_from_db()
    assert job.attempts == 1
    assert len(mailoutbox) == 1


def test_the_sweeper_publishes_what_the_broker_never_took_and_what_it_lost(mailoutbox):
    pi = f.applicant(language="en")
    application = f.set_state(f.ApplicationFactory(applicant=pi), ApplicationState.SUBMITTED)
    long_ago = timezone.now() - timedelta(hours=1)
    from grants.tasks import notify_transition

    never = Job.objects.create(task=notify_transition.name, args=[application.pk, "submit"])
    lost = Job.objects.create(
        task=notify_transition.name, args=[application.pk, "endorse"], dispatched_at=long_ago
    )
    queued = Job.objects.create(
        task=notify_transition.name, args=[application.pk, "award"], dispatched_at=timezone.now()
    )
    assert sweep() == 2  # eager: published means run
    never.refresh_from_db(), lost.refresh_from_db(), queued.refresh_from_db()
    assert never.done_at and lost.done_at and queued.done_at is None
    assert len(mailoutbox) == 2
    assert sweep() == 0


def test_a_failing_job_keeps_its_error_and_stays_pending(settings):
    settings.GRANTFLOW_OUTBOX_REDISPATCH_AFTER = 0
    # An assignment id that is not a number: the task's own query fails.
    job = Job.objects.create(task=review_tasks.send_review_invitations.name, args=[["x"]])
    with pytest.raises(ValueError):
        run(job.pk)
    job.refresh_from_db()
    assert job.done_at is None and job.attempts == 1
    assert job.last_error.startswith("ValueError")
    settings.GRANTFLOW_OUTBOX_MAX_ATTEMPTS = 1
    assert sweep() == 0  # out of attempts: left to the sysadmin


def test_review_invitations_and_refilling_go_through_the_outbox(
    mailoutbox, django_capture_on_commit_callbacks
):
    reviewer = f.reviewer(language="en")
    application = f.set_state(f.ApplicationFactory(), ApplicationState.UNDER_REVIEW, number="BF-1")
    assignment = f.ReviewAssignmentFactory(
        application=application,
        reviewer=reviewer,
        state=AssignmentState.INVITED,
        respond_by=timezone.localdate() + timedelta(days=7),
    )
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            review_services.invite([assignment.pk])
            assert Job.objects.get().task == review_tasks.send_review_invitations.name
            assert mailoutbox == []
    assert Job.objects.get().done_at is not None
    assert [m.to for m in mailoutbox] == [[reviewer.email]]

    with django_capture_on_commit_callbacks(execute=True):
        review_services.assignment_decline(assignment=assignment, user=reviewer, comment="busy")
    refill = Job.objects.get(task=review_tasks.fill_review_holes.name)
    assert refill.args == [application.call_id] and refill.done_at is not None


def test_a_task_that_commits_as_it_goes_runs_under_a_lease(settings):
    settings.GRANTFLOW_OUTBOX_REDISPATCH_AFTER = 0
    task = review_tasks.assign_call_task
    assert task.outbox_atomic is False
    running = Job.objects.create(task=task.name, args=[0], started_at=timezone.now())
    assert run(running.pk) is None  # another worker holds the lease
    assert sweep() == 0
    running.refresh_from_db()
    assert running.done_at is None and running.attempts == 0

    settings.GRANTFLOW_OUTBOX_LEASE = 0  # the holder died: the lease ran out
    assert sweep() == 1
    running.refresh_from_db()
    assert running.done_at is not None and running.attempts == 1
