"""Budget adjustments by the authority of domain.md, on hand-computed cases: moves among
other categories are the PI's call (approved at once, recorded); more equipment money waits
for the institution; a program may require the funder for every adjustment."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from audit.models import TransitionLog
from audit.workflow import WorkflowError, available_names
from finance import money
from finance.models import AdjustmentState, Authority, ProgramMoneyPolicy
from tests import factories as f

from .money_helpers import active

pytestmark = pytest.mark.django_db
D = Decimal
A = AdjustmentState


def request(project, user=None, **kw):
    data = {"from_category": "business", "to_category": "labor", "amount": "50000",
            "reason": "more students"}  # fmt: skip
    data.update(kw)
    return money.adjustment_request(
        project=project, user=user or project.application.applicant, **data
    )


def test_moves_among_other_categories_are_the_pis_call_recorded():
    project, _ = active()
    adj = request(project)
    assert adj.authority == Authority.PI and adj.state == A.APPROVED
    assert money.category_budget(project)["business"] == D("250000.00")
    assert money.category_budget(project)["labor"] == D("250000.00")
    log = TransitionLog.objects.get(object_id=adj.pk, transition="approve")
    assert log.actor == project.application.applicant
    assert TransitionLog.entries.filter(
        object_id=adj.pk, transition="finance.adjustment_requested"
    ).exists()


def test_more_equipment_money_waits_for_the_institution():
    project, officer = active()
    pi = project.application.applicant
    admin = f.institution_admin(project.application.institution)
    adj = request(project, from_category="business", to_category="equipment", amount="30000")
    assert adj.authority == Authority.INSTITUTION and adj.state == A.REQUESTED
    assert money.category_budget(project)["equipment"] == D("200000.00")
    assert available_names(adj, pi) == []
    assert available_names(adj, officer) == []
    assert set(available_names(adj, admin)) == {"approve", "reject"}
    adj = money.adjustment_transition(adj, "approve", user=admin)
    assert adj.state == A.APPROVED and adj.decided_at is not None
    assert money.category_budget(project)["equipment"] == D("230000.00")
    assert money.category_budget(project)["business"] == D("270000.00")
    # Less equipment money is a move among categories: the PI's call.
    back = request(project, from_category="equipment", to_category="indirect", amount="1")
    assert back.state == A.APPROVED


def test_rejection_needs_a_reason_and_changes_nothing():
    project, _ = active()
    admin = f.institution_admin(project.application.institution)
    adj = request(project, to_category="equipment")
    with pytest.raises(ValidationError):
        money.adjustment_transition(adj, "reject", user=admin)
    adj = money.adjustment_transition(adj, "reject", user=admin, comment="not justified")
    assert adj.state == A.REJECTED
    assert money.category_budget(project)["equipment"] == D("200000.00")


def test_program_flag_sends_every_adjustment_to_the_funder():
    project, officer = active()
    ProgramMoneyPolicy.objects.create(
        program=project.application.call.program, adjustments_need_funder=True
    )
    admin = f.institution_admin(project.application.institution)
    move = request(project)
    equipment = request(project, to_category="equipment", amount="1000")
    for adj in (move, equipment):
        assert adj.authority == Authority.FUNDER and adj.state == A.REQUESTED
        assert available_names(adj, admin) == []
        assert available_names(adj, project.application.applicant) == []
    assert money.adjustment_transition(move, "approve", user=officer).state == A.APPROVED
    assert money.category_budget(project)["labor"] == D("250000.00")


def test_agency_staff_decide_only_for_their_programs():
    agency, other = f.AgencyFactory(), f.AgencyFactory()
    program = f.ProgramFactory(agency=agency)
    project, _ = active(call=f.CallFactory(program=program))
    ProgramMoneyPolicy.objects.create(program=program, adjustments_need_funder=True)
    adj = request(project)
    assert available_names(adj, f.agency_staff(other)) == []
    assert money.adjustment_transition(adj, "approve", user=f.agency_staff(agency)).state == (
        A.APPROVED
    )


def test_cannot_move_more_than_the_category_holds_nor_ask_unless_pi():
    project, officer = active()
    with pytest.raises(ValidationError) as exc:
        request(project, amount="300000.01")
    assert "amount" in exc.value.message_dict
    request(project, amount="300000")
    assert money.category_budget(project)["business"] == D("0.00")
    with pytest.raises(WorkflowError):
        request(project, user=officer, from_category="labor", to_category="business")
    with pytest.raises(ValidationError):
        request(project, from_category="labor", to_category="labor")
