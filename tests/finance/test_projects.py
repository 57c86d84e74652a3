"""Budget approval after the award: line by line, cuts with reasons, the indirect cap of the
project's rule set (2021 and 2016) on hand-computed cases; milestones and KPIs; the chain."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from finance.models import KPI, ApprovedBudgetLine, ContractState, Milestone
from finance.projects import budget_approve, contract_for, kpis_set, milestones_set
from grants.models import Project
from programs.models import RuleSet
from tests import factories as f

pytestmark = pytest.mark.django_db

D = Decimal


def awarded_project(rule_set=None, budget=None, **app_kw):
    """A project in contracting, as the award leaves it (budget = the proposal's total)."""
    call_kw = {"rule_set": RuleSet.objects.get(code=rule_set)} if rule_set else {}
    if "call" not in app_kw:
        app_kw["call"] = f.CallFactory(**call_kw)
    application = f.ApplicationFactory(budget=budget, **app_kw)
    application = f.set_state(application, "awarded", number=f"BF-2027-{application.pk:06d}")
    total = sum((b.amount for b in application.budget_lines.all()), D("0.00"))
    return Project.objects.create(
        application=application, number=f"XM-2027-{application.pk:06d}", approved_budget=total
    )


def lines(**amounts):
    return {
        c: {"approved": v[0], "reason": v[1]} if isinstance(v, tuple) else {"approved": v}
        for c, v in amounts.items()
    }


def events(obj, name):
    return TransitionLog.entries.filter(object_id=obj.pk, transition=name)


def test_approval_unchanged_keeps_the_total_and_records_it():
    officer = f.officer()
    project = awarded_project(rule_set="2021")
    project = budget_approve(project=project, user=officer, lines={})
    assert project.approved_budget == D("850000.00")
    assert Project.objects.get(pk=project.pk).approved_budget == D("850000.00")
    rows = {r.category: r for r in ApprovedBudgetLine.objects.filter(project=project)}
    assert rows["indirect"].requested == rows["indirect"].approved == D("150000.00")
    entry = events(project, "finance.budget_approved").get()
    assert entry.actor == officer
    assert entry.data["total"] == "850000.00"
    assert entry.data["indirect_cap"] == "150000.00"  # 30 % of (700,000 − 200,000)


def test_2021_a_cut_needs_a_reason_and_lowers_the_indirect_cap():
    officer = f.officer()
    project = awarded_project(rule_set="2021")
    with pytest.raises(ValidationError) as exc:
        budget_approve(project=project, user=officer, lines=lines(business="250000"))
    assert "business_reason" in exc.value.message_dict
    # Business 300,000 → 250,000: base 450,000, cap 30 % = 135,000 < the 150,000 asked.
    with pytest.raises(ValidationError) as exc:
        budget_approve(
            project=project, user=officer, lines=lines(business=("250000", "too many trips"))
        )
    assert "135000.00" in exc.value.message_dict["indirect"][0]
    assert not ApprovedBudgetLine.objects.exists()
    project = budget_approve(
        project=project,
        user=officer,
        lines=lines(business=("250000", "too many trips"), indirect=("135000", "cap")),
    )
    assert project.approved_budget == D("785000.00")
    business = ApprovedBudgetLine.objects.get(project=project, category="business")
    assert (business.requested, business.approved, business.reason) == (
        D("300000.00"),
        D("250000.00"),
        "too many trips",
    )


def test_2016_cap_is_20_percent():
    officer = f.officer()
    project = awarded_project(rule_set="2016")
    # Base 500,000 × 20 % = 100,000: the 150,000 asked must be cut.
    with pytest.raises(ValidationError) as exc:
        budget_approve(project=project, user=officer, lines={})
    assert "100000.00" in exc.value.message_dict["indirect"][0]
    project = budget_approve(
        project=project, user=officer, lines=lines(indirect=("100000", "rule set 2016 cap"))
    )
    assert project.approved_budget == D("800000.00")


@pytest.mark.parametrize(
    ("rule_set", "cap"),
    [
        # base 12,000,000: 5M × 30 % + 5M × 25 % + 2M × 20 % = 3,150,000
        ("2021", D("3150000.00")),
        # 5M × 20 % + 5M × 15 % + 2M × 13 % = 2,010,000
        ("2016", D("2010000.00")),
    ],
)
def test_tiered_caps_on_a_large_project(rule_set, cap):
    officer = f.officer()
    budget = {
        "equipment": D("1000000.00"),
        "business": D("8000000.00"),
        "labor": D("4000000.00"),
        "indirect": cap + D("0.01"),
    }
    project = awarded_project(rule_set=rule_set, budget=budget)
    with pytest.raises(ValidationError):
        budget_approve(project=project, user=officer, lines={})
    project = budget_approve(project=project, user=officer, lines=lines(indirect=(cap, "cap")))
    assert project.approved_budget == D("13000000.00") + cap


def test_no_line_above_what_was_asked():
    project = awarded_project()
    with pytest.raises(ValidationError) as exc:
        budget_approve(project=project, user=f.officer(), lines=lines(labor="200000.01"))
    assert "labor" in exc.value.message_dict


def test_only_managers_approve():
    project = awarded_project()
    for user in (
        project.application.applicant,
        f.institution_admin(project.application.institution),
    ):
        with pytest.raises(WorkflowError) as exc:
            budget_approve(project=project, user=user, lines={})
        assert exc.value.code == "invalid_transition"
    staff_b = f.agency_staff(f.AgencyFactory())
    with pytest.raises(WorkflowError):
        budget_approve(project=project, user=staff_b, lines={})
    assert not ApprovedBudgetLine.objects.exists()


def test_agency_staff_approve_their_delegated_programs():
    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    project = awarded_project(call=f.CallFactory(program=f.ProgramFactory(agency=agency)))
    budget_approve(project=project, user=staff, lines={})
    assert ApprovedBudgetLine.objects.filter(project=project).count() == 4


def test_milestones_and_kpis_are_replaced_and_recorded():
    officer = f.officer()
    project = awarded_project()
    milestones_set(
        project=project,
        user=officer,
        milestones=[
            {"title": "样品制备", "due_on": "2027-06-30"},
            {"title": "", "due_on": ""},  # an empty form row is ignored
        ],
    )
    kpis_set(
        project=project,
        user=officer,
        kpis=[{"indicator": "SCI papers", "target_value": "5", "unit": "papers"}],
    )
    assert list(Milestone.objects.values_list("title", flat=True)) == ["样品制备"]
    assert KPI.objects.get().target_value == D("5.00")
    assert events(project, "finance.milestones_set").count() == 1
    assert events(project, "finance.kpis_set").get().data["kpis"][0]["indicator"] == "SCI papers"
    with pytest.raises(ValidationError) as exc:
        milestones_set(project=project, user=officer, milestones=[{"title": "x", "due_on": "soon"}])
    assert "milestones-0-due_on" in exc.value.message_dict
    assert Milestone.objects.count() == 1


def test_contract_is_created_as_draft():
    project = awarded_project()
    contract = contract_for(project)
    assert contract.state == ContractState.DRAFT
    assert contract_for(project) == contract
