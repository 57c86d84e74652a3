"""A call's ranking after review, and the funding line drawn at the call's budget.

**Score.** The mean of the weighted totals (``Review.total``, Σ weight × score over the
criteria) of the *submitted* reviews of a proposal. EU preset: three criteria 0–5, totals
0–15. NSFC preset: one letter A/B/C/D scored 4/3/2/1, totals 1–4. A proposal with no
submitted review has no score and no rank; it is listed after the ranked ones.

**Spread and divergence.** Spread = highest − lowest total of the proposal's reviews. The
reviews *diverge* when the spread is more than one third of the scheme's range of totals
(:data:`DIVERGENCE_SHARE`): EU, more than 5 of 15 points; NSFC, more than one letter apart
(A and C diverge, A and B do not). A single review never diverges.

**Tie-break** (in this order; the first difference decides):

1. higher mean score;
2. larger share of ``fund`` recommendations;
3. lower spread (reviewers agree more);
4. earlier submission of the proposal;
5. lower proposal number.

**Funding line.** Walk the ranking best first, adding each proposal's total budget; a
proposal is *above the line* while the running sum stays within the money available:
``call.total_budget`` minus what proposals of the call already approved or awarded
(``in_notice``, ``awarded``) hold. The first proposal that does not fit ends the line:
everything below it is below the line, even a cheaper proposal that would fit (the ranking
is not re-ordered to spend the rest). No ``total_budget``: no line (``above_line`` is None).

:func:`call_ranking` runs a fixed number of queries (four) whatever the size of the call.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from grants.enums import ApplicationState
from grants.models import Application, BudgetLine

from .models import AssignmentState, Review
from .scoring import scheme_for_call

S = ApplicationState

#: Proposals the ranking orders.
RANKED_STATES = [S.UNDER_REVIEW, S.REVIEWED]
#: Proposals whose money is already committed: the line is drawn in what is left.
COMMITTED_STATES = [S.IN_NOTICE, S.AWARDED]
#: Reviews diverge when their spread exceeds this share of the scheme's range of totals.
DIVERGENCE_SHARE = Fraction(1, 3)
#: The recommendation whose share breaks ties.
FUND = "fund"

ZERO = Decimal("0.00")
SCORE_PLACES = Decimal("0.001")
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass
class RankingRow:
    application: Application
    totals: list = field(default_factory=list)  # Decimal per submitted review
    recommendations: list = field(default_factory=list)
    budget: Decimal = ZERO
    score: Decimal | None = None  # mean total, 3 decimals (exact mean used for the order)
    reviews: int = 0
    spread: Decimal | None = None
    divergent: bool = False
    fund_share: Decimal | None = None
    rank: int | None = None
    cumulative: Decimal | None = None
    above_line: bool | None = None
    mean: Fraction | None = None

    @property
    def number(self):
        return self.application.number

    @property
    def title(self):
        return self.application.title

    @property
    def pk(self):
        return self.application.pk


@dataclass
class Ranking:
    call: object
    rows: list
    total_budget: Decimal | None
    committed: Decimal
    available: Decimal | None
    scale_min: Decimal
    scale_max: Decimal

    @property
    def has_line(self):
        return self.available is not None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def total_range(scheme):
    """Lowest and highest weighted total the scheme can give."""
    low = sum((c.weight * c.min for c in scheme.criteria), Decimal(0))
    high = sum((c.weight * c.max for c in scheme.criteria), Decimal(0))
    return low, high


def is_divergent(spread, low, high):
    if spread is None or high <= low:
        return False
    return Fraction(spread) > DIVERGENCE_SHARE * Fraction(high - low)


def _budget_total():
    return Coalesce(
        Subquery(
            BudgetLine.objects.filter(application=OuterRef("pk"))
            .order_by()
            .values("application")
            .annotate(total=Sum("amount"))
            .values("total"),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        ),
        Value(ZERO, output_field=DecimalField(max_digits=16, decimal_places=2)),
    )


def review_total(review, scheme):
    """The review's stored weighted total, or the scheme's total of its scores."""
    if review.total is not None:
        return Decimal(review.total)
    try:
        scores = {k: Decimal(str(v)) for k, v in (review.scores or {}).items()}
    except ArithmeticError:
        return None
    return scheme.total(scores)


def submitted_reviews(application_ids):
    """Submitted reviews of the given proposals (one query), oldest first."""
    return (
        Review.objects.filter(
            assignment__application_id__in=application_ids,
            assignment__state=AssignmentState.SUBMITTED,
            submitted_at__isnull=False,
        )
        .select_related("assignment")
        .order_by("submitted_at", "pk")
    )


def sort_key(row):
    """The documented order: mean ↓, fund share ↓, spread ↑, submission ↑, number ↑."""
    application = row.application
    return (
        row.mean is None,
        -(row.mean or 0),
        -(row.fund_share or 0),
        row.spread if row.spread is not None else Decimal(0),
        application.submitted_at or _LATEST,
        application.number or "",
        application.pk,
    )


def call_ranking(call, *, scheme=None, states=None):
    """The call's proposals in ``RANKED_STATES`` ranked best first, with the funding line."""
    scheme = scheme or scheme_for_call(call)
    low, high = total_range(scheme)
    applications = list(
        Application.objects.filter(call=call, state__in=states or RANKED_STATES)
        .select_related("applicant", "institution")
        .annotate(budget_total=_budget_total())
    )
    rows = {a.pk: RankingRow(application=a, budget=a.budget_total) for a in applications}
    for review in submitted_reviews(list(rows)):
        total = review_total(review, scheme)
        row = rows[review.assignment.application_id]
        row.recommendations.append(review.recommendation)
        if total is not None:
            row.totals.append(total)
    for row in rows.values():
        row.reviews = len(row.totals)
        if row.totals:
            row.mean = sum((Fraction(t) for t in row.totals), Fraction(0)) / len(row.totals)
            row.score = (Decimal(row.mean.numerator) / Decimal(row.mean.denominator)).quantize(
                SCORE_PLACES
            )
            row.spread = max(row.totals) - min(row.totals)
            row.divergent = is_divergent(row.spread, low, high)
        if row.recommendations:
            fund = sum(1 for r in row.recommendations if r == FUND)
            row.fund_share = (Decimal(fund) / Decimal(len(row.recommendations))).quantize(
                SCORE_PLACES
            )
    ordered = sorted(rows.values(), key=sort_key)

    committed = (
        Application.objects.filter(call=call, state__in=COMMITTED_STATES).aggregate(
            total=Sum("budget_lines__amount")
        )["total"]
        or ZERO
    )
    available = None
    if call.total_budget is not None:
        available = Decimal(call.total_budget) - committed
    running, line_open, rank = ZERO, True, 0
    for row in ordered:
        if row.mean is None:  # not ranked: after every ranked row, never above the line
            row.above_line = None if available is None else False
            continue
        rank += 1
        row.rank = rank
        running += row.budget
        row.cumulative = running
        if available is not None:
            line_open = line_open and running <= available
            row.above_line = line_open
    return Ranking(
        call=call,
        rows=ordered,
        total_budget=call.total_budget,
        committed=committed,
        available=available,
        scale_min=low,
        scale_max=high,
    )
