from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency

from .rules import Rules


class Category(models.TextChoices):
    BASIC_FRONTIER = "basic_frontier", _("Basic frontier research")
    INNOVATION_SUPPORT = "innovation_support", _("S&T innovation support")
    INNOVATION_GUIDANCE = "innovation_guidance", _("Technology innovation guidance")
    TALENT_ENVIRONMENT = "talent_environment", _("Talent and environment")
    MAJOR_PROJECT = "major_project", _("Major municipal S&T project")


#: Prefix of proposal numbers per category (``BF-2027-000123``).
CATEGORY_PREFIX = {
    Category.BASIC_FRONTIER: "BF",
    Category.INNOVATION_SUPPORT: "IS",
    Category.INNOVATION_GUIDANCE: "IG",
    Category.TALENT_ENVIRONMENT: "TE",
    Category.MAJOR_PROJECT: "MP",
}


class FundingMode(models.TextChoices):
    COMPETITIVE = "competitive", _("Competitive")
    INSTITUTIONAL = "institutional", _("Institutional block grant")
    POST_SUBSIDY = "post_subsidy", _("Post-subsidy")
    VOUCHER = "voucher", _("Innovation voucher")


class ScoringScheme(models.TextChoices):
    EU = "eu", _("EU (three criteria, 0–5)")
    NSFC = "nsfc", _("NSFC (A/B/C/D)")


class RuleSet(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    data = models.JSONField(_("values that differ from the defaults"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-code"]
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")

    def __str__(self):
        return self.name

    @property
    def rules(self):
        return Rules(self.data)


class Program(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    funding_mode = models.CharField(
        _("funding mode"),
        max_length=16,
        choices=FundingMode.choices,
        default=FundingMode.COMPETITIVE,
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("delegated to agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="programs",
    )
    rule_set = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), null=True, blank=True, on_delete=models.PROTECT
    )
    default_scoring_scheme = models.CharField(
        _("default scoring scheme"),
        max_length=32,
        choices=ScoringScheme.choices,
        default=ScoringScheme.NSFC,
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        permissions = [("manage_program", _("Can manage the program and everything under it"))]

    def __str__(self):
        return f"{self.code} {self.name}"


class CallQuerySet(models.QuerySet):
    def open_at(self, moment=None):
        moment = moment or timezone.now()
        return self.filter(opens_at__lte=moment, closes_at__gt=moment)


class Call(models.Model):
    class SumKind(models.TextChoices):
        FIXED = "fixed", _("Fixed sum")
        CAPPED = "capped", _("Capped sum")

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="calls"
    )
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    guideline = models.TextField(_("guideline"), blank=True)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    max_budget = models.DecimalField(
        _("budget cap per proposal"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    sum_kind = models.CharField(
        _("sum"), max_length=8, choices=SumKind.choices, default=SumKind.CAPPED
    )
    lump_sum = models.BooleanField(_("lump-sum (包干制)"), default=False)
    pure_theory = models.BooleanField(_("pure theory (higher indirect-cost share)"), default=False)
    one_proposal_per_pi = models.BooleanField(_("one proposal per PI"), default=False)
    reviewers_per_application = models.PositiveSmallIntegerField(
        _("reviewers per proposal"), default=3, validators=[MinValueValidator(1)]
    )
    min_international_reviewers = models.PositiveSmallIntegerField(
        _("minimum international reviewers"), default=0
    )
    max_assignments_per_reviewer = models.PositiveSmallIntegerField(
        _("maximum proposals per reviewer"), default=10, validators=[MinValueValidator(1)]
    )
    scoring_scheme = models.CharField(
        _("scoring scheme"), max_length=32, choices=ScoringScheme.choices, blank=True
    )
    total_budget = models.DecimalField(
        _("call budget (all proposals)"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Where the funding line is drawn in the ranking."),
    )
    review_deadline = models.DateField(_("reviews due on"), null=True, blank=True)
    anonymous_review = models.BooleanField(
        _("hide applicants' identity from reviewers"), default=False
    )
    notice_days = models.PositiveSmallIntegerField(_("notice period (days)"), null=True, blank=True)
    rule_set = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at", "id"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="call_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    min_international_reviewers__lte=models.F("reviewers_per_application")
                ),
                name="call_international_within_reviewers",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": _("The call must close after it opens.")})
        if (
            self.min_international_reviewers is not None
            and self.reviewers_per_application is not None
            and self.min_international_reviewers > self.reviewers_per_application
        ):
            raise ValidationError(
                {
                    "min_international_reviewers": _(
                        "Cannot exceed the number of reviewers per proposal."
                    )
                }
            )

    def is_open(self, moment=None):
        moment = moment or timezone.now()
        return self.opens_at <= moment < self.closes_at

    @property
    def effective_rule_set(self):
        return self.rule_set or self.program.rule_set

    @property
    def rules(self):
        rule_set = self.effective_rule_set
        return rule_set.rules if rule_set else Rules({})

    @property
    def effective_scoring_scheme(self):
        return self.scoring_scheme or self.program.default_scoring_scheme

    @property
    def effective_notice_days(self):
        return self.notice_days if self.notice_days is not None else self.rules["notice_days"]


# --- delegations (issue 5: third-party agencies) ---


class DelegationQuerySet(models.QuerySet):
    def in_force(self, on=None):
        """Delegations covering the day ``on`` (today): ``starts_on`` and ``ends_on`` inclusive."""
        on = on or timezone.localdate()
        return self.filter(starts_on__lte=on, ends_on__gte=on)


class Delegation(models.Model):
    """The commission delegates a program to an agency, for a scope and a period.

    The period covers ``starts_on`` and ``ends_on`` inclusive: the agency's staff manage the
    program up to the end of ``ends_on`` and lose it the day after. ``Program.agency`` is the
    delegate of today (kept in sync by ``programs.services`` and a daily task).
    """

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="delegations"
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="delegations"
    )
    selection = models.BooleanField(_("selection (calls, review)"), default=True)
    process_management = models.BooleanField(_("process management"), default=True)
    evaluation = models.BooleanField(_("evaluation (mid-term, final)"), default=True)
    supervision = models.BooleanField(_("supervision"), default=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on (inclusive)"))
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DelegationQuerySet.as_manager()

    class Meta:
        ordering = ["program", "-starts_on"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="delegation_ends_after_start",
            )
        ]
        indexes = [models.Index(fields=["agency", "program", "starts_on", "ends_on"])]

    def __str__(self):
        return f"{self.program.code} → {self.agency} ({self.starts_on} – {self.ends_on})"

    @property
    def scope(self):
        return [
            name
            for name in ("selection", "process_management", "evaluation", "supervision")
            if getattr(self, name)
        ]

    def covers(self, day):
        return self.starts_on <= day <= self.ends_on

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The delegation must end on or after its start.")})
        if not (self.selection or self.process_management or self.evaluation or self.supervision):
            raise ValidationError(_("Choose at least one part of the scope."))
        if self.program_id and self.starts_on and self.ends_on:
            overlapping = Delegation.objects.filter(
                program_id=self.program_id,
                starts_on__lte=self.ends_on,
                ends_on__gte=self.starts_on,
            ).exclude(pk=self.pk)
            if overlapping.exists():
                raise ValidationError(
                    {"starts_on": _("The program is already delegated during this period.")}
                )
