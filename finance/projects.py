"""Projects after the award: budget approval, milestones, KPIs and the contract's signatures.

Views, API views and tasks call these functions; every change to money or to the agreed
contract is written to the tamper-evident chain (``audit.chain.record``), every signature is
a logged transition (``audit.workflow.perform``).
"""

import hashlib
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from audit import chain, workflow
from audit.workflow import WorkflowError
from grants import rules as grant_rules
from grants.enums import DIRECT_CATEGORIES, LINE_ITEM_CATEGORIES, BudgetCategory
from grants.models import Project, ProjectState
from grants.selectors import READ_ALL_ROLES, team_application_ids
from programs.permissions import managed_programs

from .models import KPI, ApprovedBudgetLine, Contract, ContractState, Milestone

ZERO = Decimal("0.00")
DIRECT = DIRECT_CATEGORIES
CATEGORIES = [*LINE_ITEM_CATEGORIES, BudgetCategory.LUMP_SUM]


# --- reads -------------------------------------------------------------------------------


def project_visibility_q(user):
    """A Q keeping the projects ``user`` may read; None means all of them."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser or user.has_role(*READ_ALL_ROLES, Role.PROGRAM_OFFICER):
        return None
    q = Q(application__applicant=user)
    team_ids = team_application_ids(user)
    if team_ids:
        q |= Q(application_id__in=team_ids)
    if user.has_role(Role.INSTITUTION_ADMIN) and user.institution_id:
        q |= Q(application__institution_id=user.institution_id)
    if user.has_role(Role.AGENCY_STAFF):
        q |= Q(application__call__program__in=managed_programs(user))
    return q


def projects_visible_to(user, queryset=None):
    queryset = Project.objects.all() if queryset is None else queryset
    q = project_visibility_q(user)
    return queryset if q is None else queryset.filter(q)


def project_list(user):
    """The rows of a project table: everything a row shows, in a fixed number of queries."""
    return projects_visible_to(user).select_related(
        "application__call__program", "application__applicant", "application__institution"
    )


def project_detail(user, pk):
    """One project ``user`` may read, or ``Project.DoesNotExist`` (→ 404)."""
    return project_list(user).get(pk=pk)


def contract_for(project):
    """The project's contract, created (draft, over the project's period) on first use."""
    contract = Contract.objects.filter(project=project).first()
    if contract is None:
        contract, _created = Contract.objects.get_or_create(project=project)
    return contract


def requested_budget(project):
    """{category: requested amount} from the proposal."""
    return {line.category: line.amount for line in project.application.budget_lines.all()}


def approved_lines(project):
    """The approved budget, one entry per category (requested = approved until approved)."""
    lines = {line.category: line for line in project.approved_lines.all()}
    if lines:
        return [lines[c] for c in CATEGORIES if c in lines]
    requested = requested_budget(project)
    return [
        ApprovedBudgetLine(
            project=project, category=c, requested=requested[c], approved=requested[c]
        )
        for c in CATEGORIES
        if c in requested
    ]


def indirect_cap(project, approved):
    """The indirect-cost cap of the project's rule set for the approved direct costs."""
    call = project.application.call
    direct = sum((approved.get(c, ZERO) for c in DIRECT), ZERO)
    return call.rules.indirect_cap(
        direct, approved.get(BudgetCategory.EQUIPMENT, ZERO), pure_theory=call.pure_theory
    )


# --- checks ------------------------------------------------------------------------------


def _require_manager(project, user):
    if not grant_rules.manages_project(project, user):
        raise WorkflowError("invalid_transition", _("You may not change this project's contract."))


def _require_draft(project):
    """Budget, milestones and KPIs change only while the contract is an unsigned draft."""
    if project.state != ProjectState.CONTRACTING:
        raise WorkflowError(
            "invalid_transition", _("The project is no longer in contracting; nothing to change.")
        )
    contract = contract_for(project)
    if contract.state != ContractState.DRAFT:
        raise WorkflowError(
            "invalid_transition",
            _("The contract has been signed; its budget, milestones and targets are frozen."),
        )
    return contract


def _amount(value, field, errors):
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        errors[field] = [_("Enter an amount.")]
        return None
    if amount < 0:
        errors[field] = [_("The amount cannot be negative.")]
        return None
    return amount


# --- budget approval ---------------------------------------------------------------------


@transaction.atomic
def budget_approve(*, project, user, lines):
    """Approve the budget line by line.

    ``lines`` maps a category to ``{"approved": amount, "reason": text}``. Every category of
    the proposal must be given; an approved amount below the requested one needs a reason;
    none may exceed what was asked; the indirect line may not exceed the rule set's cap
    computed from the approved direct costs. Sets ``project.approved_budget``.
    """
    project = workflow.lock(project)
    _require_manager(project, user)
    _require_draft(project)
    requested = requested_budget(project)
    errors, approved, reasons = {}, {}, {}
    for category in CATEGORIES:
        if category not in requested:
            continue
        given = lines.get(category) or {}
        amount = _amount(given.get("approved", requested[category]), category, errors)
        if amount is None:
            continue
        reason = (given.get("reason") or "").strip()
        if amount > requested[category]:
            errors[category] = [
                _("At most the requested %(amount)s.") % {"amount": requested[category]}
            ]
        elif amount < requested[category] and not reason:
            errors[f"{category}_reason"] = [_("A cut needs a reason.")]
        approved[category], reasons[category] = amount, reason
    if not errors and BudgetCategory.INDIRECT in approved:
        cap = indirect_cap(project, approved)
        if approved[BudgetCategory.INDIRECT] > cap:
            errors[BudgetCategory.INDIRECT] = [
                _("Indirect costs may not exceed %(cap)s for the approved direct costs.")
                % {"cap": cap}
            ]
    if errors:
        raise ValidationError(errors)
    before = {line.category: str(line.approved) for line in project.approved_lines.all()}
    ApprovedBudgetLine.objects.filter(project=project).delete()
    ApprovedBudgetLine.objects.bulk_create(
        ApprovedBudgetLine(
            project=project,
            category=c,
            requested=requested[c],
            approved=approved[c],
            reason=reasons[c] if approved[c] < requested[c] else "",
        )
        for c in CATEGORIES
        if c in approved
    )
    total = sum(approved.values(), ZERO)
    previous_total = project.approved_budget
    Project.objects.filter(pk=project.pk).update(approved_budget=total)
    project.approved_budget = total
    chain.record(
        "finance.budget_approved",
        project,
        actor=user,
        data={
            "lines": {
                c: {
                    "requested": str(requested[c]),
                    "approved": str(approved[c]),
                    "reason": reasons[c],
                }
                for c in approved
            },
            "before": before,
            "total": str(total),
            "previous_total": str(previous_total),
            "indirect_cap": str(indirect_cap(project, approved)),
        },
    )
    return project


def _parse_rows(rows, fields):
    return [r for r in rows if any(str(r.get(f) or "").strip() for f in fields)]


@transaction.atomic
def milestones_set(*, project, user, milestones):
    """Replace the milestones: a list of ``{"title", "due_on"}`` (date or ISO text)."""
    project = workflow.lock(project)
    _require_manager(project, user)
    _require_draft(project)
    rows, errors = [], {}
    for i, row in enumerate(_parse_rows(milestones, ("title", "due_on"))):
        title = (row.get("title") or "").strip()
        due = row.get("due_on")
        if isinstance(due, str):
            from django.utils.dateparse import parse_date

            try:
                due = parse_date(due.strip())
            except ValueError:
                due = None
        if not title:
            errors[f"milestones-{i}-title"] = [_("Enter a title.")]
        if due is None:
            errors[f"milestones-{i}-due_on"] = [_("Enter a date (YYYY-MM-DD).")]
        rows.append(Milestone(project=project, title=title, due_on=due))
    if errors:
        raise ValidationError(errors)
    Milestone.objects.filter(project=project).delete()
    Milestone.objects.bulk_create(rows)
    chain.record(
        "finance.milestones_set",
        project,
        actor=user,
        data={"milestones": [{"title": m.title, "due_on": m.due_on.isoformat()} for m in rows]},
    )
    return rows


@transaction.atomic
def kpis_set(*, project, user, kpis):
    """Replace the measurable targets: a list of ``{"indicator", "target_value", "unit"}``."""
    project = workflow.lock(project)
    _require_manager(project, user)
    _require_draft(project)
    rows, errors = [], {}
    for i, row in enumerate(_parse_rows(kpis, ("indicator", "target_value", "unit"))):
        indicator = (row.get("indicator") or "").strip()
        if not indicator:
            errors[f"kpis-{i}-indicator"] = [_("Enter an indicator.")]
        value = _amount(row.get("target_value"), f"kpis-{i}-target_value", errors)
        rows.append(
            KPI(
                project=project,
                indicator=indicator,
                target_value=value if value is not None else ZERO,
                unit=(row.get("unit") or "").strip(),
            )
        )
    if errors:
        raise ValidationError(errors)
    KPI.objects.filter(project=project).delete()
    KPI.objects.bulk_create(rows)
    chain.record(
        "finance.kpis_set",
        project,
        actor=user,
        data={
            "kpis": [
                {"indicator": k.indicator, "target_value": str(k.target_value), "unit": k.unit}
                for k in rows
            ]
        },
    )
    return rows


# --- signatures --------------------------------------------------------------------------

SIGNERS = {
    "sign_pi": ("pi_signed_by", "pi_signed_at", "pi_sha256"),
    "sign_institution": ("institution_signed_by", "institution_signed_at", "institution_sha256"),
    "sign_officer": ("officer_signed_by", "officer_signed_at", "officer_sha256"),
}


def contract_transition(*, contract, name, user, comment=""):
    """Sign the contract (``sign_pi``, ``sign_institution``, ``sign_officer``).

    Each signature is a logged transition; the PDF as signed is rendered and its SHA-256
    kept. Nobody barred from receiving funds (the PI, the institution) may sign. The
    funder's signature stores the PDF and starts the project (``Project.sign``) in the same
    transaction.
    """
    from integrity.services import funds_gate

    from .pdf import render_contract_pdf

    if name not in SIGNERS:
        raise WorkflowError(
            "invalid_transition", _("Unknown transition '%(name)s'.") % {"name": name}
        )
    with transaction.atomic():
        current = workflow.lock(contract)
        project = current.project
        if name not in workflow.available_names(current, user):
            raise WorkflowError(
                "invalid_transition",
                _("'%(name)s' is not possible for you while the object is '%(state)s'.")
                % {"name": name, "state": current.state},
            )
        if project.state != ProjectState.CONTRACTING:
            raise WorkflowError("invalid_transition", _("The project is not in contracting."))
        if not project.approved_lines.exists():
            raise WorkflowError(
                "invalid_transition",
                _("The budget must be approved before the contract is signed."),
            )
        application = project.application
        funds_gate(users=[application.applicant], institutions=[application.institution])
        by_field, at_field, hash_field = SIGNERS[name]
        setattr(current, by_field, user)
        setattr(current, at_field, timezone.now())
        pdf = render_contract_pdf(current)
        sha = hashlib.sha256(pdf).hexdigest()
        setattr(current, hash_field, sha)
        current = workflow.perform(
            current, name, user=user, comment=comment, log_data={"sha256": sha}, locked=True
        )
        if current.state == ContractState.SIGNED:
            current.pdf.save(f"{project.number}.pdf", ContentFile(pdf), save=False)
            Contract.objects.filter(pk=current.pk).update(pdf=current.pdf.name)
            workflow.perform(
                project, "sign", user=user, comment=comment, log_data={"contract_sha256": sha}
            )
    return current


def project_transition(*, project, name, user, comment=""):
    """A step of the project machine. ``sign`` is not taken directly: the project starts
    with the funder's signature of the contract (:func:`contract_transition`)."""
    if name == "sign":
        raise WorkflowError(
            "invalid_transition",
            _("The project starts when the funder signs the contract."),
        )
    return workflow.perform(project, name, user=user, comment=comment)
