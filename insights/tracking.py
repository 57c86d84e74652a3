"""Tracking (the plan's 趋势判断和团队发现): keyword trends and tracked teams.

Keyword trends
--------------
Every proposal past its draft (``state != draft``) counts once for each topic among its
keywords, in the year its call opened (``Call.opens_at``, local time).

* A keyword is normalised: trimmed, inner whitespace collapsed, case-folded (so
  "Quantum  Materials " and "quantum materials" are one topic).
* Chinese and English keywords are bridged as in ``review.affinity``: wherever a proposal
  lists as many Chinese as English keywords, the i-th of each are taken as translations of
  each other, over all proposals counted. A topic is one connected group of such keywords;
  a proposal that names a topic in both languages still counts once.
* ``count[topic][year]`` is the number of proposals of that year naming the topic;
  ``share`` is that count over the year's proposals.

Growth score of a topic for a year Y (documented, and recomputed independently in the tests)::

    score = (share_Y + ALPHA) / (mean(share_{Y-1}, share_{Y-2}) + ALPHA)

with ``ALPHA = 0.01`` (one percentage point, so a topic new in Y gets a finite score and a
small topic's noise does not dominate). A year without proposals has share 0. A topic is
*rising* in Y when ``count_Y >= MIN_COUNT`` (3) and ``score > 1``; rising topics are ranked by
score, then count in Y (both descending), then label.

Tracked teams
-------------
A PI *qualifies* for tracking when the final evaluations of the projects they led graded
``excellent`` at least ``MIN_EXCELLENT`` (2) times. Officers (and the leadership) add a PI's
team to the tracked list with a reason and remove it with a reason; rows are never deleted,
so the list keeps its history (``TrackedTeam``). Suggestions are the qualifying PIs not
tracked now.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from review.affinity import _keyword_list, bridge_pairs

ALPHA = 0.01
MIN_COUNT = 3
MIN_EXCELLENT = 2
SPARK_W, SPARK_H = 96, 24

LEADERSHIP = getattr(Role, "LEADERSHIP", "leadership")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# --- who ------------------------------------------------------------------------------


def can_read(user):
    """Program officers, the leadership and auditors (read-only) read the tracking pages."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.has_role(Role.PROGRAM_OFFICER, Role.AUDITOR, LEADERSHIP)


def can_edit(user):
    """Program officers and the leadership add and remove tracked teams; auditors only read."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.has_role(Role.PROGRAM_OFFICER, LEADERSHIP)


# --- keyword trends -------------------------------------------------------------------


def normalise(keyword):
    """Trimmed, whitespace-collapsed, case-folded keyword ('' for nothing)."""
    return " ".join(str(keyword or "").split()).casefold()


class _Groups:
    """Union-find over normalised keywords (the zh/en bridge)."""

    def __init__(self):
        self.parent = {}

    def find(self, k):
        self.parent.setdefault(k, k)
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class Topic:
    key: str
    label: str
    counts: dict = field(default_factory=dict)  # year -> proposals
    shares: dict = field(default_factory=dict)  # year -> share
    count: int = 0  # in the target year
    share: float = 0.0
    previous_mean: float = 0.0
    score: float = 0.0
    rising: bool = False
    spark: str = ""


@dataclass
class Trends:
    year: int | None
    years: list
    totals: dict  # year -> proposals
    topics: list  # every topic, ranked
    min_count: int = MIN_COUNT

    @property
    def rising(self):
        return [t for t in self.topics if t.rising]


def proposal_rows(category=None, program=None):
    """(keywords, keywords_en, year) of every proposal past draft."""
    from grants.enums import ApplicationState as S  # noqa: PLC0415
    from grants.models import Application  # noqa: PLC0415

    qs = Application.objects.exclude(state=S.DRAFT)
    if category:
        qs = qs.filter(call__program__category=category)
    if program:
        qs = qs.filter(call__program=program)
    for kw, kw_en, opens in qs.values_list("keywords", "keywords_en", "call__opens_at").iterator(
        chunk_size=5000
    ):
        yield kw, kw_en, timezone.localtime(opens).year


def growth_score(share, previous_shares):
    """``(share + ALPHA) / (mean(previous_shares) + ALPHA)``."""
    mean = sum(previous_shares) / len(previous_shares) if previous_shares else 0.0
    return (share + ALPHA) / (mean + ALPHA)


def _label(members):
    zh = sorted(m for m in members if CJK.search(m))
    other = sorted(m for m in members if not CJK.search(m))
    parts = ([zh[0]] if zh else []) + ([other[0]] if other else [])
    return " / ".join(parts)


def sparkline(values, width=SPARK_W, height=SPARK_H):
    """SVG polyline points for ``values`` scaled into width × height (2 px padding)."""
    if not values:
        return ""
    peak = max(values) or 1
    n = len(values)
    step = (width - 4) / max(1, n - 1)
    pts = []
    for i, v in enumerate(values):
        x = 2 + step * i if n > 1 else width / 2
        y = height - 2 - (height - 4) * v / peak
        pts.append(f"{x:.1f},{y:.1f}")
    return " ".join(pts)


def keyword_trends(rows=None, *, year=None, min_count=MIN_COUNT, category=None, program=None):
    """Topic counts per year and their growth score for ``year`` (default: the latest year)."""
    rows = list(proposal_rows(category, program) if rows is None else rows)
    bridge = bridge_pairs((kw, kw_en) for kw, kw_en, _y in rows)
    groups = _Groups()
    for a, translations in bridge.items():
        for b in translations:
            groups.union(normalise(a), normalise(b))
    totals = defaultdict(int)
    counts = defaultdict(lambda: defaultdict(int))
    members = defaultdict(set)
    for kw, kw_en, y in rows:
        totals[y] += 1
        seen = set()
        for keyword in _keyword_list(kw) + _keyword_list(kw_en):
            key = normalise(keyword)
            if not key:
                continue
            root = groups.find(key)
            members[root].add(key)
            seen.add(root)
        for root in seen:
            counts[root][y] += 1
    years = sorted(totals)
    if year is None:
        year = years[-1] if years else None
    span = list(range(min(years), max(max(years), year or 0) + 1)) if years else []
    topics = []
    for root, by_year in counts.items():
        shares = {y: by_year.get(y, 0) / totals[y] if totals.get(y) else 0.0 for y in span}
        topic = Topic(key=root, label=_label(members[root]), counts=dict(by_year), shares=shares)
        if year is not None:
            topic.count = by_year.get(year, 0)
            topic.share = shares.get(year, 0.0)
            previous = [shares.get(year - 1, 0.0), shares.get(year - 2, 0.0)]
            topic.previous_mean = sum(previous) / 2
            topic.score = growth_score(topic.share, previous)
            topic.rising = topic.count >= min_count and topic.score > 1
        topic.spark = sparkline([shares[y] for y in span[-6:]])
        topics.append(topic)
    topics.sort(key=lambda t: (not t.rising, -t.score, -t.count, t.label))
    return Trends(year=year, years=span, totals=dict(totals), topics=topics, min_count=min_count)


# --- tracked teams --------------------------------------------------------------------


def pi_records():
    """PIs with their excellent count, projects and awarded amount (one query, no joins
    multiplied: each figure is a subquery)."""
    from grants.models import Project  # noqa: PLC0415

    User = get_user_model()
    projects = Project.objects.filter(application__applicant=OuterRef("pk")).order_by()
    excellent = (
        projects.filter(final_evaluation__grade="excellent")
        .values("application__applicant")
        .annotate(n=Count("pk"))
        .values("n")
    )
    n_projects = projects.values("application__applicant").annotate(n=Count("pk")).values("n")
    amount = (
        projects.values("application__applicant").annotate(s=Sum("approved_budget")).values("s")
    )
    return User.objects.select_related("institution").annotate(
        excellent=Coalesce(Subquery(excellent, output_field=IntegerField()), Value(0)),
        projects=Coalesce(Subquery(n_projects, output_field=IntegerField()), Value(0)),
        amount=Coalesce(
            Subquery(amount, output_field=DecimalField(max_digits=16, decimal_places=2)),
            Value(0, output_field=DecimalField(max_digits=16, decimal_places=2)),
        ),
    )


def suggestions():
    """Qualifying PIs (``excellent >= MIN_EXCELLENT``) not tracked now."""
    from .models import TrackedTeam  # noqa: PLC0415

    active = TrackedTeam.objects.filter(removed_at__isnull=True).values("pi_id")
    return pi_records().filter(excellent__gte=MIN_EXCELLENT).exclude(pk__in=active)


def tracked_teams(include_removed=False):
    from .models import TrackedTeam  # noqa: PLC0415

    qs = TrackedTeam.objects.select_related("pi__institution", "added_by", "removed_by")
    if not include_removed:
        qs = qs.filter(removed_at__isnull=True)
    records = pi_records().filter(pk=OuterRef("pi_id"))
    return qs.annotate(
        excellent=Subquery(records.values("excellent")[:1], output_field=IntegerField()),
        projects=Subquery(records.values("projects")[:1], output_field=IntegerField()),
        amount=Subquery(
            records.values("amount")[:1], output_field=DecimalField(max_digits=16, decimal_places=2)
        ),
    )


def pi_projects(pi):
    """The PI's projects with grade and amount, newest first."""
    from grants.models import Project  # noqa: PLC0415

    return (
        Project.objects.filter(application__applicant=pi)
        .select_related("application__call__program", "final_evaluation")
        .order_by("-created_at", "-id")
    )


def team_add(*, pi, team_name, reason, by):
    """Track ``pi``'s team. Refused without a reason or when already tracked."""
    from .models import TrackedTeam  # noqa: PLC0415

    if not can_edit(by):
        raise PermissionDenied
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Give the reason for tracking this team.")
    if not (team_name or "").strip():
        errors["team_name"] = _("Name the team.")
    if TrackedTeam.objects.filter(pi=pi, removed_at__isnull=True).exists():
        errors["pi"] = _("This principal investigator's team is tracked already.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return TrackedTeam.objects.create(
                pi=pi, team_name=team_name.strip(), reason=reason, added_by=by
            )
    except IntegrityError as exc:  # a concurrent add won
        raise ValidationError(
            {"pi": _("This principal investigator's team is tracked already.")}
        ) from exc


def team_remove(*, team, reason, by):
    """Stop tracking ``team`` with a reason; the row stays as history."""
    from .models import TrackedTeam  # noqa: PLC0415

    if not can_edit(by):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for removing this team.")})
    with transaction.atomic():
        updated = TrackedTeam.objects.filter(pk=team.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=by, removed_reason=reason
        )
    if not updated:
        raise ValidationError({"reason": _("This team is no longer tracked.")})
    team.refresh_from_db()
    return team
