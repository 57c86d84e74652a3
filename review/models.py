"""Peer review: the expert pool's history, conflicts, assignments, scoring and reviews."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Institution
from grants.models import Application
from programs.models import Call

from . import rules


class ScoringScheme(models.Model):
    """A scoring scheme as data: criteria with weights, scale and thresholds.

    ``criteria`` is a list of ``{code, label, label_en, weight, min, max, step, threshold,
    labels}`` (``labels`` maps a number to a letter on letter scales such as NSFC's A–D);
    ``recommendations`` a list of ``{code, label, label_en}``. Presets ``eu`` and ``nsfc``
    come with a data migration; the funder may define more.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    criteria = models.JSONField(_("criteria"), default=list)
    overall_threshold = models.DecimalField(
        _("overall threshold"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    recommendations = models.JSONField(_("recommendations"), default=list, blank=True)
    is_preset = models.BooleanField(_("preset"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring schemes")

    def __str__(self):
        return self.name


class Affiliation(models.Model):
    """Where an expert worked and when: conflicts look back three years."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="affiliations"
    )
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    institution_name = models.CharField(_("institution"), max_length=200, blank=True)
    started_on = models.DateField(_("from"), null=True, blank=True)
    ended_on = models.DateField(_("until"), null=True, blank=True, help_text=_("Empty: current."))

    class Meta:
        ordering = ["-started_on"]
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")

    def __str__(self):
        return f"{self.user}: {self.institution or self.institution_name}"


class Collaboration(models.Model):
    """A joint project, paper, award or patent between two people (imported or entered)."""

    class Kind(models.TextChoices):
        PROJECT = "project", _("Joint project")
        PAPER = "paper", _("Joint paper")
        AWARD = "award", _("Joint award")
        PATENT = "patent", _("Joint patent")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations"
    )
    partner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    on = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        ordering = ["-on"]
        verbose_name = _("collaboration")
        verbose_name_plural = _("collaborations")
        indexes = [models.Index(fields=["person", "on"]), models.Index(fields=["partner", "on"])]

    def __str__(self):
        return f"{self.person} – {self.partner} ({self.get_kind_display()}, {self.on})"


class IntegrityPledge(models.Model):
    """The reviewer's signed integrity pledge for one call, before their first review."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pledges"
    )
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="pledges")
    signed_at = models.DateTimeField(auto_now_add=True)
    text_version = models.CharField(max_length=32, default="2026")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "call"], name="pledge_once_per_call")
        ]
        verbose_name = _("integrity pledge")
        verbose_name_plural = _("integrity pledges")

    def __str__(self):
        return f"{self.reviewer} / {self.call}"


class ConflictDeclaration(models.Model):
    """A conflict the reviewer declared (any other interest): never assigned again."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="declared_conflicts"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="declared_conflicts"
    )
    reason = models.TextField(_("reason"))
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reviewer", "application"], name="conflict_declared_once"
            )
        ]
        verbose_name = _("declared conflict")
        verbose_name_plural = _("declared conflicts")

    def __str__(self):
        return f"{self.reviewer} × {self.application}"


class AssignmentState(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Accepted")
    SUBMITTED = "submitted", _("Review submitted")
    DECLINED = "declined", _("Declined")
    CONFLICT = "conflict", _("Conflict declared")
    EXPIRED = "expired", _("Expired")


#: Assignments that hold a reviewer's seat on a proposal (count towards quotas and loads).
ACTIVE_ASSIGNMENT_STATES = [
    AssignmentState.INVITED,
    AssignmentState.ACCEPTED,
    AssignmentState.SUBMITTED,
]
#: Assignments that freed their seat: the engine fills the hole, never re-invites the pair.
CLOSED_ASSIGNMENT_STATES = [
    AssignmentState.DECLINED,
    AssignmentState.CONFLICT,
    AssignmentState.EXPIRED,
]


def new_token():
    return secrets.token_urlsafe(24)


class ReviewAssignment(ConcurrentTransitionMixin, models.Model):
    FSM_FIELD = "state"
    A = AssignmentState

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="review_assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments"
    )
    state = FSMField(
        _("state"), default=A.INVITED, choices=A.choices, protected=True, db_index=True
    )
    is_international = models.BooleanField(_("international"), default=False)
    affinity = models.FloatField(_("affinity"), default=0.0)
    respond_by = models.DateField(_("respond by"))
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    invited_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "id"]
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "reviewer"], name="review_assignment_once"
            )
        ]
        indexes = [models.Index(fields=["reviewer", "state"])]

    def __str__(self):
        return f"{self.application.number or self.application_id} ← #{self.reviewer_id}"

    @transition(
        field=state,
        source=A.INVITED,
        target=A.ACCEPTED,
        permission=rules.is_assigned_reviewer,
        custom={"label": _("Accept invitation")},
    )
    def accept(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=A.INVITED,
        target=A.DECLINED,
        permission=rules.is_assigned_reviewer,
        custom={"label": _("Decline invitation")},
    )
    def decline(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=[A.INVITED, A.ACCEPTED],
        target=A.CONFLICT,
        permission=rules.is_assigned_reviewer,
        custom={"label": _("Declare a conflict of interest"), "needs_comment": True},
    )
    def declare_conflict(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=A.ACCEPTED,
        target=A.SUBMITTED,
        permission=rules.is_assigned_reviewer,
        custom={"label": _("Submit review")},
    )
    def submit(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=A.INVITED,
        target=A.EXPIRED,
        permission=rules.nobody,
        custom={"label": _("Expire invitation")},
    )
    def expire(self, *, by=None, comment="", log_data=None):
        pass


class Review(models.Model):
    """The reviewer's scores and comments; a draft until the assignment is submitted."""

    assignment = models.OneToOneField(
        ReviewAssignment, on_delete=models.PROTECT, related_name="review"
    )
    scores = models.JSONField(_("scores"), default=dict, blank=True)
    total = models.DecimalField(
        _("weighted score"), max_digits=8, decimal_places=3, null=True, blank=True
    )
    recommendation = models.CharField(_("recommendation"), max_length=32, blank=True)
    comment = models.TextField(_("comments to the applicant"), blank=True)
    confidential_comment = models.TextField(_("comments to the funder only"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    flagged_by_officer = models.CharField(
        _("officer's flag"), max_length=300, blank=True, help_text=_("Error, bias or lateness.")
    )

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self):
        return f"{self.assignment}"

    @property
    def is_locked(self):
        return self.submitted_at is not None


class ReviewRating(models.Model):
    """The applicant's rating (1–4) of one review after the decision: feeds reviewer credit."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="rating")
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    rated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("review rating")
        verbose_name_plural = _("review ratings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=4), name="review_rating_1_to_4"
            )
        ]

    def __str__(self):
        return f"{self.review}: {self.rating}"


DEFAULT_CREDIT = Decimal("1.00")


class AssignmentRun(models.Model):
    """One run of the assignment engine over a call: its progress and its result.

    Large calls run as a Celery task; the staffing page reads the run to show progress.
    ``result`` holds ``{"assigned", "unfilled": {application id: reason}, "optimal",
    "total_affinity", "timings"}`` once done.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="assignment_runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.CharField(_("step"), max_length=200, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("assignment run")
        verbose_name_plural = _("assignment runs")

    def __str__(self):
        return f"{self.call} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)
