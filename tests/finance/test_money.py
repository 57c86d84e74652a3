"""Instalments: the schedule of the rule set, release only while the project is funded and
never while held, integrity holds that pay out once the bar lifts, closing the books."""

import datetime
from decimal import Decimal

import pytest

from audit.models import TransitionLog
from audit.workflow import WorkflowError, perform
from finance import ledger, money
from finance.models import Disbursement, DisbursementState, HoldKind, LedgerEntry
from finance.tasks_money import recheck_held_payments
from programs.models import RuleSet
from tests import factories as f

from .money_helpers import active, awarded, bar_funds, lift, to_final_review

pytestmark = pytest.mark.django_db
D = Decimal
S = DisbursementState


def instalments(project):
    return list(Disbursement.objects.filter(project=project).order_by("seq"))


def test_signing_schedules_the_rule_sets_instalments_first_one_due():
    project, officer = active()
    rows = instalments(project)
    assert [(r.milestone, r.amount, r.state) for r in rows] == [
        ("signing", D("510000.00"), S.SCHEDULED),
        ("midterm", D("255000.00"), S.SCHEDULED),
        ("acceptance", D("85000.00"), S.SCHEDULED),
    ]
    assert rows[0].due_at is not None and rows[1].due_at is None and rows[2].due_at is None
    assert ledger.balance(project).scheduled == D("850000.00")
    assert ledger.check(project) == []
    assert TransitionLog.entries.filter(transition="finance.ledger.scheduled").count() == 3
    # Signing twice (idempotent service) schedules nothing more.
    money.schedule_instalments(project)
    assert Disbursement.objects.filter(project=project).count() == 3


def test_shares_come_from_the_rule_set_and_cents_add_up():
    rule_set = RuleSet.objects.create(
        code="thirds", name="thirds", data={"instalments": ["0.3333", "0.3333", "0.3334"]}
    )
    call = f.CallFactory(rule_set=rule_set)
    project, _ = active(call=call, budget={"business": D("100000.01")})
    amounts = [r.amount for r in instalments(project)]
    assert amounts == [D("33330.00"), D("33330.00"), D("33340.01")]
    assert sum(amounts) == project.approved_budget
    assert ledger.check(project) == []


def test_release_only_by_a_manager_while_funded_and_due():
    project, officer = active()
    first, second, _third = instalments(project)
    with pytest.raises(WorkflowError) as exc:
        money.release(second, user=officer)  # not due before the mid-term check
    assert exc.value.code == "invalid_transition"
    with pytest.raises(WorkflowError):
        money.release(first, user=project.application.applicant)  # the PI may not
    d = money.release(first, user=officer, comment="first instalment")
    assert d.state == S.RELEASED and d.released_at is not None
    assert money.disbursed(project) == D("510000.00")
    assert TransitionLog.entries.filter(
        object_id=d.pk, transition="release", actor=officer
    ).exists()
    assert LedgerEntry.objects.filter(project=project, kind="released").count() == 1
    assert ledger.check(project) == []


def test_no_release_in_contracting_or_after_termination():
    officer = f.officer()
    project = awarded()
    money.schedule_instalments(project)  # scheduled early: still not payable
    first = instalments(project)[0]
    with pytest.raises(WorkflowError):
        money.release(first, user=officer)
    perform(project, "terminate", user=officer, comment="withdrawn")
    first.refresh_from_db()
    assert first.state == S.CANCELLED
    with pytest.raises(WorkflowError):
        money.release(first, user=officer)
    assert money.disbursed(project) == 0
    assert ledger.check(project) == []


def test_never_released_while_held():
    project, officer = active()
    first = instalments(project)[0]
    held = money.hold(first, user=officer, reason="audit query")
    assert held.state == S.HELD and held.hold_kind == HoldKind.MANUAL
    with pytest.raises(WorkflowError) as exc:
        money.release(held, user=officer)
    assert exc.value.code == "invalid_transition"
    assert money.disbursed(project) == 0
    lifted = money.lift_hold(held, user=officer, comment="answered")
    assert lifted.state == S.SCHEDULED
    assert money.release(lifted, user=officer).state == S.RELEASED
    assert ledger.check(project) == []


def test_bar_during_a_due_instalment_holds_then_pays_the_same_amount_when_lifted():
    project, officer = active()
    first = instalments(project)[0]
    record = bar_funds(project)
    d = money.release(first, user=officer)  # not an error: held, not lost
    assert d.state == S.HELD and d.hold_kind == HoldKind.INTEGRITY and d.release_ordered
    assert d.amount == D("510000.00")
    assert ledger.balance(project).held_now == D("510000.00")
    assert money.recheck_held() == []  # bar stands: still held
    with pytest.raises(WorkflowError) as exc:
        money.lift_hold(d, user=officer)
    assert exc.value.code == "integrity_block"
    lift(record)
    assert recheck_held_payments() == [d.pk]  # the periodic task
    d.refresh_from_db()
    assert d.state == S.RELEASED and d.amount == D("510000.00") and d.hold_kind == ""
    assert money.disbursed(project) == D("510000.00")
    kinds = list(
        LedgerEntry.objects.filter(disbursement=d).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["scheduled", "held", "released_from_hold", "released"]
    assert ledger.check(project) == []


def test_institution_bar_holds_too_and_periodic_task_waits_for_the_project_state():
    project, officer = active()
    record = bar_funds(institution=project.application.institution)
    d = money.release(instalments(project)[0], user=officer)
    assert d.state == S.HELD
    perform(project, "terminate", user=officer, comment="misconduct")
    d.refresh_from_db()
    assert d.state == S.CANCELLED  # closing cancels unpaid money, held or not
    lift(record)
    assert money.recheck_held() == []
    assert ledger.check(project) == []


def test_failed_check_holds_every_unpaid_instalment():
    project, officer = active()
    first, second, third = instalments(project)
    money.release(first, user=officer)
    held = money.hold_project(project, reason="mid-term check failed")
    assert {d.pk for d in held} == {second.pk, third.pk}
    assert ledger.balance(project).held_now == D("340000.00")
    money.lift_project_holds(project, comment="passed on re-check")
    assert ledger.balance(project).held_now == 0
    assert ledger.check(project) == []


def test_midterm_and_acceptance_make_instalments_due_and_completed_keeps_leftover():
    project, officer = active()
    pi = project.application.applicant
    first, second, third = instalments(project)
    money.release(first, user=officer)
    perform(project, "submit_midterm", user=pi)
    perform(project, "pass_midterm", user=officer)
    second.refresh_from_db()
    assert second.due_at is not None
    money.release(second, user=officer)
    money.expenditure_submit(
        project=project, user=pi, period_start=datetime.date(2027, 1, 1),
        period_end=datetime.date(2027, 12, 31),
        lines={"business": "300000", "labor": "200000", "equipment": "200000"},
    )  # fmt: skip
    project = to_final_review(project)
    perform(project, "accept", user=officer)
    b = ledger.balance(project)
    assert b.kept == D("65000.00")  # 765,000 released − 700,000 spent
    third.refresh_from_db()
    assert third.due_at is not None
    # The acceptance instalment is paid after acceptance.
    assert money.release(third, user=officer).state == S.RELEASED
    assert money.disbursed(project) == D("850000.00")
    assert ledger.check(project) == []


@pytest.mark.parametrize("ending", ["fail", "close"])
def test_failed_or_closed_recovers_what_was_not_spent(ending):
    project, officer = active()
    pi = project.application.applicant
    first = instalments(project)[0]
    money.release(first, user=officer)
    money.expenditure_submit(
        project=project, user=pi, period_start=datetime.date(2027, 1, 1),
        period_end=datetime.date(2027, 6, 30), lines={"business": "110000.50"},
    )  # fmt: skip
    project = to_final_review(project)
    perform(project, ending, user=officer, comment="targets missed")
    b = ledger.balance(project)
    assert b.recovered == D("399999.50")
    assert b.cancelled == D("340000.00")
    assert money.disbursed(project) == D("110000.50")
    assert ledger.check(project) == []


def test_recovery_at_most_what_is_out_and_recorded():
    from django.core.exceptions import ValidationError

    project, officer = active()
    money.release(instalments(project)[0], user=officer)
    with pytest.raises(ValidationError):
        money.recover(project, amount="510000.01", user=officer, reason="too much")
    entry = money.recover(project, amount="10000", user=officer, reason="misused")
    assert entry.amount == D("10000.00")
    event = TransitionLog.entries.get(transition="finance.ledger.recovered")
    assert event.actor == officer and event.data["amount"] == "10000.00"
    assert ledger.check(project) == []


def test_expenditure_summary_flags_over_budget_lines():
    project, officer = active()
    pi = project.application.applicant
    money.expenditure_submit(
        project=project, user=pi, period_start=datetime.date(2027, 1, 1),
        period_end=datetime.date(2027, 6, 30), lines={"equipment": "150000", "labor": "1"},
    )  # fmt: skip
    money.expenditure_submit(
        project=project, user=pi, period_start=datetime.date(2027, 7, 1),
        period_end=datetime.date(2027, 12, 31), lines={"equipment": "60000"},
    )  # fmt: skip
    rows = {r["category"]: r for r in money.expenditure_summary(project)}
    assert rows["equipment"]["spent"] == D("210000.00")
    assert rows["equipment"]["over"] is True
    assert rows["equipment"]["remaining"] == D("-10000.00")
    assert rows["labor"]["over"] is False
    with pytest.raises(WorkflowError):
        money.expenditure_submit(
            project=project, user=officer, period_start=datetime.date(2028, 1, 1),
            period_end=datetime.date(2028, 6, 30), lines={},
        )  # fmt: skip
