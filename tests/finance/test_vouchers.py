"""Innovation vouchers: yearly limits per enterprise and per team, the 50 % rule, provider
admission (2 years, no integrity record, 7-day posting), the quarterly payout."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from finance.models import Redemption, ServiceProvider, Voucher
from finance.vouchers import (
    admission_problems,
    limits,
    provider_admit,
    provider_post,
    provider_register,
    quarterly_payout,
    voucher_issue,
    voucher_redeem,
)
from programs.models import FundingMode
from tests import factories as f

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate


@pytest.fixture
def program():
    return f.ProgramFactory(funding_mode=FundingMode.VOUCHER)


def admitted_provider(**kw):
    provider = ServiceProvider.objects.create(
        name=kw.pop("name", "上海检测技术服务有限公司"),
        credit_code=kw.pop(
            "credit_code", f.make_credit_code(900 + ServiceProvider.objects.count())
        ),
        operating_since=date(2015, 1, 1),
        posted_on=TODAY() - timedelta(days=30),
        admitted_on=TODAY() - timedelta(days=20),
        **kw,
    )
    return provider


def test_limits_come_from_the_shared_data():
    rules = limits()
    assert rules["enterprise"] == D("500000.00")
    assert rules["team"] == D("100000.00")
    assert rules["max_share"] == D("0.50")


def test_enterprise_yearly_limit(program):
    applicant = f.applicant()
    enterprise = applicant.institution
    voucher_issue(program=program, applicant=applicant, holder_kind="enterprise", amount="300000")
    colleague = f.applicant(institution=enterprise)
    voucher_issue(program=program, applicant=colleague, holder_kind="enterprise", amount="200000")
    with pytest.raises(ValidationError) as err:
        voucher_issue(program=program, applicant=applicant, holder_kind="enterprise", amount="0.01")
    assert "amount" in err.value.message_dict
    assert Voucher.objects.filter(enterprise=enterprise).count() == 2
    # Next year the limit starts again.
    next_year = date(TODAY().year + 1, 1, 15)
    voucher_issue(
        program=program,
        applicant=applicant,
        holder_kind="enterprise",
        amount="500000",
        on=next_year,
    )


def test_team_yearly_limit(program):
    leader = f.applicant()
    voucher_issue(
        program=program,
        applicant=leader,
        holder_kind="team",
        team_name="智能材料团队",
        amount="60000",
    )
    with pytest.raises(ValidationError):
        voucher_issue(
            program=program,
            applicant=leader,
            holder_kind="team",
            team_name="智能材料团队",
            amount="40000.01",
        )
    voucher_issue(
        program=program,
        applicant=leader,
        holder_kind="team",
        team_name="智能材料团队",
        amount="40000",
    )
    assert sum(v.amount for v in Voucher.objects.filter(applicant=leader)) == D("100000.00")
    with pytest.raises(ValidationError) as err:
        voucher_issue(program=program, applicant=leader, holder_kind="team", amount="1")
    assert "team_name" in err.value.message_dict


def test_vouchers_only_under_a_voucher_program():
    with pytest.raises(WorkflowError):
        voucher_issue(
            program=f.ProgramFactory(),
            applicant=f.applicant(),
            holder_kind="enterprise",
            amount="1",
        )


def test_redemption_covers_at_most_half_the_contract(program):
    applicant = f.applicant()
    voucher = voucher_issue(
        program=program, applicant=applicant, holder_kind="enterprise", amount="200000"
    )
    provider = admitted_provider()
    with pytest.raises(ValidationError) as err:
        voucher_redeem(
            voucher=voucher,
            provider=provider,
            contract_number="HT-1",
            contract_amount="100000",
            amount="50000.01",
        )
    assert "amount" in err.value.message_dict
    redemption = voucher_redeem(
        voucher=voucher,
        provider=provider,
        contract_number="HT-1",
        contract_amount="100000",
        amount="50000",
    )
    assert redemption.amount == D("50000.00")
    # Never more than is left on the voucher: 150,000 left.
    with pytest.raises(ValidationError):
        voucher_redeem(
            voucher=voucher,
            provider=provider,
            contract_number="HT-2",
            contract_amount="400000",
            amount="150000.01",
        )
    voucher_redeem(
        voucher=voucher,
        provider=provider,
        contract_number="HT-2",
        contract_amount="400000",
        amount="150000",
    )
    assert Redemption.objects.filter(voucher=voucher).count() == 2


def test_redemption_needs_an_admitted_provider(program):
    voucher = voucher_issue(
        program=program, applicant=f.applicant(), holder_kind="enterprise", amount="1000"
    )
    provider = admitted_provider()
    ServiceProvider.objects.filter(pk=provider.pk).update(admitted_on=None)
    provider.refresh_from_db()
    with pytest.raises(ValidationError) as err:
        voucher_redeem(
            voucher=voucher,
            provider=provider,
            contract_number="HT",
            contract_amount="2000",
            amount="100",
        )
    assert "provider" in err.value.message_dict


def new_provider(operating_since, **kw):
    return ServiceProvider(
        name="新服务机构",
        credit_code=f.make_credit_code(777),
        operating_since=operating_since,
        **kw,
    )


def test_provider_must_have_operated_two_years():
    today = TODAY()
    young = new_provider(today.replace(year=today.year - 2) + timedelta(days=1))
    assert "operating_since" in admission_problems(young)
    with pytest.raises(ValidationError):
        provider_register(
            name=young.name, credit_code=young.credit_code, operating_since=young.operating_since
        )
    old_enough = new_provider(today.replace(year=today.year - 2))
    assert "operating_since" not in admission_problems(old_enough)


def test_provider_with_an_integrity_record_is_refused():
    institution = f.InstitutionFactory()
    f.CreditRecordFactory(subject_institution=institution)
    with pytest.raises(ValidationError) as err:
        provider_register(
            name=institution.name,
            credit_code=institution.credit_code,
            institution=institution,
            operating_since=date(2010, 1, 1),
        )
    assert "credit_code" in err.value.message_dict
    # Matched by credit code alone as well.
    f.CreditRecordFactory(subject_credit_code=f.make_credit_code(555))
    assert "credit_code" in admission_problems(
        ServiceProvider(credit_code=f.make_credit_code(555), operating_since=date(2010, 1, 1))
    )


def test_provider_is_posted_seven_days_before_it_joins(client):
    provider = provider_register(
        name="上海测试服务中心",
        credit_code=f.make_credit_code(321),
        operating_since=date(2012, 5, 1),
    )
    with pytest.raises(ValidationError) as err:
        provider_admit(provider=provider)
    assert "posted_on" in err.value.message_dict
    posted = TODAY() - timedelta(days=6)
    provider_post(provider=provider, on=posted)
    page = client.get(reverse("finance:providers"))
    assert provider.name in page.content.decode()  # public, no sign-in
    with pytest.raises(ValidationError):
        provider_admit(provider=provider)  # day 6 of 7
    provider_admit(provider=provider, on=posted + timedelta(days=7))
    provider.refresh_from_db()
    assert provider.admitted_on == posted + timedelta(days=7)
    assert TransitionLog.entries.filter(
        transition="finance.provider_admit", object_id=provider.pk
    ).exists()


def test_quarterly_payout_pays_each_redemption_once(program):
    voucher = voucher_issue(
        program=program,
        applicant=f.applicant(),
        holder_kind="enterprise",
        amount="100000",
        on=date(2027, 2, 1),
    )
    provider = admitted_provider()
    Provider = ServiceProvider  # noqa: N806
    Provider.objects.filter(pk=provider.pk).update(admitted_on=date(2026, 1, 1))
    provider.refresh_from_db()
    q1 = voucher_redeem(
        voucher=voucher,
        provider=provider,
        contract_number="A",
        contract_amount="20000",
        amount="10000",
        on=date(2027, 3, 31),
    )
    q2 = voucher_redeem(
        voucher=voucher,
        provider=provider,
        contract_number="B",
        contract_amount="20000",
        amount="7000",
        on=date(2027, 4, 1),
    )
    payout = quarterly_payout(year=2027, quarter=1)
    assert payout.total == D("10000.00")
    assert list(payout.redemptions.all()) == [q1]
    with pytest.raises(WorkflowError):
        quarterly_payout(year=2027, quarter=1)
    second = quarterly_payout(year=2027, quarter=2)
    assert list(second.redemptions.all()) == [q2]
    assert second.total == D("7000.00")


def test_voucher_page_shows_limit_errors_inline(program, login):
    applicant = f.applicant()
    client = login(applicant)
    url = reverse("finance:vouchers")
    response = client.post(
        url,
        {
            "action": "apply",
            "program": program.pk,
            "holder_kind": "team",
            "team_name": "T",
            "amount": "100000.01",
        },
    )
    assert response.status_code == 200
    assert 'id="id_amount_error"' in response.content.decode()
    assert not Voucher.objects.exists()
    client.post(
        url,
        {
            "action": "apply",
            "program": program.pk,
            "holder_kind": "team",
            "team_name": "T",
            "amount": "100000",
        },
    )
    assert Voucher.objects.get().amount == D("100000.00")
    assert login(f.applicant()).get(reverse("finance:providers_manage")).status_code == 404
