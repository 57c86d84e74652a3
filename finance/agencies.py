"""Third-party agencies (issue 5): delegations' effects and the commission's yearly grade.

The grade of an agency for a year comes from three inputs, each a share between 0 and 1:

- timeliness: of the formal checks of its programs' proposals finished in the year (a
  transition out of ``endorsed`` into ``accepted`` or ``ineligible``), the share finished
  within ``formal_check_days`` of the endorsement (both read from the transition log);
- outcomes: of its programs' projects that ended in the year (``completed`` or ``failed``,
  from the transition log), the share completed;
- integrity: the agency's institutional credit score (``integrity.credit``) divided by 100.

An input with nothing to measure counts as 1 (nothing late, nothing failed). The score is
100 × the weighted mean; the grade is the first band the score reaches. Weights and bands are
data (``DEFAULT_RULE``, overridable by ``settings.GRANTFLOW_AGENCY_GRADING``); the rule used
is stored with the grade.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q

from accounts.models import Agency
from audit import chain
from audit.models import TransitionLog
from programs.models import Delegation, Program

from .models import AgencyGrade

DEFAULT_RULE = {
    "formal_check_days": 15,
    "weights": {"timeliness": "0.40", "outcomes": "0.40", "integrity": "0.20"},
    "bands": {"A": 90, "B": 75, "C": 60},
}

FOUR = Decimal("0.0001")


def grading_rule():
    rule = {**DEFAULT_RULE, **getattr(settings, "GRANTFLOW_AGENCY_GRADING", {})}
    return rule


def agency_programs(agency, year):
    """Programs the agency ran at some point of ``year``: a delegation overlapping the year,
    or (programs delegated before delegations had dates) ``Program.agency``."""
    from datetime import date

    overlapping = Delegation.objects.filter(
        agency=agency, starts_on__lte=date(year, 12, 31), ends_on__gte=date(year, 1, 1)
    ).values("program")
    return Program.objects.filter(Q(pk__in=overlapping) | Q(agency=agency)).distinct()


def _share(good, total):
    if not total:
        return Decimal(1)
    return (Decimal(good) / Decimal(total)).quantize(FOUR, ROUND_HALF_UP)


def timeliness_inputs(programs, year, target_days):
    """``(on_time, total, late_ids)`` of the formal checks finished in ``year``."""
    from grants.models import Application

    ct = ContentType.objects.get_for_model(Application)
    app_ids = Application.objects.filter(call__program__in=programs).values("pk")
    checks = list(
        TransitionLog.objects.filter(
            content_type=ct,
            object_id__in=app_ids,
            source="endorsed",
            target__in=["accepted", "ineligible"],
            created_at__year=year,
        ).values_list("object_id", "created_at")
    )
    endorsed = {}
    for object_id, at in TransitionLog.objects.filter(
        content_type=ct, object_id__in=[c[0] for c in checks], target="endorsed"
    ).values_list("object_id", "created_at"):
        endorsed[object_id] = max(at, endorsed.get(object_id, at))
    limit = timedelta(days=target_days)
    late = [oid for oid, at in checks if oid in endorsed and at - endorsed[oid] > limit]
    return len(checks) - len(late), len(checks), late


def outcome_inputs(programs, year):
    """``(completed, failed)`` projects of ``programs`` that ended in ``year``."""
    from grants.models import Project

    ct = ContentType.objects.get_for_model(Project)
    ended = TransitionLog.objects.filter(
        content_type=ct,
        object_id__in=Project.objects.filter(application__call__program__in=programs).values("pk"),
        target__in=["completed", "failed"],
        created_at__year=year,
    ).values_list("target", flat=True)
    ended = list(ended)
    return ended.count("completed"), ended.count("failed")


@dataclass
class AgencyAssessment:
    agency: Agency
    year: int
    timeliness: Decimal
    outcomes: Decimal
    integrity: Decimal
    score: Decimal
    grade: str
    inputs: dict = field(default_factory=dict)
    rule: dict = field(default_factory=dict)


def assess_agency(agency, year, *, rule=None, today=None):
    """The grade of ``agency`` for ``year`` with every input (nothing written)."""
    from integrity.credit import credit_of

    rule = rule or grading_rule()
    programs = agency_programs(agency, year)
    on_time, checks, late = timeliness_inputs(programs, year, int(rule["formal_check_days"]))
    completed, failed = outcome_inputs(programs, year)
    credit = credit_of(agency, today=today)
    timeliness = _share(on_time, checks)
    outcomes = _share(completed, completed + failed)
    integrity = (Decimal(str(credit.score)) / 100).quantize(FOUR, ROUND_HALF_UP)
    weights = {k: Decimal(str(v)) for k, v in rule["weights"].items()}
    total_weight = sum(weights.values()) or Decimal(1)
    score = (
        100
        * (
            weights["timeliness"] * timeliness
            + weights["outcomes"] * outcomes
            + weights["integrity"] * integrity
        )
        / total_weight
    ).quantize(Decimal("0.01"), ROUND_HALF_UP)
    grade = "D"
    for band in ("A", "B", "C"):
        if score >= Decimal(str(rule["bands"][band])):
            grade = band
            break
    inputs = {
        "programs": sorted(p.code for p in programs),
        "formal_checks": checks,
        "formal_checks_on_time": on_time,
        "late_proposal_ids": late,
        "projects_completed": completed,
        "projects_failed": failed,
        "credit_grade": credit.grade,
        "credit_score": credit.score,
    }
    return AgencyAssessment(
        agency, year, timeliness, outcomes, integrity, score, grade, inputs, dict(rule)
    )


@transaction.atomic
def agency_grade_compute(*, agency, year, actor=None, today=None):
    """Store (or recompute) the yearly grade of ``agency``; recorded in the audit chain."""
    result = assess_agency(agency, year, today=today)
    grade, _ = AgencyGrade.objects.update_or_create(
        agency=agency,
        year=year,
        defaults={
            "timeliness": result.timeliness,
            "outcomes": result.outcomes,
            "integrity": result.integrity,
            "score": result.score,
            "grade": result.grade,
            "inputs": result.inputs,
            "rule": result.rule,
            "computed_by": actor if getattr(actor, "is_authenticated", False) else None,
        },
    )
    chain.record(
        "finance.agency_grade",
        grade,
        actor=actor,
        data={"agency": agency.name, "year": year, "grade": result.grade, "score": result.score},
    )
    return grade
