"""Aggregations behind the dashboards. Every function is a fixed number of queries, whatever
the number of rows: the database groups and counts; Python only shapes the result.

``scope`` is a :class:`Scope`: the programs the reader may see (``None`` = every program) and
the filters of the page (year, category, program, institution).
"""

import statistics
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count, DateTimeField, F, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Coalesce, ExtractYear, Lag

from accounts.roles import Role
from audit import chain
from audit.models import TransitionLog
from grants.enums import ApplicationState
from grants.models import Application, BudgetLine
from programs.permissions import managed_programs

S = ApplicationState
#: Decided proposals: the denominator of the success rate.
DECIDED = [S.AWARDED, S.REJECTED, S.INELIGIBLE]
#: Dimensions the applications dashboard groups by.
DIMENSIONS = {
    "category": "call__program__category",
    "program": "call__program",
    "year": "year",
    "institution": "institution",
}


def is_leadership(user):
    """Program officers, auditors and superusers: the commission's leadership view."""
    return user.is_authenticated and (
        user.is_superuser or user.has_role(Role.PROGRAM_OFFICER) or user.has_role(Role.AUDITOR)
    )


def may_read(user):
    return is_leadership(user) or (user.is_authenticated and user.has_role(Role.AGENCY_STAFF))


@dataclass(frozen=True)
class Scope:
    #: ids of the programs the reader may see; ``None`` for every program.
    program_ids: frozenset | None = None
    year: int | None = None
    category: str = ""
    program: int | None = None
    institution: int | None = None

    @classmethod
    def for_user(cls, user, **filters):
        if is_leadership(user):
            return cls(None, **filters)
        return cls(frozenset(managed_programs(user).values_list("pk", flat=True)), **filters)


def year_expr(prefix=""):
    """The year of a proposal: of its submission, or of its creation while a draft."""
    return ExtractYear(Coalesce(f"{prefix}submitted_at", f"{prefix}created_at"))


def applications(scope):
    """Proposals within the scope, the year filter included."""
    qs = Application.objects.annotate(year=year_expr()).filter(scope_q(scope))
    return qs.filter(year=scope.year) if scope.year else qs


def scope_q(scope, prefix=""):
    q = Q()
    if scope.program_ids is not None:
        q &= Q(**{f"{prefix}call__program__in": sorted(scope.program_ids)})
    if scope.category:
        q &= Q(**{f"{prefix}call__program__category": scope.category})
    if scope.program:
        q &= Q(**{f"{prefix}call__program": scope.program})
    if scope.institution:
        q &= Q(**{f"{prefix}institution": scope.institution})
    return q


def _scoped_budget_lines(scope):
    qs = BudgetLine.objects.annotate(year=year_expr("application__")).filter(
        scope_q(scope, "application__")
    )
    if scope.year:
        qs = qs.filter(year=scope.year)
    return qs


def application_stats(scope, by="category"):
    """One row per value of ``by``: proposals, submitted, awarded, decided, success rate,
    money requested (submitted proposals) and money of awarded proposals. Two queries."""
    key = DIMENSIONS[by]
    qs = applications(scope)
    counts = (
        qs.values(key)
        .annotate(
            total=Count("pk"),
            submitted=Count("pk", filter=~Q(state=S.DRAFT)),
            awarded=Count("pk", filter=Q(state=S.AWARDED)),
            decided=Count("pk", filter=Q(state__in=DECIDED)),
        )
        .order_by(key)
    )
    money_key = "year" if by == "year" else f"application__{key}"
    money = {
        row[money_key]: row
        for row in _scoped_budget_lines(scope)
        .values(money_key)
        .annotate(
            requested=Sum("amount", filter=~Q(application__state=S.DRAFT)),
            granted=Sum("amount", filter=Q(application__state=S.AWARDED)),
        )
        .order_by(money_key)
    }
    rows = []
    for row in counts:
        m = money.get(row[key], {})
        rows.append(
            {
                "key": row[key],
                "total": row["total"],
                "submitted": row["submitted"],
                "awarded": row["awarded"],
                "decided": row["decided"],
                "success_rate": (row["awarded"] / row["decided"]) if row["decided"] else None,
                "requested": m.get("requested") or 0,
                "granted": m.get("granted") or 0,
            }
        )
    return rows


def review_progress(scope):
    """Per call: assignments invited (all), accepted, submitted, declined. One query."""
    from review.models import AssignmentState as A
    from review.models import ReviewAssignment

    qs = ReviewAssignment.objects.annotate(year=year_expr("application__")).filter(
        scope_q(scope, "application__")
    )
    if scope.year:
        qs = qs.filter(year=scope.year)
    return list(
        qs.values("application__call", "application__call__title", "application__call__title_en")
        .annotate(
            invited=Count("pk"),
            pending=Count("pk", filter=Q(state=A.INVITED)),
            accepted=Count("pk", filter=Q(state__in=[A.ACCEPTED, A.SUBMITTED])),
            submitted=Count("pk", filter=Q(state=A.SUBMITTED)),
            declined=Count("pk", filter=~Q(state__in=[A.INVITED, A.ACCEPTED, A.SUBMITTED])),
        )
        .order_by("application__call")
    )


def reviewer_load(scope, limit=20):
    """Reviewers with the most assignments in scope: open (invited or accepted) and
    submitted. One query."""
    from review.models import AssignmentState as A
    from review.models import ReviewAssignment

    qs = ReviewAssignment.objects.annotate(year=year_expr("application__")).filter(
        scope_q(scope, "application__")
    )
    if scope.year:
        qs = qs.filter(year=scope.year)
    return list(
        qs.values("reviewer", "reviewer__username", "reviewer__full_name")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(state__in=[A.INVITED, A.ACCEPTED])),
            submitted=Count("pk", filter=Q(state=A.SUBMITTED)),
        )
        .order_by("-total", "reviewer")[:limit]
    )


def state_durations(scope):
    """``{state: [days, …]}``: how long proposals stayed in each state, from the transition
    log (a stay ends with a transition out of the state; the first stay starts when the
    proposal was created). One query; the database pairs each transition with the previous."""
    out = {}
    for source, left, entered in _stay_rows(scope):
        if entered is None or not source:
            continue
        out.setdefault(source, []).append((left - entered).total_seconds() / 86400)
    return out


def _stay_rows(scope):
    ct = ContentType.objects.get_for_model(Application)
    created = Application.objects.filter(pk=OuterRef("object_id")).values("created_at")[:1]
    return (
        TransitionLog.objects.filter(
            content_type=ct, object_id__in=applications(scope).values("pk")
        )
        .annotate(
            entered=Coalesce(
                Window(
                    Lag("created_at"),
                    partition_by=[F("object_id")],
                    order_by=[F("created_at").asc(), F("id").asc()],
                ),
                Subquery(created, output_field=DateTimeField()),
            )
        )
        .values_list("source", "created_at", "entered")
    )


MEDIAN_SQL = (
    "SELECT stays.source, COUNT(*), PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY "
    "EXTRACT(EPOCH FROM stays.created_at - stays.entered)) / 86400.0 FROM ("
    " SELECT t.source, t.created_at, COALESCE(LAG(t.created_at) OVER ("
    "  PARTITION BY t.object_id ORDER BY t.created_at, t.id), a.created_at) AS entered"
    " FROM audit_transitionlog t JOIN grants_application a ON a.id = t.object_id"
    " WHERE t.kind = %s AND t.content_type_id = %s AND a.id IN ({scoped})"
    ") AS stays WHERE stays.source <> '' GROUP BY stays.source"
)


def _medians_in_db(scope):
    """PostgreSQL: the transitions joined to their proposals, paired with the previous one
    by a window, and the medians taken by the database itself (``percentile_cont``)."""
    ct = ContentType.objects.get_for_model(Application)
    scoped, params = applications(scope).values("pk").query.sql_with_params()
    # The inner SQL is Django's own, its values passed as parameters: nothing user-typed.
    with connection.cursor() as cursor:
        cursor.execute(MEDIAN_SQL.format(scoped=scoped), [chain.TRANSITION, ct.pk, *params])
        return {source: (n, float(median)) for source, n, median in cursor.fetchall()}


def time_in_state(scope):
    """Per state (in the machine's order): stays counted and the median in days. One query:
    on PostgreSQL the database takes the medians, elsewhere Python does."""
    labels = dict(S.choices)
    if connection.vendor == "postgresql":
        medians = _medians_in_db(scope)
        return [
            {"state": s, "label": labels[s], "stays": medians[s][0], "median_days": medians[s][1]}
            for s in S.values
            if s in medians
        ]
    durations = state_durations(scope)
    return [
        {
            "state": state,
            "label": labels[state],
            "stays": len(durations[state]),
            "median_days": statistics.median(durations[state]),
        }
        for state in S.values
        if durations.get(state)
    ]


def integrity_by_kind(year=None):
    """Credit records in their current version by kind of misconduct. One query."""
    from integrity.models import CreditRecord, MisconductCategory

    qs = CreditRecord.objects.filter(superseded_by__isnull=True)
    if year:
        qs = qs.filter(starts_on__year=year)
    labels = dict(MisconductCategory.choices)
    return [
        {"key": row["category"], "label": labels.get(row["category"], row["category"]),
         "n": row["n"]}
        for row in qs.values("category").annotate(n=Count("pk")).order_by("category")
    ]  # fmt: skip


def agency_grades(year=None):
    """The commission's grades of its agencies. One query."""
    from finance.models.agencies import AgencyGrade

    qs = AgencyGrade.objects.select_related("agency").order_by("-year", "agency__name")
    if year:
        qs = qs.filter(year=year)
    return list(qs)


def years(scope):
    """Years with proposals in scope (for the filter). One query."""
    qs = applications(Scope(scope.program_ids)).values_list("year", flat=True).distinct()
    return sorted((y for y in qs.order_by() if y), reverse=True)
