"""The contract (任务书) of a project: approved budget, milestones, KPIs and signatures.

Services in :mod:`finance.projects`; the PDF in :mod:`finance.pdf`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from grants import rules as grant_rules
from grants.enums import BudgetCategory
from grants.models import Project, private_storage


class ContractState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SIGNED_BY_PI = "signed_by_pi", _("Signed by the PI")
    SIGNED_BY_INSTITUTION = "signed_by_institution", _("Signed by the institution")
    SIGNED = "signed", _("Signed")


C = ContractState


def contract_pi(contract, user):
    return grant_rules.is_project_pi(contract.project, user)


def contract_institution_admin(contract, user):
    return grant_rules.is_project_institution_admin(contract.project, user)


def contract_manager(contract, user):
    return grant_rules.manages_project(contract.project, user)


class Contract(ConcurrentTransitionMixin, models.Model):
    """The 任务书: editable while ``draft``; frozen from the first signature on."""

    FSM_FIELD = "state"

    project = models.OneToOneField(Project, on_delete=models.PROTECT, related_name="contract")
    state = FSMField(_("state"), default=C.DRAFT, choices=C.choices, protected=True, db_index=True)
    starts_on = models.DateField(_("start"), null=True, blank=True)
    ends_on = models.DateField(_("end"), null=True, blank=True)
    pi_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    pi_signed_at = models.DateTimeField(null=True, blank=True)
    pi_sha256 = models.CharField(max_length=64, blank=True)
    institution_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    institution_signed_at = models.DateTimeField(null=True, blank=True)
    institution_sha256 = models.CharField(max_length=64, blank=True)
    officer_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    officer_signed_at = models.DateTimeField(null=True, blank=True)
    officer_sha256 = models.CharField(max_length=64, blank=True)
    pdf = models.FileField(
        _("signed PDF"), storage=private_storage, upload_to="contracts/%Y/", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self):
        return str(_("Contract of %(project)s") % {"project": self.project.number})

    @property
    def editable(self):
        return self.state == C.DRAFT

    @transition(
        field=state,
        source=C.DRAFT,
        target=C.SIGNED_BY_PI,
        permission=contract_pi,
        custom={"label": _("Sign as principal investigator")},
    )
    def sign_pi(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=C.SIGNED_BY_PI,
        target=C.SIGNED_BY_INSTITUTION,
        permission=contract_institution_admin,
        custom={"label": _("Sign for the institution")},
    )
    def sign_institution(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=C.SIGNED_BY_INSTITUTION,
        target=C.SIGNED,
        permission=contract_manager,
        custom={"label": _("Sign for the funder")},
    )
    def sign_officer(self, *, by=None, comment="", log_data=None):
        pass


class ApprovedBudgetLine(models.Model):
    """One category of the approved budget: what was asked, what was approved, and why cut."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="approved_lines")
    category = models.CharField(_("category"), max_length=16, choices=BudgetCategory.choices)
    requested = models.DecimalField(_("requested (CNY)"), max_digits=14, decimal_places=2)
    approved = models.DecimalField(
        _("approved (CNY)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    reason = models.CharField(_("reason for the cut"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "category"], name="approved_line_once"),
            models.CheckConstraint(
                condition=models.Q(approved__gte=0), name="approved_line_positive"
            ),
        ]
        verbose_name = _("approved budget line")
        verbose_name_plural = _("approved budget lines")

    def __str__(self):
        return f"{self.get_category_display()}: {self.approved}"


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=300)
    due_on = models.DateField(_("due date"))

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")

    def __str__(self):
        return f"{self.due_on}: {self.title}"


class KPI(models.Model):
    """A measurable target agreed in the contract."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="kpis")
    indicator = models.CharField(_("indicator"), max_length=300)
    target_value = models.DecimalField(_("target value"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=50, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("target (KPI)")
        verbose_name_plural = _("targets (KPIs)")

    def __str__(self):
        return f"{self.indicator}: {self.target_value} {self.unit}"
