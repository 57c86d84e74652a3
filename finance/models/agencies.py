"""Agency grading (issue 5): the commission grades each agency yearly."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency


class AgencyGrade(models.Model):
    """One agency's grade for one year, with the inputs and the rule it was computed from."""

    class Grade(models.TextChoices):
        A = "A", _("A (excellent)")
        B = "B", _("B (good)")
        C = "C", _("C (adequate)")
        D = "D", _("D (poor)")

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="grades"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    timeliness = models.DecimalField(_("timeliness (0–1)"), max_digits=5, decimal_places=4)
    outcomes = models.DecimalField(_("outcomes (0–1)"), max_digits=5, decimal_places=4)
    integrity = models.DecimalField(_("integrity (0–1)"), max_digits=5, decimal_places=4)
    score = models.DecimalField(_("score (0–100)"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    inputs = models.JSONField(_("inputs"), default=dict)
    rule = models.JSONField(_("rule applied"), default=dict)
    computed_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("computed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        ordering = ["-year", "agency__name"]
        verbose_name = _("agency grade")
        verbose_name_plural = _("agency grades")
        constraints = [
            models.UniqueConstraint(fields=["agency", "year"], name="agency_grade_once_a_year")
        ]

    def __str__(self):
        return f"{self.agency} {self.year}: {self.grade}"
