"""The other funding modes (issue 5): institutional block grants, post-subsidies and
innovation vouchers."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution
from programs.models import Program

MONEY = {"max_digits": 14, "decimal_places": 2}
POSITIVE = [MinValueValidator(Decimal("0.01"))]


class BlockGrant(models.Model):
    """Institutional funding (机构式资助): one institution's yearly grant under a program."""

    class Grade(models.TextChoices):
        A = "A", _("A")
        B = "B", _("B")
        C = "C", _("C")
        D = "D", _("D (no funding, review)")

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="block_grants"
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="block_grants",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(0)])
    evaluation_score = models.DecimalField(
        _("evaluation score"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    next_amount = models.DecimalField(_("next year's amount"), **MONEY, null=True, blank=True)
    needs_review = models.BooleanField(_("to be reviewed"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "-year", "rank", "institution__name"]
        verbose_name = _("block grant")
        verbose_name_plural = _("block grants")
        constraints = [
            models.UniqueConstraint(
                fields=["program", "institution", "year"], name="block_grant_once_a_year"
            )
        ]

    def __str__(self):
        return f"{self.program.code} {self.year} {self.institution}"


class PostSubsidy(models.Model):
    """Post-subsidy (后补助): an application of results; paid once, after verification."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted, awaiting verification")
        VERIFIED = "verified", _("Results verified")
        REJECTED = "rejected", _("Results not verified")
        PAID = "paid", _("Paid")

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="post_subsidies"
    )
    applicant = models.ForeignKey(
        "accounts.User", verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="+"
    )
    institution = models.ForeignKey(
        Institution, verbose_name=_("institution"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=300)
    results = models.TextField(_("results achieved"))
    amount_requested = models.DecimalField(_("amount requested"), **MONEY, validators=POSITIVE)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    verified_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_note = models.TextField(_("verification note"), blank=True)
    amount_granted = models.DecimalField(_("amount granted"), **MONEY, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("post-subsidy application")
        verbose_name_plural = _("post-subsidy applications")

    def __str__(self):
        return self.title


class ModePayment(models.Model):
    """A payment of a funding mode without a project ledger: a post-subsidy's one payment or
    a quarterly voucher batch. A post-subsidy has at most one (unique)."""

    post_subsidy = models.OneToOneField(
        PostSubsidy,
        verbose_name=_("post-subsidy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment",
    )
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    paid_on = models.DateField(_("paid on"))
    paid_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("paid by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self):
        return f"{self.amount} ({self.paid_on})"


class ServiceProvider(models.Model):
    """A provider of services paid with innovation vouchers; posted for 7 days, then admitted."""

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    services = models.TextField(_("services offered"), blank=True)
    operating_since = models.DateField(_("operating since"))
    posted_on = models.DateField(_("publicly posted on"), null=True, blank=True)
    admitted_on = models.DateField(_("admitted on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service provider")
        verbose_name_plural = _("service providers")

    def __str__(self):
        return self.name


class Voucher(models.Model):
    """An innovation voucher (科技创新券) issued to an enterprise or a team for a year.

    The holder is an enterprise (an ``Institution``: it has a credit code) or a team (named,
    led by the applicant): the yearly limit counts per enterprise or per team leader.
    """

    class HolderKind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        TEAM = "team", _("Team")

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.PROTECT, related_name="vouchers"
    )
    holder_kind = models.CharField(_("holder"), max_length=16, choices=HolderKind.choices)
    enterprise = models.ForeignKey(
        Institution,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
    )
    team_name = models.CharField(_("team name"), max_length=200, blank=True)
    applicant = models.ForeignKey(
        "accounts.User", verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    issued_on = models.DateField(_("issued on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-issued_on", "-id"]
        verbose_name = _("innovation voucher")
        verbose_name_plural = _("innovation vouchers")
        indexes = [
            models.Index(fields=["enterprise", "year"]),
            models.Index(fields=["applicant", "holder_kind", "year"]),
        ]

    def __str__(self):
        holder = self.enterprise if self.enterprise_id else self.team_name
        return f"{holder} {self.year}: {self.amount}"


class VoucherPayout(models.Model):
    """One quarter's payment batch of voucher redemptions."""

    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    total = models.DecimalField(_("total"), **MONEY, validators=[MinValueValidator(0)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-quarter"]
        verbose_name = _("voucher payout")
        verbose_name_plural = _("voucher payouts")
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter"], name="voucher_payout_per_quarter")
        ]

    def __str__(self):
        return f"{self.year} Q{self.quarter}: {self.total}"


class Redemption(models.Model):
    """A voucher redeemed against a service contract with an admitted provider."""

    voucher = models.ForeignKey(
        Voucher, verbose_name=_("voucher"), on_delete=models.PROTECT, related_name="redemptions"
    )
    provider = models.ForeignKey(
        ServiceProvider,
        verbose_name=_("service provider"),
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    contract_number = models.CharField(_("contract number"), max_length=64)
    contract_amount = models.DecimalField(_("contract amount"), **MONEY, validators=POSITIVE)
    amount = models.DecimalField(_("amount redeemed"), **MONEY, validators=POSITIVE)
    redeemed_on = models.DateField(_("redeemed on"))
    payout = models.ForeignKey(
        VoucherPayout,
        verbose_name=_("paid in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-redeemed_on", "-id"]
        verbose_name = _("voucher redemption")
        verbose_name_plural = _("voucher redemptions")

    def __str__(self):
        return f"{self.contract_number}: {self.amount}"
