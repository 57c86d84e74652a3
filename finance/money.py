"""Money use cases: instalments and their release or hold, recoveries, closing, budget
adjustments and expenditure reports. Every change writes ledger entries (:mod:`finance.ledger`)
and an event in the audit chain, inside the change's transaction.
"""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain
from audit.workflow import WorkflowError, available_names, perform
from grants import rules as grant_rules
from grants.enums import BudgetCategory
from grants.models import PROJECT_OPEN_STATES, Project
from integrity import services as integrity

from .ledger import ZERO, balance
from .models.money import (
    AdjustmentState,
    Authority,
    BudgetAdjustment,
    Disbursement,
    DisbursementState,
    EntryKind,
    ExpenditureLine,
    ExpenditureReport,
    HoldKind,
    InstalmentDue,
    LedgerEntry,
    ProgramMoneyPolicy,
)

CENT = Decimal("0.01")
D = DisbursementState
K = EntryKind


def _money(value):
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def _entry(project, kind, amount, *, disbursement=None, actor=None, note=""):
    entry = LedgerEntry.objects.create(
        project=project,
        disbursement=disbursement,
        kind=kind,
        amount=amount,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        note=note[:500],
    )
    chain.record(
        f"finance.ledger.{kind}",
        project,
        actor,
        data={
            "entry": entry.pk,
            "kind": kind,
            "amount": str(amount),
            "disbursement": disbursement.pk if disbursement else None,
            "seq": disbursement.seq if disbursement else None,
        },
        comment=note,
    )
    return entry


def _lock(obj):
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def _system_step(obj, method, comment=""):
    """Run a transition as the system (periodic task, project closing): no permission check,
    logged by the post_transition signal with no actor."""
    getattr(obj, method)(by=None, comment=comment)
    obj.save()
    return obj


# --- reads -----------------------------------------------------------------------------------


def disbursed(project):
    """Money the funder paid to ``project`` and did not get back (released − recovered)."""
    b = balance(project)
    return b.released - b.recovered


def rules_for(project):
    return project.application.call.rules


def recipients(project):
    application = project.application
    return [application.applicant], [application.institution]


def bar_stands(project):
    """Is the PI or the institution barred from receiving funds now?"""
    users, institutions = recipients(project)
    try:
        integrity.funds_gate(users, institutions)
    except WorkflowError as exc:
        if exc.code == "integrity_block":
            return str(exc.detail)
        raise
    return ""


# --- the schedule ----------------------------------------------------------------------------


def instalment_amounts(total, shares):
    """Split ``total`` by ``shares`` in cents; the last instalment takes the rounding rest so
    the instalments add up to the total exactly."""
    total = _money(total)
    shares = [Decimal(str(s)) for s in shares]
    amounts = [_money(total * s) for s in shares[:-1]]
    amounts.append(total - sum(amounts, ZERO))
    return amounts


def schedule_instalments(project, user=None):
    """Create the project's instalments from its rule set (once); the first is due at once.

    Called when the project becomes active (``sign``). Idempotent.
    """
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk) if project.pk else project
        if Disbursement.objects.filter(project=project).exists():
            return list(Disbursement.objects.filter(project=project))
        shares = list(rules_for(project)["instalments"])
        if sum(Decimal(str(s)) for s in shares) != 1:
            raise ValidationError(_("The rule set's instalment shares do not add up to 100 %."))
        amounts = instalment_amounts(project.approved_budget, shares)
        now = timezone.now()
        created = []
        for seq, (share, amount) in enumerate(zip(shares, amounts, strict=True), start=1):
            if seq == 1:
                milestone = InstalmentDue.SIGNING
            elif seq == len(shares):
                milestone = InstalmentDue.ACCEPTANCE
            else:
                milestone = InstalmentDue.MIDTERM
            d = Disbursement.objects.create(
                project=project,
                seq=seq,
                milestone=milestone,
                share=Decimal(str(share)),
                amount=amount,
                due_at=now if milestone == InstalmentDue.SIGNING else None,
            )
            _entry(project, K.SCHEDULED, amount, disbursement=d, actor=user)
            created.append(d)
        return created


def mark_due(project, milestone):
    """Instalments of ``milestone`` become due (after the mid-term check, after acceptance)."""
    return Disbursement.objects.filter(
        project=project, milestone=milestone, due_at__isnull=True
    ).update(due_at=timezone.now())


# --- release, hold, lift ---------------------------------------------------------------------


def _hold(d, *, user, kind, reason, system=False, release_ordered=False):
    if system:
        _system_step(d, "hold", reason)
    else:
        d = perform(d, "hold", user=user, comment=reason, locked=True)
    Disbursement.objects.filter(pk=d.pk).update(
        hold_kind=kind, hold_reason=reason[:500], held_at=timezone.now(),
        release_ordered=release_ordered,
    )  # fmt: skip
    _entry(d.project, K.HELD, d.amount, disbursement=d, actor=user, note=reason)
    d.refresh_from_db()
    return d


def release(disbursement, *, user, comment=""):
    """Pay an instalment. If the PI or the institution is barred from receiving funds, the
    instalment is held (not lost, not an error) and paid when the bar lifts."""
    with transaction.atomic():
        d = _lock(disbursement)
        if "release" not in available_names(d, user):
            raise WorkflowError(
                "invalid_transition",
                _("This payment cannot be released now (state '%(state)s', project '%(p)s').")
                % {"state": d.state, "p": d.project.state},
            )
        bar = bar_stands(d.project)
        if bar:
            return _hold(
                d, user=user, kind=HoldKind.INTEGRITY, reason=bar, system=True,
                release_ordered=True,
            )  # fmt: skip
        d = perform(d, "release", user=user, comment=comment, locked=True)
        Disbursement.objects.filter(pk=d.pk).update(released_at=timezone.now())
        _entry(d.project, K.RELEASED, d.amount, disbursement=d, actor=user, note=comment)
        d.refresh_from_db()
        return d


def hold(disbursement, *, user, reason, kind=HoldKind.MANUAL):
    with transaction.atomic():
        d = _lock(disbursement)
        if not (reason or "").strip():
            raise ValidationError({"comment": [_("A reason is required for this step.")]})
        return _hold(d, user=user, kind=kind, reason=reason)


def _lift(d, *, user, comment, system=False):
    if system:
        _system_step(d, "release_hold", comment)
    else:
        d = perform(d, "release_hold", user=user, comment=comment, locked=True)
    _entry(d.project, K.RELEASED_FROM_HOLD, d.amount, disbursement=d, actor=user, note=comment)
    Disbursement.objects.filter(pk=d.pk).update(hold_kind="", hold_reason="", held_at=None)
    d.refresh_from_db()
    return d


def lift_hold(disbursement, *, user, comment=""):
    """A manager lifts a hold; an integrity hold stays while the bar stands (409)."""
    with transaction.atomic():
        d = _lock(disbursement)
        if d.state == D.HELD and d.hold_kind == HoldKind.INTEGRITY:
            bar = bar_stands(d.project)
            if bar:
                raise WorkflowError("integrity_block", bar)
        return _lift(d, user=user, comment=comment)


def transition(disbursement, name, *, user, comment=""):
    """The API's and pages' one entry point for a disbursement step by name."""
    if name == "release":
        return release(disbursement, user=user, comment=comment)
    if name == "hold":
        return hold(disbursement, user=user, reason=comment)
    if name == "release_hold":
        return lift_hold(disbursement, user=user, comment=comment)
    raise WorkflowError("invalid_transition", _("Unknown transition '%(name)s'.") % {"name": name})


def recheck_held():
    """Periodic: integrity holds whose bar has lifted are lifted, and paid if the officer had
    ordered the payment and the project may still be paid. Returns the instalments paid."""
    from .ledger import release_states

    paid = []
    held = Disbursement.objects.filter(state=D.HELD, hold_kind=HoldKind.INTEGRITY).select_related(
        "project__application__applicant", "project__application__institution"
    )
    for candidate in held:
        if bar_stands(candidate.project):
            continue
        with transaction.atomic():
            d = _lock(candidate)
            if d.state != D.HELD or d.hold_kind != HoldKind.INTEGRITY:
                continue
            ordered = d.release_ordered
            d = _lift(
                d, user=None, comment=_("The bar on receiving funds has lifted."), system=True
            )
            if ordered and d.due_at and d.project.state in release_states(d):
                _system_step(d, "release", _("Paid after the bar lifted."))
                Disbursement.objects.filter(pk=d.pk).update(
                    released_at=timezone.now(), release_ordered=False
                )
                _entry(d.project, K.RELEASED, d.amount, disbursement=d,
                       note=_("Paid after the bar lifted."))  # fmt: skip
                paid.append(d)
    return paid


def hold_project(project, *, reason, user=None, kind=HoldKind.CHECK):
    """Hold every unpaid instalment of ``project`` (failed check, sanction)."""
    with transaction.atomic():
        out = []
        for d in Disbursement.objects.select_for_update().filter(
            project=project, state=D.SCHEDULED
        ):
            out.append(_hold(d, user=user, kind=kind, reason=reason, system=True))
        return out


def lift_project_holds(project, *, user=None, kind=HoldKind.CHECK, comment=""):
    with transaction.atomic():
        out = []
        for d in Disbursement.objects.select_for_update().filter(
            project=project, state=D.HELD, hold_kind=kind
        ):
            out.append(_lift(d, user=user, comment=comment, system=True))
        return out


# --- recoveries and closing ------------------------------------------------------------------


def spent(project):
    total = ExpenditureLine.objects.filter(report__project=project).aggregate(s=Sum("amount"))
    return (total["s"] or ZERO).quantize(CENT)


def recover(project, *, amount, user=None, reason):
    """Money the funder takes back (leftover or misused); at most what is out."""
    amount = _money(amount)
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)
        if user is not None and not grant_rules.manages_project(project, user):
            raise WorkflowError("invalid_transition", _("Only the project's managers recover."))
        if amount <= 0:
            raise ValidationError({"amount": [_("Enter a positive amount.")]})
        if amount > balance(project).net:
            raise ValidationError(
                {"amount": [_("At most %(max)s can be recovered.") % {"max": balance(project).net}]}
            )
        return _entry(project, K.RECOVERED, amount, actor=user, note=reason)


def _cancel_unpaid(project, note):
    for d in Disbursement.objects.select_for_update().filter(
        project=project, state__in=[D.SCHEDULED, D.HELD]
    ):
        if d.state == D.HELD:
            _entry(project, K.RELEASED_FROM_HOLD, d.amount, disbursement=d, note=note)
        _system_step(d, "cancel", note)
        _entry(project, K.CANCELLED, d.amount, disbursement=d, note=note)


def close_passed(project, user=None):
    """Completed: the acceptance instalment falls due; money out and not spent is kept."""
    with transaction.atomic():
        mark_due(project, InstalmentDue.ACCEPTANCE)
        leftover = balance(project).net - spent(project)
        if leftover > 0:
            _entry(project, K.KEPT, leftover, actor=user,
                   note=_("Leftover kept by the institution for research."))  # fmt: skip


def close_unpassed(project, user=None):
    """Failed, closed without passing or terminated: unpaid instalments are cancelled and
    released money not spent is recovered."""
    with transaction.atomic():
        _cancel_unpaid(project, _("Project ended without passing."))
        remaining = balance(project).net - spent(project)
        if remaining > 0:
            _entry(project, K.RECOVERED, remaining, actor=user,
                   note=_("Remaining funds recovered at closing."))  # fmt: skip


def on_project_transition(sender, instance, name, source, target, method_kwargs=None, **kw):
    """post_transition receiver for Project (finance.apps)."""
    user = (method_kwargs or {}).get("by")
    if name == "sign":
        schedule_instalments(instance, user=user)
    elif name == "pass_midterm":
        mark_due(instance, InstalmentDue.MIDTERM)
    elif name == "accept":
        close_passed(instance, user=user)
    elif name in ("fail", "close", "terminate"):
        close_unpassed(instance, user=user)


# --- budget by category, adjustments ---------------------------------------------------------


def base_budget(project):
    """The approved budget per category (officer's lines, or the proposal's)."""
    lines = {line.category: line.approved for line in project.approved_lines.all()}
    if not lines:
        lines = {line.category: line.amount for line in project.application.budget_lines.all()}
    return lines


def category_budget(project):
    """Approved budget per category after the approved adjustments."""
    budget = defaultdict(lambda: ZERO, base_budget(project))
    for adj in project.adjustments.filter(state=AdjustmentState.APPROVED):
        budget[adj.from_category] -= adj.amount
        budget[adj.to_category] += adj.amount
    return dict(budget)


def adjustment_authority(project, to_category):
    policy = ProgramMoneyPolicy.objects.filter(
        program_id=project.application.call.program_id
    ).first()
    if policy and policy.adjustments_need_funder:
        return Authority.FUNDER
    if to_category == BudgetCategory.EQUIPMENT:
        return Authority.INSTITUTION
    return Authority.PI


def adjustment_request(*, project, user, from_category, to_category, amount, reason):
    """The PI asks to move money between categories. Moves the PI may decide are approved at
    once (recorded); more equipment money waits for the institution; a program that requires
    it sends every adjustment to the funder."""
    amount = _money(amount)
    errors = {}
    if not grant_rules.is_project_pi(project, user):
        raise WorkflowError("invalid_transition", _("Only the PI asks for budget adjustments."))
    if project.state not in PROJECT_OPEN_STATES:
        raise WorkflowError("invalid_transition", _("The project is closed."))
    if from_category == to_category:
        errors["to_category"] = [_("Choose another category.")]
    if amount <= 0:
        errors["amount"] = [_("Enter a positive amount.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Give the reason for the adjustment.")]
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)
        available = category_budget(project).get(from_category, ZERO)
        if amount > available:
            errors.setdefault("amount", []).append(
                _("At most %(max)s can be moved out of this category.") % {"max": available}
            )
        if errors:
            raise ValidationError(errors)
        authority = adjustment_authority(project, to_category)
        adj = BudgetAdjustment.objects.create(
            project=project,
            from_category=from_category,
            to_category=to_category,
            amount=amount,
            reason=reason,
            authority=authority,
            requested_by=user,
        )
        chain.record(
            "finance.adjustment_requested",
            adj,
            user,
            data={
                "project": project.pk,
                "from": from_category,
                "to": to_category,
                "amount": str(amount),
                "authority": authority,
            },  # fmt: skip
            comment=reason,
        )
        if authority == Authority.PI:
            adj = perform(adj, "approve", user=user, comment=_("The PI's call (recorded)."))
            BudgetAdjustment.objects.filter(pk=adj.pk).update(decided_at=timezone.now())
            adj.refresh_from_db()
        return adj


def adjustment_transition(adjustment, name, *, user, comment=""):
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=adjustment.project_id)
        adj = perform(adjustment, name, user=user, comment=comment)
        if name == "approve":
            budget = category_budget(adj.project)
            if budget.get(adj.from_category, ZERO) < 0:
                raise ValidationError({"amount": [_("The category no longer holds this amount.")]})
        BudgetAdjustment.objects.filter(pk=adj.pk).update(decided_at=timezone.now())
        adj.refresh_from_db()
        return adj


# --- expenditure reports ---------------------------------------------------------------------


def expenditure_submit(*, project, user, period_start, period_end, lines):
    """The PI reports spending per category for one period."""
    if not grant_rules.is_project_pi(project, user):
        raise WorkflowError("invalid_transition", _("Only the PI reports spending."))
    errors = {}
    if period_end < period_start:
        errors["period_end"] = [_("The period ends before it starts.")]
    clean = {}
    for category, value in lines.items():
        if category not in BudgetCategory.values:
            errors[category] = [_("Unknown category.")]
            continue
        try:
            amount = _money(value or 0)
        except ArithmeticError:
            errors[category] = [_("Enter an amount.")]
            continue
        if amount < 0:
            errors[category] = [_("Enter a positive amount.")]
        elif amount > 0:
            clean[category] = amount
    if ExpenditureReport.objects.filter(project=project, period_start=period_start).exists():
        errors["period_start"] = [_("A report for this period exists.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        report = ExpenditureReport.objects.create(
            project=project, period_start=period_start, period_end=period_end, submitted_by=user
        )
        ExpenditureLine.objects.bulk_create(
            ExpenditureLine(report=report, category=c, amount=a) for c, a in clean.items()
        )
        chain.record(
            "finance.expenditure_reported",
            project,
            user,
            data={
                "report": report.pk,
                "from": str(period_start),
                "to": str(period_end),
                "lines": {c: str(a) for c, a in clean.items()},
            },  # fmt: skip
        )
        return report


def expenditure_summary(project):
    """Rows per category: budget, spent, remaining, over budget."""
    budget = category_budget(project)
    spent_by = dict(
        ExpenditureLine.objects.filter(report__project=project)
        .values_list("category")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    rows = []
    for category, label in BudgetCategory.choices:
        b, s = budget.get(category, ZERO), (spent_by.get(category) or ZERO).quantize(CENT)
        if b == 0 and s == 0:
            continue
        rows.append(
            {
                "category": category,
                "label": label,
                "budget": b,
                "spent": s,
                "remaining": b - s,
                "over": s > b,
            }  # fmt: skip
        )
    return rows


def disbursed_many(projects):
    """``{project_id: released − recovered}`` for a page of projects in one query."""
    from .ledger import balances

    return {pk: b.released - b.recovered for pk, b in balances(projects).items()}
