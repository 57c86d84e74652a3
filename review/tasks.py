"""Celery tasks of the review module. Thin: take primary keys, call a service."""

import smtplib

from celery import shared_task

# --- reviewers: invitations, refilling freed seats, expiry and reminders (celery beat) ---


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def send_review_invitations(self, assignment_ids):
    from review.services import send_invitations

    return send_invitations(assignment_ids)


@shared_task(acks_late=True)
def fill_review_holes(call_id):
    """Staff the seats a decline, a declared conflict or an expiry freed (keeps the rest)."""
    from review.services import run_fill_holes

    run_fill_holes(call_id)


@shared_task(acks_late=True)
def expire_review_invitations():
    """Beat: invitations past their respond-by date expire; their seats are refilled."""
    from review.services import expire_invitations

    return expire_invitations()


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def remind_reviewers(self):
    """Beat: reviewers whose review is not in, a few days before the deadline (once)."""
    from review.services import remind_reviewers as remind

    return remind()


# --- decisions: the decision mail to the PI, reviews anonymised ---


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def send_decision(self, application_id, name, comment=""):
    from review.decisions import send_decision_mail

    return send_decision_mail(application_id, name, comment)


# --- staffing: the assignment engine for large calls ---


@shared_task(acks_late=True, outbox_atomic=False)
def assign_call_task(call_id, actor_id=None, run_id=None):
    """Run the assignment engine over a call; progress and result go to an AssignmentRun.

    Commits as it goes (the progress page reads it), so the outbox runs it under a lease
    (``outbox_atomic=False``); a second run staffs only the seats still empty."""
    from accounts.models import User
    from programs.models import Call
    from review.assignment import run_create, run_execute

    if run_id is None:
        call = Call.objects.filter(pk=call_id).first()
        if call is None:
            return None
        actor = User.objects.filter(pk=actor_id).first() if actor_id else None
        run_id = run_create(call=call, actor=actor).pk
    result = run_execute(run_id)
    return None if result is None else result.as_json()
