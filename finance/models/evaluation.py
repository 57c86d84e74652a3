"""Mid-term checks, final evaluations with their inputs and panel, the S&T report, the
performance grade, follow-on rules and program-scoped bars after a failed grade."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grants.models import private_storage


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent")
    GOOD = "good", _("Good")
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class Outcome(models.TextChoices):
    PASS = "pass", _("Passed")
    FAIL = "fail", _("Failed")
    CLOSED = "closed", _("Closed without passing")


#: The project transition each outcome takes.
OUTCOME_TRANSITION = {Outcome.PASS: "accept", Outcome.FAIL: "fail", Outcome.CLOSED: "close"}


class MidtermDecision(models.TextChoices):
    PENDING = "pending", _("Awaiting decision")
    PASSED = "passed", _("Passed")
    HOLD = "hold", _("Failed: funds held until a revised report passes")
    TERMINATE = "terminate", _("Failed: project terminated")


class MidtermReport(models.Model):
    """A mid-term report (中期检查) and the decision on it; a failed check holding money
    may be followed by a revised report while the project stays in mid-term review."""

    project = models.ForeignKey(
        "grants.Project", on_delete=models.PROTECT, related_name="midterm_reports"
    )
    text = models.TextField(_("report"))
    file = models.FileField(_("report (PDF)"), storage=private_storage, upload_to="midterm/%Y/%m/")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(
        _("decision"),
        max_length=16,
        choices=MidtermDecision.choices,
        default=MidtermDecision.PENDING,
    )
    expert_opinion = models.TextField(_("expert opinion"), blank=True)
    comment = models.TextField(_("comment"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("mid-term report")
        verbose_name_plural = _("mid-term reports")

    def __str__(self):
        return f"{self.project.number} {self.get_decision_display()}"


class FinalEvaluation(models.Model):
    """The final evaluation (结题验收): the PI's inputs, the outcome, the grade, the notice."""

    project = models.OneToOneField(
        "grants.Project", on_delete=models.PROTECT, related_name="final_evaluation"
    )
    acceptance_application = models.FileField(
        _("acceptance application"), storage=private_storage, upload_to="final/%Y/%m/"
    )
    contract = models.FileField(
        _("contract (as signed)"), storage=private_storage, upload_to="final/%Y/%m/"
    )
    self_evaluation = models.FileField(
        _("self-evaluation"), storage=private_storage, upload_to="final/%Y/%m/"
    )
    audit_report = models.FileField(
        _("audit report"), storage=private_storage, upload_to="final/%Y/%m/"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, blank=True)
    grade = models.CharField(
        _("performance grade"), max_length=10, choices=Grade.choices, blank=True, db_index=True
    )
    comment = models.TextField(_("comment"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    #: The result notice (结果公示): public from the decision for the rule's days.
    notice_starts_at = models.DateTimeField(_("notice from"), null=True, blank=True)
    notice_ends_at = models.DateTimeField(_("notice until"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("final evaluation")
        verbose_name_plural = _("final evaluations")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="") | ~Q(grade=""), name="final_evaluation_outcome_has_grade"
            ),
        ]

    def __str__(self):
        return f"{self.project.number} {self.get_outcome_display() or _('pending')}"


class STReport(models.Model):
    """The S&T report (科技报告). Its public part — title, abstract, keywords, results
    summary — is published on the public site once the evaluation is decided
    (``published_at``); the full text (``file``) stays private."""

    project = models.OneToOneField(
        "grants.Project", on_delete=models.PROTECT, related_name="st_report"
    )
    file = models.FileField(
        _("S&T report (full text)"), storage=private_storage, upload_to="st-reports/%Y/%m/"
    )
    title = models.CharField(_("public title"), max_length=300)
    abstract = models.TextField(_("public abstract"))
    keywords = models.JSONField(_("keywords"), default=list)
    results_summary = models.TextField(_("summary of results"))
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("S&T report")
        verbose_name_plural = _("S&T reports")

    def __str__(self):
        return self.title


class PanelOpinion(models.Model):
    """One expert's opinion in the final evaluation panel (kept here, not in ``review``:
    the panel judges a project's results, not a proposal against a scoring scheme)."""

    evaluation = models.ForeignKey(
        FinalEvaluation, on_delete=models.CASCADE, related_name="opinions"
    )
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recommendation = models.CharField(
        _("recommended outcome"), max_length=8, choices=Outcome.choices
    )
    grade = models.CharField(_("suggested grade"), max_length=10, choices=Grade.choices)
    opinion = models.TextField(_("opinion"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("panel opinion")
        verbose_name_plural = _("panel opinions")
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "expert"], name="panel_opinion_once_per_expert"
            )
        ]

    def __str__(self):
        return f"{self.evaluation} {self.expert}"


class FollowOnRule(models.Model):
    """What a grade opens: follow-on support up to a share of the previous award, or a bar.

    ``program`` empty: the default for every program without its own row for that grade.
    """

    program = models.ForeignKey(
        "programs.Program",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="follow_on_rules",
    )
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices)
    eligible = models.BooleanField(_("follow-on support open"), default=False)
    max_share = models.DecimalField(
        _("maximum share of the previous award"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    bar_years = models.PositiveSmallIntegerField(
        _("years the PI is barred from the program"), default=0
    )
    recover_funds = models.BooleanField(_("recover remaining funds"), default=False)
    note = models.CharField(_("explanation"), max_length=300, blank=True)

    class Meta:
        ordering = ["program_id", "grade"]
        verbose_name = _("follow-on rule")
        verbose_name_plural = _("follow-on rules")
        constraints = [
            models.UniqueConstraint(fields=["program", "grade"], name="follow_on_rule_unique"),
            models.UniqueConstraint(
                fields=["grade"],
                condition=Q(program__isnull=True),
                name="follow_on_rule_default_unique",
            ),
        ]

    def __str__(self):
        return f"{self.program or _('default')}: {self.get_grade_display()}"


class ProgramBarQuerySet(models.QuerySet):
    def in_force(self, on=None):
        on = on or timezone.localdate()
        return self.filter(starts_on__lte=on, ends_on__gte=on)


class ProgramBar(models.Model):
    """A PI barred from applying to one program after a failed grade."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="program_bars"
    )
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="bars")
    project = models.ForeignKey(
        "grants.Project", on_delete=models.PROTECT, related_name="program_bars"
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProgramBarQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("program bar")
        verbose_name_plural = _("program bars")
        indexes = [models.Index(fields=["user", "program", "ends_on"])]

    def __str__(self):
        return f"{self.user} / {self.program} ({self.starts_on}–{self.ends_on})"
