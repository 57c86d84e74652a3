from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Institution
from programs.models import Call

from . import rules
from .enums import WITHDRAWABLE_STATES, ApplicationState, BudgetCategory, TeamRole

S = ApplicationState


def private_storage():
    from django.core.files.storage import storages

    return storages["private"]


class Application(ConcurrentTransitionMixin, models.Model):
    """A proposal (申报书) from draft to decision."""

    FSM_FIELD = "state"

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("principal investigator"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    number = models.CharField(_("number"), max_length=32, unique=True, null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    abstract = models.TextField(_("abstract"), blank=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    abstract_en = models.TextField(_("English abstract"), blank=True)
    keywords_en = models.JSONField(_("English keywords"), default=list, blank=True)
    discipline = models.CharField(_("discipline area"), max_length=8, blank=True)
    state = FSMField(_("state"), default=S.DRAFT, choices=S.choices, protected=True, db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    notice_starts_at = models.DateTimeField(_("public notice from"), null=True, blank=True)
    notice_ends_at = models.DateTimeField(_("public notice until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        indexes = [
            models.Index(fields=["state", "submitted_at"]),
            models.Index(fields=["institution", "state"]),
            models.Index(fields=["applicant", "state"]),
            models.Index(fields=["-created_at", "-id"], name="application_newest_first"),
        ]

    def __str__(self):
        return f"{self.number or _('(draft)')} {self.title}"

    @property
    def total_budget(self):
        return sum((line.amount for line in self.budget_lines.all()), Decimal("0.00"))

    # Each transition states what may happen; grants.services decides whether it should.
    # ``by``, ``comment`` and ``log_data`` are read by the audit log's signal handler.

    @transition(
        field=state,
        source=S.DRAFT,
        target=S.SUBMITTED,
        permission=rules.is_pi,
        custom={"label": _("Submit")},
    )
    def submit(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=S.ENDORSED,
        permission=rules.is_institution_admin,
        custom={"label": _("Endorse")},
    )
    def endorse(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=S.DRAFT,
        permission=rules.is_institution_admin,
        custom={"name": "return", "label": _("Return to applicant"), "needs_comment": True},
    )
    @transition(
        field=state,
        source=S.ENDORSED,
        target=S.DRAFT,
        permission=rules.manages,
        custom={"name": "return", "label": _("Return to applicant"), "needs_comment": True},
    )
    def return_to_applicant(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.ENDORSED,
        target=S.ACCEPTED,
        permission=rules.manages,
        custom={"label": _("Accept after formal check")},
    )
    def accept(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.ENDORSED,
        target=S.INELIGIBLE,
        permission=rules.manages,
        custom={"label": _("Reject as ineligible"), "needs_comment": True},
    )
    def reject_ineligible(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=WITHDRAWABLE_STATES,
        target=S.WITHDRAWN,
        permission=rules.is_pi,
        custom={"label": _("Withdraw")},
    )
    def withdraw(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.ACCEPTED,
        target=S.UNDER_REVIEW,
        permission=rules.manages,
        custom={"label": _("Start expert review")},
    )
    def start_review(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.UNDER_REVIEW,
        target=S.REVIEWED,
        permission=rules.manages,
        custom={"label": _("Close expert review")},
    )
    def close_review(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.REVIEWED,
        target=S.IN_NOTICE,
        permission=rules.manages,
        custom={"label": _("Approve for funding (opens the public notice)")},
    )
    def approve(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.REVIEWED,
        target=S.REJECTED,
        permission=rules.manages,
        custom={"label": _("Reject"), "needs_comment": True},
    )
    def reject(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.IN_NOTICE,
        target=S.AWARDED,
        permission=rules.manages,
        custom={"label": _("Award")},
    )
    def award(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=S.IN_NOTICE,
        target=S.REJECTED,
        permission=rules.manages,
        custom={"label": _("Revoke after an upheld objection"), "needs_comment": True},
    )
    def revoke(self, *, by=None, comment="", log_data=None):
        pass


class TeamMember(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="team_memberships",
    )
    role = models.CharField(
        _("role on the team"), max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "user"], name="team_member_once")
        ]
        verbose_name = _("team member")
        verbose_name_plural = _("team members")

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class BudgetLine(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="budget_lines"
    )
    category = models.CharField(_("category"), max_length=16, choices=BudgetCategory.choices)
    amount = models.DecimalField(
        _("amount (CNY)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "category"], name="budget_line_once"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="budget_line_positive"),
        ]
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")

    def __str__(self):
        return f"{self.get_category_display()}: {self.amount}"


class Attachment(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), storage=private_storage, upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.title


class ExpertToAvoid(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="experts_to_avoid"
    )
    name = models.CharField(_("name"), max_length=150)
    institution = models.CharField(_("institution"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=500)

    class Meta:
        ordering = ["id"]
        verbose_name = _("expert to avoid")
        verbose_name_plural = _("experts to avoid")

    def __str__(self):
        return self.name


class NumberSequence(models.Model):
    """Next proposal number per prefix and year; locked row, so numbers never repeat."""

    prefix = models.CharField(max_length=16)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="number_sequence_once")
        ]

    def __str__(self):
        return f"{self.prefix}-{self.year}: {self.last}"


class ProjectState(models.TextChoices):
    CONTRACTING = "contracting", _("Contracting")
    ACTIVE = "active", _("Active")
    MIDTERM_REVIEW = "midterm_review", _("Mid-term review")
    FINAL_REVIEW = "final_review", _("Final review")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CLOSED = "closed", _("Closed without passing")
    TERMINATED = "terminated", _("Terminated")


P = ProjectState
#: States in which money may be released (never while a hold stands).
PROJECT_FUNDED_STATES = [P.ACTIVE, P.MIDTERM_REVIEW, P.FINAL_REVIEW]
PROJECT_OPEN_STATES = [P.CONTRACTING, P.ACTIVE, P.MIDTERM_REVIEW, P.FINAL_REVIEW]


class Project(ConcurrentTransitionMixin, models.Model):
    """The awarded grant. Award creates it; its machine grows with the finance issue."""

    FSM_FIELD = "state"

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="project"
    )
    number = models.CharField(_("number"), max_length=32, unique=True)
    state = FSMField(
        _("state"),
        default=ProjectState.CONTRACTING,
        choices=ProjectState.choices,
        protected=True,
        db_index=True,
    )
    approved_budget = models.DecimalField(
        _("approved budget (CNY)"), max_digits=14, decimal_places=2
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        indexes = [models.Index(fields=["-created_at", "-id"], name="project_newest_first")]

    def __str__(self):
        return f"{self.number} {self.application.title}"

    # The rules predicates take (instance, user); a project answers through its proposal.

    @transition(
        field=state,
        source=P.CONTRACTING,
        target=P.ACTIVE,
        permission=rules.manages_project,
        custom={"label": _("Contract signed: start the project")},
    )
    def sign(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=P.ACTIVE,
        target=P.MIDTERM_REVIEW,
        permission=rules.is_project_pi,
        custom={"label": _("Submit the mid-term report")},
    )
    def submit_midterm(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=P.MIDTERM_REVIEW,
        target=P.ACTIVE,
        permission=rules.manages_project,
        custom={"label": _("Pass the mid-term check")},
    )
    def pass_midterm(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=P.ACTIVE,
        target=P.FINAL_REVIEW,
        permission=rules.is_project_pi,
        custom={"label": _("Submit for final evaluation")},
    )
    def submit_final(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=P.FINAL_REVIEW,
        target=P.COMPLETED,
        permission=rules.manages_project,
        custom={"label": _("Accept: evaluation passed")},
    )
    def accept(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=P.FINAL_REVIEW,
        target=P.FAILED,
        permission=rules.manages_project,
        custom={"label": _("Fail the final evaluation"), "needs_comment": True},
    )
    def fail(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=P.FINAL_REVIEW,
        target=P.CLOSED,
        permission=rules.manages_project,
        custom={"label": _("Close without passing"), "needs_comment": True},
    )
    def close(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=[P.CONTRACTING, P.ACTIVE, P.MIDTERM_REVIEW],
        target=P.TERMINATED,
        permission=rules.manages_project,
        custom={"label": _("Terminate the project"), "needs_comment": True},
    )
    def terminate(self, *, by=None, comment="", log_data=None):
        pass


# --- public notice: objections (公示异议) --------------------------------------------------


class ObjectionState(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


def is_integrity_officer(objection, user):
    """Objections are resolved by integrity officers only (they alone see who objected)."""
    from accounts.roles import Role

    return user is not None and user.is_authenticated and user.has_role(Role.INTEGRITY_OFFICER)


class Objection(ConcurrentTransitionMixin, models.Model):
    """An objection filed by anyone during a proposal's public notice.

    The objector's identity (name, phone, institution, seal) is confidential: only integrity
    officers read it (``grants.notice``). Filed through ``grants.notice.objection_file``.
    """

    FSM_FIELD = "state"

    class Kind(models.TextChoices):
        PERSON = "person", _("In my own name (real name and phone)")
        INSTITUTION = "institution", _("For an institution (with its seal)")
        ANONYMOUS = "anonymous", _("Anonymously (evidence required)")

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="objections"
    )
    kind = models.CharField(_("objector"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("real name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    institution_name = models.CharField(_("institution"), max_length=200, blank=True)
    seal = models.FileField(
        _("institution's seal"), storage=private_storage, upload_to="objections/seals/%Y/%m/",
        blank=True,
    )  # fmt: skip
    text = models.TextField(_("objection"))
    evidence = models.FileField(
        _("evidence"), storage=private_storage, upload_to="objections/evidence/%Y/%m/",
        blank=True,
    )  # fmt: skip
    evidence_name = models.CharField(max_length=255, blank=True)
    confirmation_number = models.CharField(_("confirmation number"), max_length=32, unique=True)
    state = FSMField(
        _("state"),
        default=ObjectionState.OPEN,
        choices=ObjectionState.choices,
        protected=True,
        db_index=True,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution = models.TextField(_("reason of the resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        indexes = [models.Index(fields=["application", "state"])]

    def __str__(self):
        return self.confirmation_number

    @transition(
        field=state,
        source=ObjectionState.OPEN,
        target=ObjectionState.UPHELD,
        permission=is_integrity_officer,
        custom={"label": _("Uphold the objection"), "needs_comment": True},
    )
    def uphold(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=ObjectionState.OPEN,
        target=ObjectionState.DISMISSED,
        permission=is_integrity_officer,
        custom={"label": _("Dismiss the objection"), "needs_comment": True},
    )
    def dismiss(self, *, by=None, comment="", log_data=None):
        pass


# --- follow-on funding (finance issue 5): a follow-on proposal names the project it continues;
# the call's rule is enforced by a submission validator that finance registers. ---
Application.add_to_class(
    "predecessor",
    models.ForeignKey(
        Project,
        verbose_name=_("follow-on of project"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ons",
    ),
)
