"""Innovation vouchers (科技创新券, issue 5).

- Holders: an enterprise (an ``Institution``) or a team (named, led by the applicant). The
  vouchers issued to one holder in a year add up to at most the yearly limit (enterprise
  500,000, team 100,000: ``data/programs.json`` ``voucher_limits``).
- Service providers: operated at least ``provider_min_years`` (2) years, no integrity record
  (any credit record naming their institution or credit code), publicly posted for
  ``provider_posting_days`` (7) full days: posted on day P, admitted on P + 7 at the earliest.
- Redemption against a service contract with an admitted provider covers at most
  ``max_share_of_contract`` (50 %) of the contract and never more than what is left on the
  voucher.
- Payment: quarterly; ``quarterly_payout(year, quarter)`` pays every unpaid redemption made
  up to the quarter's last day in one batch (once per quarter), recorded in the audit chain.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain
from audit.workflow import WorkflowError
from programs.models import FundingMode
from programs.reference import load

from .models import Redemption, ServiceProvider, Voucher, VoucherPayout

ZERO = Decimal("0.00")


def limits():
    raw = load("programs.json")["voucher_limits"]
    return {
        "enterprise": Decimal(raw["enterprise_per_year"]),
        "team": Decimal(raw["team_per_year"]),
        "max_share": Decimal(raw["max_share_of_contract"]),
        "min_years": int(raw["provider_min_years"]),
        "posting_days": int(raw["provider_posting_days"]),
    }


def _years_before(day, years):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- service providers ---


def provider_integrity_records(provider):
    from integrity.models import CreditRecord

    match = Q(subject_credit_code=provider.credit_code)
    if provider.institution_id:
        match |= Q(subject_institution_id=provider.institution_id)
    return CreditRecord.objects.filter(match)


def admission_problems(provider, on=None):
    """Why ``provider`` may not (yet) be admitted on ``on``; empty when it may."""
    on = on or timezone.localdate()
    rules = limits()
    problems = {}
    if provider.operating_since > _years_before(on, rules["min_years"]):
        problems["operating_since"] = _(
            "A provider must have operated for at least %(years)s years."
        ) % {"years": rules["min_years"]}
    if provider_integrity_records(provider).exists():
        problems["credit_code"] = _("The provider has an integrity record.")
    if provider.posted_on is None:
        problems["posted_on"] = _("The provider has not been posted publicly.")
    elif on < provider.posted_on + timedelta(days=rules["posting_days"]):
        problems["posted_on"] = _(
            "The provider must be posted publicly for %(days)s days (until %(until)s)."
        ) % {
            "days": rules["posting_days"],
            "until": provider.posted_on + timedelta(days=rules["posting_days"]),
        }
    return problems


@transaction.atomic
def provider_register(*, actor=None, **fields):
    """A provider asks to join; checked for years and integrity before it is posted."""
    provider = ServiceProvider(**fields)
    provider.full_clean()
    problems = admission_problems(provider)
    problems.pop("posted_on", None)
    if problems:
        raise ValidationError(problems)
    provider.save()
    chain.record("finance.provider_register", provider, actor=actor, data={"name": provider.name})
    return provider


@transaction.atomic
def provider_post(*, provider, actor=None, on=None):
    """Post the provider publicly (the public list page); the 7 days start ``on``."""
    provider.posted_on = on or timezone.localdate()
    provider.save(update_fields=["posted_on"])
    chain.record("finance.provider_post", provider, actor=actor, data={"on": provider.posted_on})
    return provider


@transaction.atomic
def provider_admit(*, provider, actor=None, on=None):
    on = on or timezone.localdate()
    provider = ServiceProvider.objects.select_for_update().get(pk=provider.pk)
    if provider.admitted_on:
        raise WorkflowError("already_admitted", _("The provider is already admitted."))
    problems = admission_problems(provider, on)
    if problems:
        raise ValidationError(problems)
    provider.admitted_on = on
    provider.save(update_fields=["admitted_on"])
    chain.record("finance.provider_admit", provider, actor=actor, data={"on": on})
    return provider


def posted_providers(on=None):
    """The public list: providers posted (in their 7 days) or admitted."""
    return ServiceProvider.objects.filter(posted_on__isnull=False).order_by(
        "admitted_on", "-posted_on", "name"
    )


# --- vouchers ---


def holder_filter(holder_kind, *, enterprise=None, applicant=None):
    if holder_kind == Voucher.HolderKind.ENTERPRISE:
        return Q(holder_kind=holder_kind, enterprise=enterprise)
    return Q(holder_kind=holder_kind, applicant=applicant)


def issued_in_year(holder_kind, year, *, enterprise=None, applicant=None):
    return (
        Voucher.objects.filter(
            holder_filter(holder_kind, enterprise=enterprise, applicant=applicant), year=year
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )


def yearly_limit(holder_kind):
    return limits()[holder_kind]


@transaction.atomic
def voucher_issue(
    *, program, applicant, holder_kind, amount, enterprise=None, team_name="", on=None, actor=None
):
    """Issue a voucher to an enterprise or a team, within the holder's yearly limit."""
    from integrity.services import require_eligible

    on = on or timezone.localdate()
    amount = Decimal(amount)
    if program.funding_mode != FundingMode.VOUCHER:
        raise WorkflowError("wrong_funding_mode", _("The program does not use this funding mode."))
    if holder_kind == Voucher.HolderKind.ENTERPRISE:
        enterprise = enterprise or applicant.institution
        if enterprise is None:
            raise ValidationError({"holder_kind": _("An enterprise voucher needs an enterprise.")})
        team_name = ""
        lock = Voucher.objects.select_for_update().filter(enterprise=enterprise, year=on.year)
    else:
        if not team_name:
            raise ValidationError({"team_name": _("Name the team.")})
        enterprise = None
        lock = Voucher.objects.select_for_update().filter(applicant=applicant, year=on.year)
    list(lock)  # serialise issues to one holder
    require_eligible("apply", users=[applicant], institutions=[enterprise] if enterprise else [])
    limit = yearly_limit(holder_kind)
    used = issued_in_year(holder_kind, on.year, enterprise=enterprise, applicant=applicant)
    if used + amount > limit:
        raise ValidationError(
            {
                "amount": _("The yearly limit is %(limit)s; %(left)s is left this year.")
                % {"limit": limit, "left": max(limit - used, ZERO)}
            }
        )
    voucher = Voucher(
        program=program,
        holder_kind=holder_kind,
        enterprise=enterprise,
        team_name=team_name,
        applicant=applicant,
        year=on.year,
        amount=amount,
        issued_on=on,
    )
    voucher.full_clean()
    voucher.save()
    chain.record(
        "finance.voucher_issue",
        voucher,
        actor=actor or applicant,
        data={"holder_kind": holder_kind, "amount": amount, "year": on.year},
    )
    return voucher


def voucher_balance(voucher):
    redeemed = voucher.redemptions.aggregate(total=Sum("amount"))["total"] or ZERO
    return voucher.amount - redeemed


@transaction.atomic
def voucher_redeem(
    *, voucher, provider, contract_number, contract_amount, amount, on=None, actor=None
):
    """Redeem part of a voucher against a service contract (at most 50 % of it)."""
    on = on or timezone.localdate()
    voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    amount, contract_amount = Decimal(amount), Decimal(contract_amount)
    rules = limits()
    errors = {}
    if provider.admitted_on is None or provider.admitted_on > on:
        errors["provider"] = _("The provider is not admitted.")
    if amount > (contract_amount * rules["max_share"]).quantize(Decimal("0.01")):
        errors["amount"] = _("A voucher covers at most %(share)s %% of the contract.") % {
            "share": int(rules["max_share"] * 100)
        }
    elif amount > voucher_balance(voucher):
        errors["amount"] = _("Only %(left)s is left on the voucher.") % {
            "left": voucher_balance(voucher)
        }
    if errors:
        raise ValidationError(errors)
    redemption = Redemption(
        voucher=voucher,
        provider=provider,
        contract_number=contract_number,
        contract_amount=contract_amount,
        amount=amount,
        redeemed_on=on,
    )
    redemption.full_clean()
    redemption.save()
    chain.record(
        "finance.voucher_redeem",
        redemption,
        actor=actor or voucher.applicant,
        data={"voucher": voucher.pk, "amount": amount, "contract_amount": contract_amount},
    )
    return redemption


def quarter_end(year, quarter):
    if quarter == 4:
        return date(year, 12, 31)
    return date(year, quarter * 3 + 1, 1) - timedelta(days=1)


@transaction.atomic
def quarterly_payout(*, year, quarter, actor=None):
    """Pay every unpaid redemption made up to the end of the quarter, once per quarter."""
    if quarter not in (1, 2, 3, 4):
        raise ValidationError({"quarter": _("A quarter is 1 to 4.")})
    if VoucherPayout.objects.filter(year=year, quarter=quarter).exists():
        raise WorkflowError("already_paid", _("This quarter has already been paid."))
    due = list(
        Redemption.objects.select_for_update()
        .filter(payout__isnull=True, redeemed_on__lte=quarter_end(year, quarter))
        .order_by("pk")
    )
    total = sum((r.amount for r in due), ZERO)
    payout = VoucherPayout.objects.create(year=year, quarter=quarter, total=total)
    Redemption.objects.filter(pk__in=[r.pk for r in due]).update(payout=payout)
    chain.record(
        "finance.voucher_payout",
        payout,
        actor=actor,
        data={"redemptions": [r.pk for r in due], "total": total},
    )
    return payout
