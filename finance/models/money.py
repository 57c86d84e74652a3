"""Money of a project: instalments (disbursements), the ledger, budget adjustments and
expenditure reports. Use cases in :mod:`finance.money`; balances and checks in
:mod:`finance.ledger`.

Amounts are ``Decimal`` with two places end to end; no balance is stored — every total is
derived from the ledger's entries (append-only) and checked against the instalment rows.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from grants import rules as grant_rules
from grants.enums import BudgetCategory
from grants.models import Project
from programs.models import Program

CENT = Decimal("0.01")
MONEY = {"max_digits": 14, "decimal_places": 2}


class ProgramMoneyPolicy(models.Model):
    """How a program tightens the default authority over budget adjustments (domain.md:
    "the funder can tighten either per program")."""

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="money_policy", verbose_name=_("program")
    )
    adjustments_need_funder = models.BooleanField(
        _("budget adjustments need the funder's approval"),
        default=False,
        help_text=_(
            "When set, every budget adjustment of the program's projects waits for a program "
            "officer (or the delegated agency), instead of the institution or the PI."
        ),
    )

    class Meta:
        verbose_name = _("program money policy")
        verbose_name_plural = _("program money policies")

    def __str__(self):
        return str(self.program)


# --- disbursements ---------------------------------------------------------------------------


class InstalmentDue(models.TextChoices):
    SIGNING = "signing", _("On signing")
    MIDTERM = "midterm", _("After the mid-term check")
    ACCEPTANCE = "acceptance", _("After acceptance")


class DisbursementState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    RELEASED = "released", _("Released")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class HoldKind(models.TextChoices):
    INTEGRITY = "integrity", _("Integrity bar on receiving funds")
    CHECK = "check", _("Failed check")
    MANUAL = "manual", _("Held by the officer")


def manages_disbursement(disbursement, user):
    return user is not None and grant_rules.manages_project(disbursement.project, user)


def release_allowed(disbursement):
    """Money moves only while the project is funded (active, mid-term or final review); the
    acceptance instalment is by definition paid after acceptance, in ``completed``."""
    from finance.ledger import release_states

    return disbursement.project.state in release_states(disbursement)


def is_due(disbursement):
    return disbursement.due_at is not None


D = DisbursementState


class Disbursement(ConcurrentTransitionMixin, models.Model):
    """One instalment of a project's approved budget."""

    FSM_FIELD = "state"

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="disbursements", verbose_name=_("project")
    )
    seq = models.PositiveSmallIntegerField(_("instalment"))
    milestone = models.CharField(_("due"), max_length=16, choices=InstalmentDue.choices)
    share = models.DecimalField(_("share"), max_digits=5, decimal_places=4)
    amount = models.DecimalField(
        _("amount (CNY)"), validators=[MinValueValidator(Decimal("0"))], **MONEY
    )
    state = FSMField(
        _("state"), default=D.SCHEDULED, choices=D.choices, protected=True, db_index=True
    )
    due_at = models.DateTimeField(_("due since"), null=True, blank=True, db_index=True)
    hold_kind = models.CharField(_("hold"), max_length=16, choices=HoldKind.choices, blank=True)
    hold_reason = models.CharField(_("reason for the hold"), max_length=500, blank=True)
    #: The officer ordered the release while a bar held it: pay as soon as the bar lifts.
    release_ordered = models.BooleanField(default=False)
    held_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="disbursement_seq_once"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="disbursement_amount_positive"
            ),
        ]
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")

    def __str__(self):
        return f"{self.project.number} #{self.seq}: {self.amount}"

    @transition(
        field=state,
        source=D.SCHEDULED,
        target=D.RELEASED,
        permission=manages_disbursement,
        conditions=[release_allowed, is_due],
        custom={"label": _("Release the payment")},
    )
    def release(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=D.SCHEDULED,
        target=D.HELD,
        permission=manages_disbursement,
        custom={"label": _("Hold the payment"), "needs_comment": True},
    )
    def hold(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=D.HELD,
        target=D.SCHEDULED,
        permission=manages_disbursement,
        custom={"label": _("Lift the hold")},
    )
    def release_hold(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=[D.SCHEDULED, D.HELD],
        target=D.CANCELLED,
        permission=lambda d, u: False,  # only the closing of the project cancels
        custom={"label": _("Cancel (project closed)")},
    )
    def cancel(self, *, by=None, comment="", log_data=None):
        pass


class EntryKind(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    RELEASED = "released", _("Released")
    HELD = "held", _("Held")
    RELEASED_FROM_HOLD = "released_from_hold", _("Hold lifted")
    CANCELLED = "cancelled", _("Cancelled")
    RECOVERED = "recovered", _("Recovered")
    KEPT = "kept", _("Kept by the institution")


class LedgerEntry(models.Model):
    """One movement in a project's ledger (append-only; amounts always positive)."""

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("project")
    )
    disbursement = models.ForeignKey(
        Disbursement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("instalment"),
    )
    kind = models.CharField(_("entry"), max_length=20, choices=EntryKind.choices)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="ledger_entry_amount_positive"
            ),
        ]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self):
        return f"{self.project_id} {self.kind} {self.amount}"


# --- budget adjustments ----------------------------------------------------------------------


class AdjustmentState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Authority(models.TextChoices):
    PI = "pi", _("The principal investigator (recorded)")
    INSTITUTION = "institution", _("The host institution")
    FUNDER = "funder", _("The funder (program officer)")


def may_decide_adjustment(adjustment, user):
    """Who decides is fixed when the adjustment is requested (:attr:`authority`)."""
    if user is None or not user.is_authenticated:
        return False
    project = adjustment.project
    if adjustment.authority == Authority.PI:
        return grant_rules.is_project_pi(project, user)
    if adjustment.authority == Authority.INSTITUTION:
        return grant_rules.is_project_institution_admin(project, user)
    return grant_rules.manages_project(project, user)


class BudgetAdjustment(ConcurrentTransitionMixin, models.Model):
    """Money moved from one budget category to another."""

    FSM_FIELD = "state"

    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("project")
    )
    from_category = models.CharField(_("from"), max_length=16, choices=BudgetCategory.choices)
    to_category = models.CharField(_("to"), max_length=16, choices=BudgetCategory.choices)
    amount = models.DecimalField(_("amount (CNY)"), validators=[MinValueValidator(CENT)], **MONEY)
    reason = models.CharField(_("reason"), max_length=1000)
    authority = models.CharField(_("decided by"), max_length=16, choices=Authority.choices)
    state = FSMField(
        _("state"),
        default=AdjustmentState.REQUESTED,
        choices=AdjustmentState.choices,
        protected=True,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="adjustment_amount_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_category=models.F("to_category")),
                name="adjustment_moves_money",
            ),
        ]
        verbose_name = _("budget adjustment")
        verbose_name_plural = _("budget adjustments")

    def __str__(self):
        return f"{self.project.number}: {self.from_category} → {self.to_category} {self.amount}"

    @transition(
        field=state,
        source=AdjustmentState.REQUESTED,
        target=AdjustmentState.APPROVED,
        permission=may_decide_adjustment,
        custom={"label": _("Approve the adjustment")},
    )
    def approve(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=AdjustmentState.REQUESTED,
        target=AdjustmentState.REJECTED,
        permission=may_decide_adjustment,
        custom={"label": _("Reject the adjustment"), "needs_comment": True},
    )
    def reject(self, *, by=None, comment="", log_data=None):
        pass


# --- expenditure reports ---------------------------------------------------------------------


class ExpenditureReport(models.Model):
    """What the PI spent per category in one period."""

    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        related_name="expenditure_reports",
        verbose_name=_("project"),
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "period_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "period_start"], name="expenditure_period_once"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="expenditure_period_order",
            ),
        ]
        verbose_name = _("expenditure report")
        verbose_name_plural = _("expenditure reports")

    def __str__(self):
        return f"{self.project_id} {self.period_start}–{self.period_end}"


class ExpenditureLine(models.Model):
    report = models.ForeignKey(ExpenditureReport, on_delete=models.CASCADE, related_name="lines")
    category = models.CharField(_("category"), max_length=16, choices=BudgetCategory.choices)
    amount = models.DecimalField(
        _("spent (CNY)"), validators=[MinValueValidator(Decimal("0"))], **MONEY
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "category"], name="expenditure_line_once"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="expenditure_line_positive"
            ),
        ]
        verbose_name = _("expenditure line")
        verbose_name_plural = _("expenditure lines")

    def __str__(self):
        return f"{self.category}: {self.amount}"
