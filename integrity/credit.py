"""Institutional credit: a grade A/B/C/D per institution and per agency, with its inputs.

The rule is data (``integrity.models.CreditRule``, edited by admins). An organisation starts
at 100 points and loses, per input, ``weight × count``; the score never falls below 0, and
falls into a band: **A** (excellent) ≥ ``band_a`` (default 90), **B** (good) ≥ ``band_b``
(75), **C** (fair) ≥ ``band_c`` (60), **D** (poor) below. The letters follow domain.md's
institutional grades (A/B/C/D); a grade here is a credit signal for officers, not the
ranking quota of institutional funding.

Inputs (counts; records superseded by a correction never count):

- ``own_bars``: the organisation's own records with a bar in force today;
- ``own_recent``: its other records that took effect within the look-back period;
- ``people_bars`` / ``people_recent``: the same for its people (an institution's members,
  an agency's staff);
- registered by other apps (``integrity.providers.register_credit_input``): grants counts
  proposals rejected as ineligible and approvals revoked after an upheld objection, within
  the look-back period; project performance grades (issue 5) plug in the same way.

Everything is computed in the database as annotations (one subquery per input), so a list
of organisations sorts by score, filters by grade and paginates in a fixed number of queries.
"""

from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency, Institution

from .models import Action, CreditRecord, CreditRule
from .providers import CreditInput, credit_inputs, register_credit_input

KINDS = {"institution": Institution, "agency": Agency}
ANNOTATION_PREFIX = "credit_"


class SubqueryCount(Subquery):
    """``(SELECT count(*) FROM (<subquery>))``: a count per outer row, 0 when none."""

    template = "(SELECT count(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def _bar_flags():
    return [f"bars_{a}" for a in Action.values]


def _any_bar():
    q = Q()
    for flag in _bar_flags():
        q |= Q(**{flag: True})
    return q


def _in_force(today):
    return Q(starts_on__lte=today) & (Q(ends_on__isnull=True) | Q(ends_on__gte=today))


def _current_records():
    return CreditRecord.objects.filter(superseded_by__isnull=True).order_by()


def _own_lookup(kind):
    return {"institution": "subject_institution", "agency": "subject_agency"}[kind]


def _people_lookup(kind):
    return {"institution": "subject_user__institution", "agency": "subject_user__agency"}[kind]


def _bars(lookup, today):
    return SubqueryCount(
        _current_records()
        .filter(**{lookup: OuterRef("pk")})
        .filter(_in_force(today) & _any_bar())
        .values("pk")
    )


def _recent(lookup, today, since):
    return SubqueryCount(
        _current_records()
        .filter(**{lookup: OuterRef("pk")}, starts_on__gte=since, starts_on__lte=today)
        .exclude(_in_force(today) & _any_bar())
        .values("pk")
    )


register_credit_input(
    CreditInput(
        code="own_bars",
        label=_("own records with a bar in force"),
        expression=lambda kind, *, today, since: _bars(_own_lookup(kind), today),
        kinds=("institution", "agency"),
        order=10,
    )
)
register_credit_input(
    CreditInput(
        code="own_recent",
        label=_("other own records in the look-back period"),
        expression=lambda kind, *, today, since: _recent(_own_lookup(kind), today, since),
        kinds=("institution", "agency"),
        order=20,
    )
)
register_credit_input(
    CreditInput(
        code="people_bars",
        label=_("its people's records with a bar in force"),
        expression=lambda kind, *, today, since: _bars(_people_lookup(kind), today),
        kinds=("institution", "agency"),
        order=30,
    )
)
register_credit_input(
    CreditInput(
        code="people_recent",
        label=_("its people's other records in the look-back period"),
        expression=lambda kind, *, today, since: _recent(_people_lookup(kind), today, since),
        kinds=("institution", "agency"),
        order=40,
    )
)


def lookback_start(rule, today):
    years = int(rule.lookback_years or 0)
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def inputs_for(kind):
    return credit_inputs(kind)


def annotate(queryset, kind="institution", *, rule=None, today=None):
    """``queryset`` (of Institution or Agency) with ``credit_<input>`` counts,
    ``credit_score`` (float) and ``credit_grade`` ("A"…"D") annotated."""
    rule = rule or CreditRule.current()
    today = today or timezone.localdate()
    since = lookback_start(rule, today)
    inputs = inputs_for(kind)
    annotations = {}
    penalty = Value(0.0, output_field=FloatField())
    for item in inputs:
        name = ANNOTATION_PREFIX + item.code
        annotations[name] = item.expression(kind, today=today, since=since)
        weight = rule.weight(item.code)
        if weight:
            penalty = penalty + Value(weight, output_field=FloatField()) * Cast(
                F(name), FloatField()
            )
    queryset = queryset.annotate(**annotations).annotate(
        credit_score=Greatest(
            Value(0.0, output_field=FloatField()),
            Value(100.0, output_field=FloatField()) - penalty,
            output_field=FloatField(),
        )
    )
    return queryset.annotate(
        credit_grade=Case(
            When(credit_score__gte=float(rule.band_a), then=Value("A")),
            When(credit_score__gte=float(rule.band_b), then=Value("B")),
            When(credit_score__gte=float(rule.band_c), then=Value("C")),
            default=Value("D"),
            output_field=CharField(),
        )
    )


@dataclass
class CreditInputValue:
    code: str
    label: str
    count: int
    weight: float

    @property
    def points(self):
        return self.count * self.weight


@dataclass
class CreditGrade:
    subject: object
    grade: str
    score: float
    inputs: list
    rule: CreditRule

    @property
    def grade_label(self):
        return CreditRule.Grade(self.grade).label


def grade_of_row(row, kind, rule):
    """The CreditGrade of one annotated row."""
    return CreditGrade(
        subject=row,
        grade=row.credit_grade,
        score=round(float(row.credit_score), 1),
        inputs=[
            CreditInputValue(
                code=item.code,
                label=str(item.label),
                count=int(getattr(row, ANNOTATION_PREFIX + item.code) or 0),
                weight=rule.weight(item.code),
            )
            for item in inputs_for(kind)
        ],
        rule=rule,
    )


def credit_of(subject, *, rule=None, today=None):
    """The grade of one institution or agency with its inputs: 2 queries (rule, row)."""
    kind = "agency" if isinstance(subject, Agency) else "institution"
    rule = rule or CreditRule.current()
    row = annotate(KINDS[kind].objects.filter(pk=subject.pk), kind, rule=rule, today=today).get()
    return grade_of_row(row, kind, rule)


def credit_for_ids(kind, ids, *, rule=None, today=None):
    """``{id: CreditGrade}`` for many organisations at once (one query after the rule)."""
    rule = rule or CreditRule.current()
    rows = annotate(KINDS[kind].objects.filter(pk__in=list(ids)), kind, rule=rule, today=today)
    return {row.pk: grade_of_row(row, kind, rule) for row in rows}
