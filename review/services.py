"""Use cases of the reviewer: invitations, answers, conflicts, the pledge, drafts and submission.

Every state change runs inside ``transaction.atomic`` on a row-locked assignment through
``audit.workflow.perform`` (which logs it). Mail and the refilling of a freed seat are
recorded in the outbox (``outbox.dispatch.enqueue``) in the same transaction: nothing leaves
the process before the state is saved, nothing is lost when the broker is down, and the
reviewer's request does not wait for the assignment engine.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit import chain as audit_chain
from audit import workflow
from audit.workflow import WorkflowError
from grants.enums import CLOSED_STATES as CLOSED_APPLICATION_STATES
from integrity.models import Action
from integrity.services import check_eligibility
from outbox.dispatch import enqueue

from . import scoring
from .models import (
    AssignmentState,
    ConflictDeclaration,
    IntegrityPledge,
    Review,
    ReviewAssignment,
)

logger = logging.getLogger(__name__)

A = AssignmentState
PLEDGE_VERSION = "2026"
#: Reviewers hear of the review deadline this many days before it.
REMINDER_DAYS = 3
#: The transitions a reviewer takes by name (API and pages); ``expire`` is the system's.
REVIEWER_TRANSITIONS = ("accept", "decline", "declare_conflict", "submit")


# --- language -------------------------------------------------------------------------------


def reviewer_language(user):
    """The language a reviewer reads mail and documents in: international experts (country
    other than CN) get English; domestic experts their own setting."""
    if str(user.country or "CN") != "CN":
        return "en"
    return user.language or settings.LANGUAGE_CODE


def localized(obj, field, language=None):
    """``obj.<field>_en`` when reading English and it is filled, else ``obj.<field>``."""
    if scoring.english(language):
        return getattr(obj, f"{field}_en", None) or getattr(obj, field)
    return getattr(obj, field)


def site_url(path):
    base = getattr(settings, "GRANTFLOW_SITE_URL", "") or "http://localhost:8000"
    return base.rstrip("/") + path


# --- checks ---------------------------------------------------------------------------------


def has_pledge(reviewer, call):
    return IntegrityPledge.objects.filter(reviewer=reviewer, call=call).exists()


def _require_pledge(assignment):
    if not has_pledge(assignment.reviewer, assignment.application.call):
        raise WorkflowError(
            "invalid_transition",
            _(
                "Sign the integrity pledge for this call first: it comes before your first "
                "review of the call."
            ),
        )


def _require_eligible(reviewer):
    eligibility = check_eligibility(Action.REVIEW, users=[reviewer])
    if not eligibility:
        raise WorkflowError("integrity_block", " ".join(str(r) for r in eligibility.reasons))


def _require_reviewer(assignment, user):
    if user is None or not user.is_authenticated or assignment.reviewer_id != user.pk:
        raise PermissionDenied(_("Only the invited reviewer answers this assignment."))


def _require_open_proposal(assignment):
    if assignment.application.state in CLOSED_APPLICATION_STATES:
        raise WorkflowError(
            "invalid_transition",
            _("The proposal is no longer under review (%(state)s).")
            % {"state": assignment.application.get_state_display()},
        )


def _lock(assignment):
    """The assignment re-read under a row lock, with what the checks read."""
    return (
        ReviewAssignment.objects.select_for_update(of=("self",))
        .select_related("application__call__program", "reviewer")
        .get(pk=assignment.pk)
    )


# --- invitations ----------------------------------------------------------------------------


def invite(assignment_ids):
    """Mail the invitations of freshly made assignments, once the transaction commits."""
    ids = [int(pk) for pk in assignment_ids]
    if not ids:
        return

    from .tasks import send_review_invitations

    enqueue(send_review_invitations, ids)


def invitation_links(assignment):
    return {
        "accept_url": site_url(reverse("review:invitation_accept", args=[assignment.token])),
        "decline_url": site_url(reverse("review:invitation_decline", args=[assignment.token])),
        "assignment_url": site_url(reverse("review:assignment", args=[assignment.pk])),
    }


def _mail(assignment, template, extra=None):
    """Render ``review/mail/<template>_{subject,body}.txt`` in the reviewer's language."""
    reviewer = assignment.reviewer
    if not reviewer.email or not reviewer.is_active:
        return 0
    language = reviewer_language(reviewer)
    application = assignment.application
    call = application.call
    with translation.override(language):
        context = {
            "assignment": assignment,
            "reviewer": reviewer,
            "application": application,
            "title": localized(application, "title", language),
            "call_title": localized(call, "title", language),
            "call": call,
            "respond_by": assignment.respond_by,
            "review_deadline": call.review_deadline,
            "anonymous": call.anonymous_review,
            **invitation_links(assignment),
            **(extra or {}),
        }
        subject = render_to_string(f"review/mail/{template}_subject.txt", context)
        body = render_to_string(f"review/mail/{template}_body.txt", context)
    subject = " ".join(subject.split())
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [reviewer.email])


def _assignments_for_mail(ids):
    return ReviewAssignment.objects.filter(pk__in=ids).select_related(
        "application__call__program", "reviewer"
    )


def send_invitations(assignment_ids):
    """Mail each still-open invitation (a task calls this); returns the number sent."""
    sent = 0
    for assignment in _assignments_for_mail(assignment_ids).filter(state=A.INVITED):
        sent += _mail(assignment, "invitation")
    return sent


# --- answers --------------------------------------------------------------------------------


def pledge_sign(*, reviewer, call):
    """Record the reviewer's integrity pledge for ``call`` (once; signing again is a no-op)."""
    pledge, _created = IntegrityPledge.objects.get_or_create(
        reviewer=reviewer, call=call, defaults={"text_version": PLEDGE_VERSION}
    )
    return pledge


def assignment_accept(*, assignment, user, comment=""):
    with transaction.atomic():
        current = _lock(assignment)
        _require_reviewer(current, user)
        if current.state != A.INVITED:
            # Let the workflow say why (accepted already, expired, ...).
            return workflow.perform(current, "accept", user=user, comment=comment, locked=True)
        _require_open_proposal(current)
        _require_eligible(current.reviewer)
        _require_pledge(current)
        current.responded_at = timezone.now()
        return workflow.perform(current, "accept", user=user, comment=comment, locked=True)


def assignment_decline(*, assignment, user, comment=""):
    with transaction.atomic():
        current = _lock(assignment)
        _require_reviewer(current, user)
        current.responded_at = timezone.now()
        current = workflow.perform(current, "decline", user=user, comment=comment, locked=True)
        fill_holes(current.application.call_id)
    return current


def assignment_declare_conflict(*, assignment, user, reason):
    """Free the seat (invited or accepted) and record the conflict: never assigned again."""
    with transaction.atomic():
        current = _lock(assignment)
        _require_reviewer(current, user)
        if current.responded_at is None:
            current.responded_at = timezone.now()
        current = workflow.perform(
            current, "declare_conflict", user=user, comment=reason, locked=True
        )
        ConflictDeclaration.objects.get_or_create(
            reviewer_id=current.reviewer_id,
            application_id=current.application_id,
            defaults={"reason": reason.strip()},
        )
        fill_holes(current.application.call_id)
    return current


def assignment_expire(*, assignment):
    """The system's step for an invitation left unanswered past its respond-by date."""
    with transaction.atomic():
        current = _lock(assignment)
        current = workflow.perform(current, "expire", user=None, locked=True)
        fill_holes(current.application.call_id)
    return current


def assignment_transition(*, assignment, name, user, comment=""):
    """Run a reviewer's step by its public name (the API's ``transitions/<name>/``)."""
    if name == "accept":
        return assignment_accept(assignment=assignment, user=user, comment=comment)
    if name == "decline":
        return assignment_decline(assignment=assignment, user=user, comment=comment)
    if name == "declare_conflict":
        return assignment_declare_conflict(assignment=assignment, user=user, reason=comment)
    if name == "submit":
        review_submit(assignment=assignment, user=user)
        return ReviewAssignment.objects.get(pk=assignment.pk)
    # Unknown names and system steps: the workflow refuses them (409 invalid_transition).
    return workflow.perform(assignment, name, user=user, comment=comment)


# --- refilling the seats that were freed -----------------------------------------------------


def fill_holes(call_id):
    """After the commit, ask the assignment engine (if installed) to staff the freed seats."""

    from .tasks import fill_review_holes

    enqueue(fill_review_holes, call_id)


def run_fill_holes(call_id):
    """Call ``review.assignment.assign_call`` for the call; a no-op while it does not exist."""
    try:
        from review.assignment import assign_call
    except ImportError:
        return None
    from programs.models import Call

    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return None
    return assign_call(call, actor=None)


# --- reviews --------------------------------------------------------------------------------


def _editable_review(current):
    """The assignment's review (created on first save), refused once submitted."""
    if current.state != A.ACCEPTED:
        if current.state == A.SUBMITTED:
            raise WorkflowError(
                "invalid_transition", _("The review was submitted and can no longer be changed.")
            )
        raise WorkflowError(
            "invalid_transition",
            _("Accept the invitation before writing the review (the assignment is %(state)s).")
            % {"state": current.get_state_display()},
        )
    review, _created = Review.objects.select_for_update().get_or_create(assignment=current)
    if review.is_locked:
        raise WorkflowError(
            "invalid_transition", _("The review was submitted and can no longer be changed.")
        )
    return review


UNSET = object()


def _apply(review, *, scores, recommendation, comment, confidential_comment):
    if scores is not UNSET:
        review.scores = scores
    if recommendation is not UNSET:
        review.recommendation = recommendation or ""
    if comment is not UNSET:
        review.comment = comment or ""
    if confidential_comment is not UNSET:
        review.confidential_comment = confidential_comment or ""


def review_save_draft(
    *,
    assignment,
    user,
    scores=UNSET,
    recommendation=UNSET,
    comment=UNSET,
    confidential_comment=UNSET,
):
    """Save what the reviewer has so far; scores given must be on the scale already."""
    language = translation.get_language()
    with transaction.atomic():
        current = _lock(assignment)
        _require_reviewer(current, user)
        review = _editable_review(current)
        _apply(
            review,
            scores=scores,
            recommendation=recommendation,
            comment=comment,
            confidential_comment=confidential_comment,
        )
        scheme = scoring.scheme_for_call(current.application.call)
        result, review.recommendation = scoring.validate_review(
            scheme,
            scores=review.scores,
            recommendation=review.recommendation,
            comment=review.comment,
            complete=False,
            language=language,
        )
        review.scores = result.as_json()
        review.total = result.total
        review.full_clean(exclude=["assignment"])
        review.save()
    return review


def review_submit(
    *,
    assignment,
    user,
    scores=UNSET,
    recommendation=UNSET,
    comment=UNSET,
    confidential_comment=UNSET,
):
    """Check the review is complete, lock it and move the assignment to ``submitted``."""
    language = translation.get_language()
    with transaction.atomic():
        current = _lock(assignment)
        _require_reviewer(current, user)
        review = _editable_review(current)
        _require_open_proposal(current)
        _require_eligible(current.reviewer)
        _require_pledge(current)
        _apply(
            review,
            scores=scores,
            recommendation=recommendation,
            comment=comment,
            confidential_comment=confidential_comment,
        )
        scheme = scoring.scheme_for_call(current.application.call)
        result, review.recommendation = scoring.validate_review(
            scheme,
            scores=review.scores,
            recommendation=review.recommendation,
            comment=review.comment,
            complete=True,
            language=language,
        )
        review.scores = result.as_json()
        review.total = result.total
        review.submitted_at = timezone.now()
        review.full_clean(exclude=["assignment"])
        review.save()
        workflow.perform(current, "submit", user=user, locked=True)
        audit_chain.record(
            "review.submitted",
            review,
            user,
            {
                "assignment": current.pk,
                "application": current.application_id,
                "total": review.total,
                "recommendation": review.recommendation,
                # Proves later that the stored review is the one submitted, without copying
                # the confidential text into the log.
                "content_sha256": audit_chain.fingerprint(
                    [
                        review.scores,
                        review.total,
                        review.recommendation,
                        review.comment,
                        review.confidential_comment,
                    ]
                ),
            },
        )
    return review


def review_result(review, scheme=None):
    """The checked scores of a stored review (total and thresholds), without raising."""
    scheme = scheme or scoring.scheme_for_call(review.assignment.application.call)
    try:
        return scheme.evaluate(review.scores or {}, complete=False)
    except ValidationError:
        return None


# --- celery beat ----------------------------------------------------------------------------


def expire_invitations(today=None):
    """Expire every invitation past its respond-by date; each call's holes are refilled."""
    today = today or timezone.localdate()
    ids = list(
        ReviewAssignment.objects.filter(state=A.INVITED, respond_by__lt=today).values_list(
            "pk", flat=True
        )
    )
    expired = 0
    for pk in ids:
        assignment = ReviewAssignment.objects.filter(pk=pk).first()
        if assignment is None:
            continue
        try:
            assignment_expire(assignment=assignment)
        except WorkflowError:
            continue  # answered meanwhile
        expired += 1
    return expired


def remind_reviewers(today=None):
    """Mail reviewers whose review is not in yet, ``REMINDER_DAYS`` before the deadline.

    Once per assignment: ``reminded_at`` is set by a conditional update, so two beat runs
    at once cannot both send; with the mail queue (GRANTFLOW_MAIL_QUEUE) the mark and the
    mail commit together, and a failure un-marks it for the next run.
    """
    today = today or timezone.localdate()
    due = ReviewAssignment.objects.filter(
        state__in=[A.INVITED, A.ACCEPTED],
        reminded_at__isnull=True,
        application__call__review_deadline__gte=today,
        application__call__review_deadline__lte=today + timedelta(days=REMINDER_DAYS),
    )
    sent = 0
    for assignment in _assignments_for_mail(due.values_list("pk", flat=True)):
        with transaction.atomic():
            claimed = ReviewAssignment.objects.filter(
                pk=assignment.pk, reminded_at__isnull=True
            ).update(reminded_at=timezone.now())
            if not claimed:
                continue
            days = (assignment.application.call.review_deadline - today).days
            sent += _mail(assignment, "reminder", {"days_left": days})
    return sent


# --- intercession (请托, 打招呼): the reviewer reports it, integrity opens a case ---


def assignment_report_intercession(*, assignment, user, who, what, identity="", evidence=None):
    """The assigned reviewer reports an attempt to influence their review: a misconduct case
    opens (``integrity.cases``) with the reviewer as its confidential reporter, about the
    person named, referring to the proposal."""
    from integrity.cases import case_report
    from integrity.models import CaseChannel, MisconductCategory

    _require_reviewer(assignment, user)
    application = assignment.application
    return case_report(
        channel=CaseChannel.INTERCESSION,
        title=_("Intercession reported by a reviewer of proposal %(number)s")
        % {"number": application.number or application.pk},
        allegation=what,
        kind=MisconductCategory.FALSE_INFORMATION,
        subjects=[{"name": who, "identity": identity}],
        reporter_user=user,
        reference=application,
        reference_text=f"{application.number or ''} {application.title}".strip()[:300],
        evidence=[evidence] if evidence is not None else [],
        created_by=user,
        appeal_working_days=int(application.call.rules["appeal_working_days"]),
    )
