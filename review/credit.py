"""Reviewer credit (专家信誉) in (0, 1]: how much the engine trusts a reviewer's affinity.

The rule (docs/affinity.md):

* Applicants rate each review 1–4 after the decision. The reviewer's mean rating is smoothed
  toward 4 with two pseudo-ratings (a newcomer starts at full credit; one bad rating does
  not sink anyone): ``r = (sum + 2·4) / (n + 2)``; the rating penalty is ``0.4 · (4 − r) / 3``
  (at most 0.4, for an all-1 record).
* Lateness: the share of submitted reviews that came in after the call's review deadline,
  smoothed the same way (``late / (submitted + 2)``), costs up to 0.3.
* Officers' flags (error, bias, lateness: ``Review.flagged_by_officer`` non-empty): the
  smoothed share of flagged reviews costs up to 0.4.

``credit = max(0.1, 1 − rating penalty − 0.3 · late share − 0.4 · flagged share)``.
The engine multiplies a reviewer's affinity by their credit, so a low-credit reviewer is
picked only where clearly the better fit.
"""

from django.db.models import Count, F, Q, Sum

from .models import Review

FLOOR = 0.1
PRIOR_RATINGS = 2
PRIOR_RATING = 4.0
RATING_WEIGHT = 0.4
LATE_WEIGHT = 0.3
FLAG_WEIGHT = 0.4


def credit_value(*, submitted=0, late=0, flagged=0, rating_sum=0, rating_count=0):
    """The credit of one record (the documented rule, on plain numbers)."""
    mean = (rating_sum + PRIOR_RATINGS * PRIOR_RATING) / (rating_count + PRIOR_RATINGS)
    penalty = RATING_WEIGHT * (PRIOR_RATING - mean) / 3
    penalty += LATE_WEIGHT * late / (submitted + PRIOR_RATINGS)
    penalty += FLAG_WEIGHT * flagged / (submitted + PRIOR_RATINGS)
    return max(FLOOR, min(1.0, 1.0 - penalty))


def credit_for(reviewer_ids):
    """``{reviewer id: credit}`` for ``reviewer_ids`` (ids or a queryset of users).

    One query (per 10,000 ids when a list is given); reviewers without reviews get 1.0.
    """
    if hasattr(reviewer_ids, "values"):
        batches = [reviewer_ids.values("pk")]
        result = None
    else:
        ids = [getattr(r, "pk", r) for r in reviewer_ids]
        result = dict.fromkeys(ids, 1.0)
        batches = [ids[i : i + 10000] for i in range(0, len(ids), 10000)]
    found = {}
    for batch in batches:
        rows = (
            Review.objects.filter(assignment__reviewer_id__in=batch, submitted_at__isnull=False)
            .values("assignment__reviewer_id")
            .annotate(
                submitted=Count("id"),
                late=Count(
                    "id",
                    filter=Q(
                        assignment__application__call__review_deadline__isnull=False,
                        submitted_at__date__gt=F("assignment__application__call__review_deadline"),
                    ),
                ),
                flagged=Count("id", filter=~Q(flagged_by_officer="")),
                rating_sum=Sum("rating__rating"),
                rating_count=Count("rating"),
            )
            .order_by()
        )
        for row in rows:
            found[row["assignment__reviewer_id"]] = credit_value(
                submitted=row["submitted"],
                late=row["late"],
                flagged=row["flagged"],
                rating_sum=row["rating_sum"] or 0,
                rating_count=row["rating_count"],
            )
    if result is None:
        result = dict.fromkeys(reviewer_ids.values_list("pk", flat=True), 1.0)
    result.update({k: v for k, v in found.items() if k in result})
    return result
