"""The ledger reconciles: after any sequence of releases, holds, lifts and recoveries
(hypothesis), and the reconcile command names a project whose rows were tampered with."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import TransitionLog
from audit.workflow import WorkflowError, perform
from finance import ledger, money
from finance.models import Disbursement, DisbursementState, LedgerEntry
from grants.models import Project

from .money_helpers import active, bar_funds, lift

pytestmark = pytest.mark.django_db
D = Decimal
S = DisbursementState

STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["release", "hold", "lift", "recover", "bar", "unbar", "recheck", "midterm"]
        ),
        st.integers(min_value=0, max_value=2),
        st.decimals(min_value=D("0.01"), max_value=D("600000"), places=2),
    ),
    max_size=14,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_ledger_reconciles_after_any_sequence(steps):
    from django.core.exceptions import ValidationError

    project, officer = active()
    pi = project.application.applicant
    record = None
    expected_released = D("0.00")
    expected_recovered = D("0.00")
    for op, index, amount in steps:
        rows = list(Disbursement.objects.filter(project=project).order_by("seq"))
        d = rows[index]
        try:
            if op == "release":
                before = d.state
                d = money.release(d, user=officer)
                if before == S.SCHEDULED and d.state == S.RELEASED:
                    expected_released += d.amount
            elif op == "hold":
                money.hold(d, user=officer, reason="check")
            elif op == "lift":
                money.lift_hold(d, user=officer)
            elif op == "recover":
                money.recover(project, amount=amount, user=officer, reason="misused")
                expected_recovered += amount
            elif op == "bar" and record is None:
                record = bar_funds(project)
            elif op == "unbar" and record is not None:
                lift(record)
                record = None
            elif op == "recheck":
                # recheck_held pays every project's lifted holds, earlier examples' too.
                paid = [p for p in money.recheck_held() if p.project_id == project.pk]
                expected_released += sum((p.amount for p in paid), D("0"))
            elif op == "midterm" and project.state == "active":
                perform(project, "submit_midterm", user=pi)
                project = perform(project, "pass_midterm", user=officer)
        except (WorkflowError, ValidationError):
            pass
        project.refresh_from_db()
        assert ledger.check(project) == []
    b = ledger.balance(project)
    assert b.released == expected_released
    assert b.recovered == expected_recovered
    assert b.scheduled == b.released + b.held_now + b.pending + b.cancelled
    assert D("0") <= b.net <= b.approved
    # Held instalments keep their amount; the rows add up to the approved budget.
    total = sum(Disbursement.objects.filter(project=project).values_list("amount", flat=True))
    assert total == project.approved_budget
    # Every entry is in the audit chain.
    assert (
        TransitionLog.entries.filter(
            transition__startswith="finance.ledger.", object_id=project.pk
        ).count()
        == LedgerEntry.objects.filter(project=project).count()
    )


def test_reconcile_command_passes_on_a_clean_ledger():
    project, officer = active()
    money.release(Disbursement.objects.get(project=project, seq=1), user=officer)
    out = io.StringIO()
    call_command("reconcile_ledger", stdout=out)
    assert "1 project ledgers reconcile" in out.getvalue()


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE finance_disbursement SET amount = amount + 1 WHERE seq = 2",
        "UPDATE finance_ledgerentry SET amount = amount - 100 WHERE kind = 'released'",
        "DELETE FROM finance_ledgerentry WHERE kind = 'released'",
        "UPDATE finance_disbursement SET state = 'scheduled' WHERE seq = 1",
        "UPDATE grants_project SET approved_budget = approved_budget + 5",
    ],
)
def test_reconcile_command_names_a_tampered_project(tamper):
    clean, officer = active()
    project, _ = active(officer=officer)
    money.release(Disbursement.objects.get(project=project, seq=1), user=officer)
    money.release(Disbursement.objects.get(project=clean, seq=1), user=officer)
    other_ids = [clean.pk]
    where = f" AND project_id = {project.pk}" if "finance_" in tamper else ""
    if tamper.startswith("UPDATE grants_project"):
        where = f" WHERE id = {project.pk}"
    with connection.cursor() as cursor:
        cursor.execute(tamper + where)
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("reconcile_ledger", stderr=err)
    assert exc.value.returncode == 1
    assert project.number in str(exc.value)
    assert project.number in err.getvalue()
    assert Project.objects.get(pk=other_ids[0]).number not in str(exc.value)
