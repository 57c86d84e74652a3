"""Institutional block grants and post-subsidies (issue 5). Vouchers: ``finance.vouchers``.

Institutional grading (机构式资助): the institutions of a program's block grants of a year are
ranked by their evaluation score (highest first; equal scores by institution id, so the
ranking is stable). With ``n`` graded institutions, the first ``floor(n × 10 %)`` get A, the
next ``floor(n × 15 %)`` B, the next ``floor(n × 20 %)`` C and the rest D. Rounding is DOWN so
the shares are never exceeded (with 9 institutions nobody gets A: 0.9 rounds to 0). Next
year's amount is ``amount × factor`` (A 120 %, B 100 %, C 80 %, D 0 % and a review). Shares
and factors are data: ``DEFAULT_INSTITUTIONAL_RULE``, overridden per program by its rule set's
``institutional_grading`` entry.
"""

import math
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain
from audit.workflow import WorkflowError
from programs.models import FundingMode

from .models import BlockGrant, ModePayment, PostSubsidy

CENT = Decimal("0.01")

DEFAULT_INSTITUTIONAL_RULE = {
    "shares": {"A": "0.10", "B": "0.15", "C": "0.20"},
    "factors": {"A": "1.20", "B": "1.00", "C": "0.80", "D": "0.00"},
    "review_grades": ["D"],
}


def institutional_rule(program):
    rule = dict(DEFAULT_INSTITUTIONAL_RULE)
    if program.rule_set_id:
        rule.update(program.rule_set.data.get("institutional_grading", {}))
    return rule


def grade_quotas(n, rule=None):
    """``{"A": k, "B": k, "C": k, "D": rest}`` for ``n`` institutions (shares rounded down)."""
    shares = (rule or DEFAULT_INSTITUTIONAL_RULE)["shares"]
    quotas = {g: math.floor(Decimal(n) * Decimal(str(shares[g]))) for g in ("A", "B", "C")}
    quotas["D"] = n - sum(quotas.values())
    return quotas


def _require_mode(program, mode):
    if program.funding_mode != mode:
        raise WorkflowError("wrong_funding_mode", _("The program does not use this funding mode."))


@transaction.atomic
def block_grant_set(*, program, institution, year, amount, actor=None):
    """This year's block grant of ``institution`` under an institutional program."""
    _require_mode(program, FundingMode.INSTITUTIONAL)
    grant, created = BlockGrant.objects.update_or_create(
        program=program, institution=institution, year=year, defaults={"amount": amount}
    )
    grant.full_clean()
    chain.record(
        "finance.block_grant_set",
        grant,
        actor=actor,
        data={"institution": institution.pk, "year": year, "amount": amount},
    )
    return grant


@transaction.atomic
def block_grant_score(*, grant, score, actor=None):
    grant.evaluation_score = score
    grant.full_clean()
    grant.save(update_fields=["evaluation_score"])
    chain.record("finance.block_grant_score", grant, actor=actor, data={"score": score})
    return grant


@transaction.atomic
def institutions_grade(*, program, year, actor=None):
    """Grade every scored block grant of ``program`` for ``year`` and set next year's amount.

    Grants without a score are not ranked (and keep no grade). Returns the graded grants in
    rank order.
    """
    _require_mode(program, FundingMode.INSTITUTIONAL)
    rule = institutional_rule(program)
    grants = list(
        BlockGrant.objects.select_for_update()
        .filter(program=program, year=year, evaluation_score__isnull=False)
        .order_by("-evaluation_score", "institution_id")
    )
    quotas = grade_quotas(len(grants), rule)
    order = [g for g in ("A", "B", "C") for _ in range(quotas[g])]
    for rank, grant in enumerate(grants, start=1):
        grant.rank = rank
        grant.grade = order[rank - 1] if rank <= len(order) else "D"
        factor = Decimal(str(rule["factors"][grant.grade]))
        grant.next_amount = (grant.amount * factor).quantize(CENT, ROUND_HALF_UP)
        grant.needs_review = grant.grade in rule["review_grades"]
    BlockGrant.objects.bulk_update(grants, ["rank", "grade", "next_amount", "needs_review"])
    chain.record(
        "finance.institutions_graded",
        program,
        actor=actor,
        data={
            "year": year,
            "rule": rule,
            "grades": {str(g.institution_id): g.grade for g in grants},
            "next_amounts": {str(g.institution_id): g.next_amount for g in grants},
        },
    )
    return grants


# --- post-subsidy ---


@transaction.atomic
def post_subsidy_apply(*, program, applicant, title, results, amount_requested):
    """An application of results under a post-subsidy program: no money yet."""
    from integrity.services import require_eligible

    _require_mode(program, FundingMode.POST_SUBSIDY)
    if applicant.institution_id is None:
        raise ValidationError({"title": _("Only members of an institution may apply.")})
    require_eligible("apply", users=[applicant], institutions=[applicant.institution])
    claim = PostSubsidy(
        program=program,
        applicant=applicant,
        institution=applicant.institution,
        title=title,
        results=results,
        amount_requested=amount_requested,
    )
    claim.full_clean()
    claim.save()
    chain.record(
        "finance.post_subsidy_apply",
        claim,
        actor=applicant,
        data={"amount_requested": amount_requested},
    )
    return claim


@transaction.atomic
def post_subsidy_verify(*, claim, officer, verified, amount_granted=None, note=""):
    """The officer verifies the results (or not); verified, the amount granted is set."""
    claim = PostSubsidy.objects.select_for_update().get(pk=claim.pk)
    if claim.status != PostSubsidy.Status.SUBMITTED:
        raise WorkflowError("not_allowed", _("The results have already been decided."))
    if verified:
        amount_granted = Decimal(
            amount_granted if amount_granted is not None else claim.amount_requested
        )
        if amount_granted <= 0 or amount_granted > claim.amount_requested:
            raise ValidationError(
                {"amount_granted": _("Grant more than zero and at most the amount requested.")}
            )
        claim.amount_granted = amount_granted
        claim.status = PostSubsidy.Status.VERIFIED
    else:
        if not note:
            raise ValidationError({"verification_note": _("Give the reason.")})
        claim.status = PostSubsidy.Status.REJECTED
    claim.verified_by = officer
    claim.verified_at = timezone.now()
    claim.verification_note = note
    claim.save()
    chain.record(
        "finance.post_subsidy_verify",
        claim,
        actor=officer,
        data={"verified": bool(verified), "amount_granted": claim.amount_granted},
        comment=note,
    )
    return claim


@transaction.atomic
def post_subsidy_pay(*, claim, officer, paid_on=None):
    """The one payment of a verified post-subsidy (integrity's funds gate applies)."""
    from integrity.services import funds_gate

    claim = PostSubsidy.objects.select_for_update().get(pk=claim.pk)
    if (
        claim.status == PostSubsidy.Status.PAID
        or ModePayment.objects.filter(post_subsidy=claim).exists()
    ):
        raise WorkflowError("already_paid", _("The post-subsidy has already been paid."))
    if claim.status != PostSubsidy.Status.VERIFIED:
        raise WorkflowError("not_verified", _("No money before the results are verified."))
    funds_gate(users=[claim.applicant], institutions=[claim.institution])
    payment = ModePayment.objects.create(
        post_subsidy=claim,
        amount=claim.amount_granted,
        paid_on=paid_on or timezone.localdate(),
        paid_by=officer,
    )
    claim.status = PostSubsidy.Status.PAID
    claim.save(update_fields=["status"])
    chain.record(
        "finance.post_subsidy_paid",
        claim,
        actor=officer,
        data={"payment": payment.pk, "amount": payment.amount, "paid_on": payment.paid_on},
    )
    return payment
