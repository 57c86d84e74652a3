"""The institutional credit rule: weights and grade bands as data (``integrity.credit``).

An organisation (institution or agency) starts at 100 points and loses ``weight × count``
points for each input (own records, its people's records, outcomes of its proposals and
projects); the score (never below 0) falls into a grade band: A ≥ ``band_a``, B ≥ ``band_b``,
C ≥ ``band_c``, D below. One rule is active at a time; admins edit it in the admin site.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

#: Weights of the default rule (points lost per unit of each input). The data migration
#: ``0002_credit_rule`` creates the active rule with these.
DEFAULT_WEIGHTS = {
    "own_bars": 30,
    "own_recent": 10,
    "people_bars": 8,
    "people_recent": 3,
    "ineligible": 2,
    "revoked": 10,
}


def default_weights():
    return dict(DEFAULT_WEIGHTS)


class CreditRule(models.Model):
    class Grade(models.TextChoices):
        A = "A", _("A (excellent)")
        B = "B", _("B (good)")
        C = "C", _("C (fair)")
        D = "D", _("D (poor)")

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Only one rule is active; it grades everyone.")
    )
    weights = models.JSONField(
        _("weights"),
        default=default_weights,
        help_text=_("Points lost per unit of each input, by input code."),
    )
    band_a = models.DecimalField(
        _("lowest score for A"), max_digits=5, decimal_places=1, default=Decimal("90")
    )
    band_b = models.DecimalField(
        _("lowest score for B"), max_digits=5, decimal_places=1, default=Decimal("75")
    )
    band_c = models.DecimalField(
        _("lowest score for C"), max_digits=5, decimal_places=1, default=Decimal("60")
    )
    lookback_years = models.PositiveSmallIntegerField(
        _("look-back period (years)"),
        default=5,
        help_text=_("Records and outcomes older than this no longer count (bars in force do)."),
    )
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        verbose_name = _("institutional credit rule")
        verbose_name_plural = _("institutional credit rules")
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="one_active_credit_rule"
            ),
            models.CheckConstraint(
                condition=Q(band_a__gte=models.F("band_b"), band_b__gte=models.F("band_c")),
                name="credit_rule_bands_ordered",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if not isinstance(self.weights, dict):
            raise ValidationError({"weights": _("Give an object: input code → points.")})
        errors = []
        for code, value in self.weights.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                errors.append(_("%(code)s: give a number.") % {"code": code})
                continue
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                errors.append(_("%(code)s: give a number.") % {"code": code})
                continue
            if number < 0:
                errors.append(_("%(code)s: a weight cannot be negative.") % {"code": code})
        if errors:
            raise ValidationError({"weights": errors})
        if not (self.band_a >= self.band_b >= self.band_c):
            raise ValidationError(_("The bands must satisfy A ≥ B ≥ C."))

    def weight(self, code):
        try:
            return float(self.weights.get(code, 0) or 0)
        except (TypeError, ValueError):
            return 0.0

    def grade_of(self, score):
        """The grade of a score under this rule's bands."""
        score = Decimal(str(score))
        if score >= self.band_a:
            return self.Grade.A
        if score >= self.band_b:
            return self.Grade.B
        if score >= self.band_c:
            return self.Grade.C
        return self.Grade.D

    @classmethod
    def current(cls):
        """The active rule (an unsaved default one if an admin deactivated them all)."""
        rule = cls.objects.filter(active=True).first()
        return rule or cls(name="default", active=True)
