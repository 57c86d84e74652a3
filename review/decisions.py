"""Decisions after review: closing the review, approve/reject (one or many), officers' flags
on reviews, the decision mail to the PI with the reviews anonymised, and the PI's rating of
each review.

The proposal's steps run through ``grants.services.application_transition`` (approve opens
the public notice there; award and revoke live there too). The decision mail is sent for
every approve, reject and revoke, whichever page or API took the step: a receiver of the
transition signal schedules it on commit (:func:`on_application_transition`).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit import chain as audit_chain
from audit.workflow import WorkflowError
from grants import services as grant_services
from grants.enums import ApplicationState
from grants.models import Application
from outbox.dispatch import enqueue
from programs.permissions import can_manage_program

from .models import AssignmentState, Review, ReviewRating
from .scoring import scheme_for_call

S = ApplicationState

#: Steps of the board, by the proposal's transition name.
BOARD_STEPS = ("close_review", "approve", "reject")
#: Steps after which the PI receives the decision mail.
DECISION_STEPS = ("approve", "reject", "revoke")
#: The PI may rate reviews once the proposal is decided.
DECIDED_STATES = (S.IN_NOTICE, S.AWARDED, S.REJECTED)

FLAG_KINDS = {
    "error": gettext_lazy("Error"),
    "bias": gettext_lazy("Bias"),
    "lateness": gettext_lazy("Lateness"),
}


# --- closing, approving, rejecting (one or many) --------------------------------------------


@dataclass
class RowResult:
    application: Application
    ok: bool
    errors: list = field(default_factory=list)


def _messages(exc):
    if isinstance(exc, WorkflowError):
        return [str(exc.detail)]
    if hasattr(exc, "error_dict"):
        return [str(m) for messages in exc.message_dict.values() for m in messages]
    return [str(m) for m in exc.messages]


def board_step(*, application, name, user, comment=""):
    """One step of the board on one proposal; raises WorkflowError/ValidationError."""
    if name not in BOARD_STEPS:
        raise WorkflowError("invalid_transition", _("Unknown step."))
    if name == "reject" and not (comment or "").strip():
        raise ValidationError({"comment": [_("A reason is required to reject a proposal.")]})
    return grant_services.application_transition(
        application=application, name=name, user=user, comment=comment or ""
    )


def board_bulk(*, applications, name, user, comments=None, comment=""):
    """Run ``name`` on each proposal, each on its own (all-or-nothing per row): a refused row
    keeps its state and reports why; the others go through. ``comments`` maps a proposal id
    to its own reason; ``comment`` is the reason for rows without one."""
    comments = comments or {}
    results = []
    for application in applications:
        reason = (comments.get(application.pk) or "").strip() or (comment or "").strip()
        try:
            board_step(application=application, name=name, user=user, comment=reason)
        except (WorkflowError, ValidationError) as exc:
            results.append(RowResult(application, False, _messages(exc)))
        else:
            results.append(RowResult(application, True))
    return results


# --- officers' flags on reviews -------------------------------------------------------------


def _require_manager(application, user):
    if not can_manage_program(user, application.call.program_id):
        raise PermissionDenied(_("Only the program's officers may do this."))


def review_flag(*, review, user, kind, note=""):
    """Record an officer's flag (error, bias or lateness) on a submitted review; feeds the
    reviewer's credit. An empty ``kind`` clears the flag."""
    application = review.assignment.application
    _require_manager(application, user)
    if kind and kind not in FLAG_KINDS:
        raise ValidationError({"kind": [_("Choose error, bias or lateness.")]})
    note = (note or "").strip()
    review.flagged_by_officer = (f"{kind}: {note}" if note else kind)[:300] if kind else ""
    with transaction.atomic():
        review.save(update_fields=["flagged_by_officer", "updated_at"])
        audit_chain.record("review.flagged", review, user, {"flag": review.flagged_by_officer})
    return review


def flag_kind(review):
    return (review.flagged_by_officer or "").split(":", 1)[0].strip()


# --- what the applicant reads ---------------------------------------------------------------


@dataclass
class AnonymousReview:
    """A review as the applicant reads it: no reviewer, no confidential comment."""

    id: int
    label: str
    scores: list  # (criterion label, shown value)
    total: object
    recommendation: str
    comment: str
    rating: int | None


def submitted_reviews_of(application):
    return (
        Review.objects.filter(
            assignment__application=application,
            assignment__state=AssignmentState.SUBMITTED,
            submitted_at__isnull=False,
        )
        .select_related("rating")
        .order_by("submitted_at", "pk")
    )


def anonymised_reviews(application, *, language=None, scheme=None):
    """The submitted reviews of ``application`` numbered 1, 2, … in ``language``."""
    scheme = scheme or scheme_for_call(application.call)
    result = []
    for index, review in enumerate(submitted_reviews_of(application), start=1):
        scores = []
        for criterion in scheme.criteria:
            value = (review.scores or {}).get(criterion.code)
            if value is None:
                continue
            shown = _plain_number(value)
            if criterion.labels:  # letter scales (NSFC A–D)
                shown = criterion.labels.get(shown, shown)
            scores.append((criterion.label(language), shown))
        rating = getattr(review, "rating", None)
        result.append(
            AnonymousReview(
                id=review.pk,
                label=_("Review %(n)d") % {"n": index},
                scores=scores,
                total=review.total,
                recommendation=scheme.recommendation_label(review.recommendation, language),
                comment=review.comment,
                rating=rating.rating if rating is not None else None,
            )
        )
    return result


def _plain_number(value):
    text = str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def can_rate(application, user):
    return (
        user.is_authenticated
        and application.applicant_id == user.pk
        and application.state in DECIDED_STATES
    )


def review_rate(*, review, user, rating):
    """The PI rates one review of their decided proposal, 1–4, once."""
    application = review.assignment.application
    if application.applicant_id != getattr(user, "pk", None):
        raise PermissionDenied(_("Only the principal investigator rates the reviews."))
    if review.submitted_at is None or review.assignment.state != AssignmentState.SUBMITTED:
        raise PermissionDenied(_("No such review."))
    if application.state not in DECIDED_STATES:
        raise WorkflowError(
            "invalid_transition", _("Reviews can be rated once the proposal is decided.")
        )
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 4:
        raise ValidationError({"rating": [_("Rate the review from 1 (poor) to 4 (excellent).")]})
    try:
        with transaction.atomic():
            return ReviewRating.objects.create(review=review, rating=rating)
    except IntegrityError:
        raise WorkflowError(
            "invalid_transition", _("You have already rated this review.")
        ) from None


# --- the decision mail ----------------------------------------------------------------------


def send_decision_mail(application_id, name, comment=""):
    """Mail the PI the decision (``approve``, ``reject``, ``revoke``) in the PI's language,
    with the reviews anonymised (scores, recommendation, comments; never who wrote them or
    their confidential comments)."""
    application = (
        Application.objects.select_related("call__program", "applicant", "institution")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        return 0
    person = application.applicant
    if not (person.email and person.is_active):
        return 0
    scheme = scheme_for_call(application.call)
    with translation.override(person.language):
        language = translation.get_language()
        context = {
            "application": application,
            "name": name,
            "person": person,
            "comment": comment,
            "reviews": anonymised_reviews(application, language=language, scheme=scheme),
        }
        subject = render_to_string("review/mail/decision_subject.txt", context).strip()
        body = render_to_string("review/mail/decision_body.txt", context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])


def on_application_transition(sender, instance, name, method_kwargs=None, **kwargs):
    """``post_transition`` receiver: schedule the decision mail after approve/reject/revoke."""
    if sender is not Application or name not in DECISION_STEPS:
        return
    comment = (method_kwargs or {}).get("comment", "") or ""
    pk = instance.pk

    from .tasks import send_decision

    enqueue(send_decision, pk, name, comment)


def connect_signals():
    from django_fsm.signals import post_transition

    post_transition.connect(
        on_application_transition, sender=Application, dispatch_uid="review-decision-mail"
    )
