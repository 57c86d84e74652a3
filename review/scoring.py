"""Scoring schemes as data: load a call's scheme, check scores, weigh them, apply thresholds.

A scheme (``review.ScoringScheme``) lists criteria ``{code, label, label_en, weight, min,
max, step, threshold, labels}`` and recommendations ``{code, label, label_en}``. Numbers are
kept as ``Decimal`` here (the presets store them as strings) so that a step of 0.5 or 0.1 is
checked exactly. A letter scale such as NSFC's A–D is numbers (4..1) with ``labels``.

Errors are ``ValidationError`` with field names: ``scores`` (one message per criterion, each
carrying ``params["criterion"]`` so that a form can put it beside its field),
``recommendation`` and ``comment``. The API answers them with 400.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from .models import ScoringScheme

DEFAULT_SCHEME = "eu"


def _decimal(value):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOperation
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value).strip())


def _error(message, error_code, **params):
    """A ValidationError whose params name the criterion (``params["criterion"]``).

    The message is formatted by Django with ``params``, so a ``%`` in a label is harmless.
    """
    return ValidationError(message, code=error_code, params=params)


def english(language=None):
    """Is ``language`` (default: the active one) English?"""
    return (language or translation.get_language() or "").startswith("en")


def plain(number):
    """``Decimal('3.50')`` → ``'3.5'``, ``Decimal('4')`` → ``'4'`` (for messages and JSON)."""
    if number is None:
        return ""
    text = format(number.normalize(), "f")
    return text


def as_json_number(number):
    """A score as stored in ``Review.scores``: an int when whole, else a float (exact for
    the half and tenth steps of the schemes)."""
    if number is None:
        return None
    if number == number.to_integral_value():
        return int(number)
    return float(number)


@dataclass(frozen=True)
class Criterion:
    code: str
    label_zh: str
    label_en: str
    weight: Decimal
    min: Decimal
    max: Decimal
    step: Decimal | None
    threshold: Decimal | None
    labels: dict = field(default_factory=dict)  # plain number string → letter

    def label(self, language=None):
        if english(language):
            return self.label_en or self.label_zh
        return self.label_zh or self.label_en

    @property
    def is_letter_scale(self):
        return bool(self.labels)

    def values(self):
        """Every allowed value, highest first (for a letter scale or a short scale)."""
        if not self.step:
            return []
        values, value = [], self.max
        while value >= self.min:
            values.append(value)
            value -= self.step
        return values

    def letter(self, value):
        if value is None:
            return ""
        return self.labels.get(plain(_decimal(value)), "")

    def display(self, value):
        """A stored score as a reader sees it: ``A`` on a letter scale, ``3.5`` otherwise."""
        if value is None or value == "":
            return ""
        number = _decimal(value)
        letter = self.labels.get(plain(number)) if self.labels else None
        return letter or plain(number)

    def check(self, value, language=None):
        """The value as Decimal, or a ValidationError naming the criterion."""
        params = {"criterion": self.code, "label": self.label(language)}
        try:
            number = _decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise _error(
                _("%(label)s: “%(value)s” is not a number."), "invalid", **params, value=value
            ) from None
        if number is None:
            raise _error(_("%(label)s: give a score."), "required", **params)
        if not number.is_finite():
            raise _error(
                _("%(label)s: “%(value)s” is not a number."), "invalid", **params, value=value
            )
        if number < self.min or number > self.max:
            raise _error(
                _("%(label)s: %(value)s is outside the scale %(min)s–%(max)s."),
                "range",
                **params,
                value=plain(number),
                min=plain(self.min),
                max=plain(self.max),
            )
        if self.step and (number - self.min) % self.step != 0:
            raise _error(
                _("%(label)s: %(value)s is not on the scale (steps of %(step)s from %(min)s)."),
                "step",
                **params,
                value=plain(number),
                step=plain(self.step),
                min=plain(self.min),
            )
        if self.labels and plain(number) not in self.labels:
            raise _error(
                _("%(label)s: %(value)s is not one of the grades."),
                "grade",
                **params,
                value=plain(number),
            )
        return number


@dataclass(frozen=True)
class Recommendation:
    code: str
    label_zh: str
    label_en: str

    def label(self, language=None):
        if english(language):
            return self.label_en or self.label_zh
        return self.label_zh or self.label_en


@dataclass(frozen=True)
class Result:
    """Checked scores and what follows from them."""

    scores: dict  # code → Decimal (only the criteria scored)
    complete: bool
    total: Decimal | None
    passes_thresholds: bool | None

    def as_json(self):
        return {code: as_json_number(value) for code, value in self.scores.items()}


@dataclass(frozen=True)
class Scheme:
    code: str
    name_zh: str
    name_en: str
    criteria: tuple
    overall_threshold: Decimal | None
    recommendations: tuple

    @classmethod
    def from_model(cls, model):
        criteria = []
        for item in model.criteria or []:
            criteria.append(
                Criterion(
                    code=item["code"],
                    label_zh=item.get("label", "") or "",
                    label_en=item.get("label_en", "") or "",
                    weight=_decimal(item.get("weight", 1)) or Decimal(1),
                    min=_decimal(item.get("min", 0)) or Decimal(0),
                    max=_decimal(item["max"]),
                    step=_decimal(item.get("step")),
                    threshold=_decimal(item.get("threshold")),
                    labels={
                        plain(_decimal(k)): str(v) for k, v in (item.get("labels") or {}).items()
                    },
                )
            )
        recommendations = tuple(
            Recommendation(r["code"], r.get("label", "") or "", r.get("label_en", "") or "")
            for r in model.recommendations or []
        )
        threshold = model.overall_threshold
        return cls(
            code=model.code,
            name_zh=model.name,
            name_en=model.name_en,
            criteria=tuple(criteria),
            overall_threshold=Decimal(threshold) if threshold is not None else None,
            recommendations=recommendations,
        )

    def name(self, language=None):
        if english(language):
            return self.name_en or self.name_zh
        return self.name_zh or self.name_en

    @property
    def recommendation_codes(self):
        return [r.code for r in self.recommendations]

    def criterion(self, code):
        for c in self.criteria:
            if c.code == code:
                return c
        return None

    def recommendation_label(self, code, language=None):
        for r in self.recommendations:
            if r.code == code:
                return r.label(language)
        return code or ""

    def total(self, scores):
        """Weighted total Σ weight × score over every criterion (None if one is missing)."""
        if any(scores.get(c.code) is None for c in self.criteria):
            return None
        return sum((c.weight * scores[c.code] for c in self.criteria), Decimal(0))

    def passes(self, scores, total):
        """Every per-criterion threshold and the overall threshold met (None: incomplete)."""
        if total is None:
            return None
        for c in self.criteria:
            if c.threshold is not None and scores[c.code] < c.threshold:
                return False
        return not (self.overall_threshold is not None and total < self.overall_threshold)

    def evaluate(self, scores, *, complete=False, language=None):
        """Check ``scores`` (criterion code → number); ``complete`` requires every criterion.

        Returns a :class:`Result`; raises ``ValidationError({"scores": [...]})``.
        """
        if scores is None:
            scores = {}
        if not isinstance(scores, dict):
            raise ValidationError(
                {"scores": [_("Scores are an object of criterion code → number.")]}
            )
        errors, checked = [], {}
        known = {c.code for c in self.criteria}
        for code in scores:
            if code not in known:
                errors.append(
                    _error(
                        _("“%(name)s” is not a criterion of this scheme (%(known)s)."),
                        "unknown",
                        criterion=code,
                        name=code,
                        known=", ".join(c.code for c in self.criteria),
                    )
                )
        for c in self.criteria:
            value = scores.get(c.code)
            if value is None or value == "":
                if complete:
                    errors.append(
                        _error(
                            _("%(label)s: give a score."),
                            "required",
                            criterion=c.code,
                            label=c.label(language),
                        )
                    )
                continue
            try:
                checked[c.code] = c.check(value, language)
            except ValidationError as exc:
                errors.append(exc)
        if errors:
            raise ValidationError({"scores": errors})
        total = self.total(checked)
        return Result(
            scores=checked,
            complete=total is not None,
            total=total,
            passes_thresholds=self.passes(checked, total),
        )

    def check_recommendation(self, code, *, complete=False):
        if not code:
            if complete and self.recommendations:
                raise ValidationError({"recommendation": [_("Choose a recommendation.")]})
            return ""
        if code not in self.recommendation_codes:
            raise ValidationError(
                {
                    "recommendation": [
                        _("“%(code)s” is not a recommendation of this scheme (%(known)s).")
                        % {"code": code, "known": ", ".join(self.recommendation_codes)}
                    ]
                }
            )
        return code

    def describe(self, language=None):
        """The scheme as the API shows it (labels in ``language``)."""
        return {
            "code": self.code,
            "name": self.name(language),
            "criteria": [
                {
                    "code": c.code,
                    "label": c.label(language),
                    "weight": as_json_number(c.weight),
                    "min": as_json_number(c.min),
                    "max": as_json_number(c.max),
                    "step": as_json_number(c.step),
                    "threshold": as_json_number(c.threshold),
                    "labels": {k: v for k, v in c.labels.items()} if c.labels else None,
                }
                for c in self.criteria
            ],
            "overall_threshold": as_json_number(self.overall_threshold),
            "recommendations": self.recommendation_codes,
            "recommendation_labels": {r.code: r.label(language) for r in self.recommendations},
        }


def scheme_for_code(code):
    model = (
        ScoringScheme.objects.filter(code=code or DEFAULT_SCHEME).first()
        or ScoringScheme.objects.filter(code=DEFAULT_SCHEME).first()
    )
    if model is None:
        raise ScoringScheme.DoesNotExist(code)
    return Scheme.from_model(model)


def scheme_for_call(call):
    """The call's scheme (``call.effective_scoring_scheme``; the EU preset if unknown)."""
    return scheme_for_code(call.effective_scoring_scheme)


def validate_review(scheme, *, scores, recommendation, comment="", complete, language=None):
    """Check a whole review; collects every field's errors into one ValidationError."""
    errors = {}
    result = None
    try:
        result = scheme.evaluate(scores, complete=complete, language=language)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    try:
        recommendation = scheme.check_recommendation(recommendation, complete=complete)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if complete and not (comment or "").strip():
        errors["comment"] = [ValidationError(_("Write your comments to the applicant."))]
    if errors:
        raise ValidationError(errors)
    return result, recommendation
