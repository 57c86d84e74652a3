"""Use cases of the proposal: create, edit, submit, and every other step by name.

Views, API views and tasks call these; the rules live here and in ``models``/``rules``.
"""

import hashlib
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain as audit_chain
from audit import workflow
from audit.workflow import WorkflowError
from config.uploads import PDF, check_upload
from integrity.models import Action
from integrity.services import check_eligibility, require_eligible
from outbox.dispatch import enqueue
from programs.models import CATEGORY_PREFIX

from . import tasks
from .enums import (
    DIRECT_CATEGORIES,
    LINE_ITEM_CATEGORIES,
    PENDING_STATES,
    RUNNING_STATES,
    ApplicationState,
    BudgetCategory,
)
from .models import (
    Application,
    Attachment,
    BudgetLine,
    ExpertToAvoid,
    NumberSequence,
    ObjectionState,
    Project,
    TeamMember,
)

S = ApplicationState
EDITABLE_STATES = {S.DRAFT}
CONTENT_FIELDS = (
    "title", "abstract", "keywords", "title_en", "abstract_en", "keywords_en", "discipline",
)  # fmt: skip


def _require_editable(application):
    if application.state not in EDITABLE_STATES:
        raise WorkflowError(
            "invalid_transition",
            _("Only a draft can be changed; this proposal is %(state)s.")
            % {"state": application.get_state_display()},
        )


def application_create(*, applicant, call, **fields):
    if applicant.institution_id is None:
        raise ValidationError(
            {"institution": [_("Your account has no host institution; ask its research office.")]}
        )
    if not call.is_open():
        raise WorkflowError("call_closed", _("This call is not open for proposals."))
    # Gate (issue 4): the PI and the host institution may apply (409 integrity_block).
    require_eligible(
        Action.APPLY, users=[applicant], institutions=[applicant.institution], viewer=applicant
    )
    application = Application(
        call=call,
        applicant=applicant,
        institution_id=applicant.institution_id,
        **{k: v for k, v in fields.items() if k in CONTENT_FIELDS},
    )
    application.full_clean(exclude=["state"])  # protected FSM field: set by transitions only
    application.save()
    return application


def application_update(*, application, **fields):
    _require_editable(application)
    for key in CONTENT_FIELDS:
        if key in fields:
            setattr(application, key, fields[key])
    application.full_clean(exclude=["state"])  # protected FSM field: set by transitions only
    application.save()
    return application


def team_set(*, application, members):
    """Replace the team with ``members``: a list of (user, role)."""
    _require_editable(application)
    seen = set()
    for user, _role in members:
        if user.pk == application.applicant_id:
            raise ValidationError({"team": [_("The PI leads the proposal and is not listed.")]})
        if user.pk in seen:
            raise ValidationError({"team": [_("%(user)s is listed twice.") % {"user": user}]})
        seen.add(user.pk)
    with transaction.atomic():
        application.team.all().delete()
        TeamMember.objects.bulk_create(
            TeamMember(application=application, user=user, role=role) for user, role in members
        )


def indirect_cap(application, lines):
    """The indirect-cost cap for the direct costs in ``lines`` (category → amount)."""
    direct = sum((Decimal(lines.get(c, 0)) for c in DIRECT_CATEGORIES), Decimal(0))
    return application.call.rules.indirect_cap(
        direct, Decimal(lines.get(BudgetCategory.EQUIPMENT, 0)),
        pure_theory=application.call.pure_theory,
    )  # fmt: skip


def budget_errors(application, lines):
    """Field errors for a budget (category → Decimal), against the call and rule set."""
    call = application.call
    errors = []
    if call.lump_sum:
        if set(lines) != {BudgetCategory.LUMP_SUM}:
            errors.append(_("A lump-sum call takes one budget line, category lump_sum."))
    else:
        unknown = set(lines) - set(LINE_ITEM_CATEGORIES)
        if unknown:
            errors.append(
                _("Unknown budget categories: %(c)s.") % {"c": ", ".join(sorted(unknown))}
            )
        cap = indirect_cap(application, lines)
        if Decimal(lines.get(BudgetCategory.INDIRECT, 0)) > cap:
            errors.append(
                _("Indirect costs may not exceed %(cap)s CNY under the rule set's tiers.")
                % {"cap": f"{cap:,.2f}"}
            )
    if any(Decimal(v) < 0 for v in lines.values()):
        errors.append(_("Amounts cannot be negative."))
    total = sum((Decimal(v) for v in lines.values()), Decimal(0))
    if total > call.max_budget:
        errors.append(
            _("The total %(total)s CNY exceeds the call's cap of %(cap)s CNY.")
            % {"total": f"{total:,.2f}", "cap": f"{call.max_budget:,.2f}"}
        )
    elif call.sum_kind == call.SumKind.FIXED and lines and total != call.max_budget:
        errors.append(
            _("This call funds a fixed sum: the total must be %(cap)s CNY.")
            % {"cap": f"{call.max_budget:,.2f}"}
        )
    return errors


def budget_set(*, application, lines, by=None):
    """Replace the budget. ``lines`` maps category → amount; ``by`` (who) goes to the audit
    chain with the new lines.

    On a line-item call the indirect line is computed at its cap from the direct costs when
    it is not given; when given it must stay within the cap.
    """
    _require_editable(application)
    lines = {BudgetCategory(k): Decimal(str(v)) for k, v in lines.items() if v not in (None, "")}
    if not application.call.lump_sum and BudgetCategory.INDIRECT not in lines:
        lines[BudgetCategory.INDIRECT] = indirect_cap(application, lines)
    errors = budget_errors(application, lines)
    if errors:
        raise ValidationError({"budget": errors})
    with transaction.atomic():
        application.budget_lines.all().delete()
        BudgetLine.objects.bulk_create(
            BudgetLine(application=application, category=c, amount=a) for c, a in lines.items()
        )
        audit_chain.record(
            "grants.budget_set",
            application,
            by,
            {
                "lines": {str(c): str(a) for c, a in lines.items()},
                "total": str(sum(lines.values())),
            },
        )
    return lines


def experts_to_avoid_set(*, application, experts):
    """Replace the experts to avoid: dicts with name, institution, reason (and user)."""
    _require_editable(application)
    limit = int(application.call.rules["max_experts_to_avoid"])
    if len(experts) > limit:
        raise ValidationError(
            {"experts_to_avoid": [_("Name at most %(n)d experts to avoid.") % {"n": limit}]}
        )
    for expert in experts:
        if not (expert.get("reason") or "").strip():
            raise ValidationError(
                {"experts_to_avoid": [_("Give a reason for each expert to avoid.")]}
            )
    with transaction.atomic():
        application.experts_to_avoid.all().delete()
        ExpertToAvoid.objects.bulk_create(
            ExpertToAvoid(application=application, **expert) for expert in experts
        )


def attachment_add(*, application, uploaded_by, title, file):
    """Store a PDF attachment privately; anything else is refused by its content."""
    _require_editable(application)
    check_upload(file, "file", (PDF,), max_bytes=settings.ATTACHMENT_MAX_BYTES)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    attachment = Attachment(
        application=application,
        title=title or file.name,
        original_name=file.name[:255],
        size=file.size,
        sha256=digest.hexdigest(),
        uploaded_by=uploaded_by,
    )
    attachment.file.save(f"{digest.hexdigest()[:16]}.pdf", file, save=False)
    attachment.save()
    return attachment


def attachment_remove(*, attachment):
    _require_editable(attachment.application)
    attachment.file.delete(save=False)
    attachment.delete()


# --- submission ---------------------------------------------------------------------------


def completeness_errors(application):
    errors = {}
    if not application.title.strip():
        errors["title"] = [_("A title is required.")]
    if not application.abstract.strip():
        errors["abstract"] = [_("An abstract is required.")]
    if not application.keywords:
        errors["keywords"] = [_("Give at least one keyword.")]
    lines = {line.category: line.amount for line in application.budget_lines.all()}
    if not lines or sum(lines.values()) <= 0:
        errors["budget"] = [_("A budget is required.")]
    else:
        budget = budget_errors(application, lines)
        if budget:
            errors["budget"] = budget
    return errors


def _check_limits(application):
    applicant = application.applicant
    others = Application.objects.filter(applicant=applicant).exclude(pk=application.pk)
    if (
        application.call.one_proposal_per_pi
        and others.filter(call=application.call, state__in=PENDING_STATES + RUNNING_STATES).exists()
    ):
        raise WorkflowError(
            "limit_exceeded", _("This call takes one proposal per principal investigator.")
        )
    limit = int(application.call.rules["max_active_projects"])  # JSON may hold "2"
    active = others.filter(state__in=PENDING_STATES + RUNNING_STATES).count()
    if active >= limit:
        raise WorkflowError(
            "limit_exceeded",
            _("You already lead %(n)d proposals or projects in progress; the limit is %(limit)d.")
            % {"n": active, "limit": limit},
        )


def _check_integrity(application, action=Action.APPLY, viewer=None):
    members = [m.user for m in application.team.select_related("user")]
    result = check_eligibility(
        action, users=[application.applicant, *members], institutions=[application.institution],
        viewer=viewer, roles=_integrity_roles(application, members),
    )  # fmt: skip
    if not result.allowed:
        raise WorkflowError("integrity_block", " ".join(result.reasons))


def _next_number(application, moment):
    prefix = CATEGORY_PREFIX[application.call.program.category]
    year = timezone.localtime(moment).year
    NumberSequence.objects.bulk_create(
        [NumberSequence(prefix=prefix, year=year)], ignore_conflicts=True
    )
    seq = NumberSequence.objects.select_for_update().get(prefix=prefix, year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{prefix}-{year}-{seq.last:06d}"


def application_submit(*, application, user, comment=""):
    """Submit a draft: window, completeness, limits, integrity; then number and log it."""
    with transaction.atomic():
        application = workflow.lock(application)
        if "submit" not in workflow.available_names(application, user):
            raise WorkflowError(
                "invalid_transition",
                _("This proposal cannot be submitted by you in state %(state)s.")
                % {"state": application.get_state_display()},
            )
        # Serialise one PI's submissions so the limit on concurrent work cannot be raced.
        type(application.applicant)._default_manager.select_for_update().get(
            pk=application.applicant_id
        )
        now = timezone.now()
        if not application.call.is_open(now):
            raise WorkflowError("call_closed", _("The call's window is closed."))
        errors = completeness_errors(application)
        if errors:
            raise ValidationError(errors)
        _check_limits(application)
        _check_integrity(application, viewer=user)
        run_submission_validators(application)
        if not application.number:
            application.number = _next_number(application, now)
        application.submitted_at = now
        application = workflow.perform(
            application, "submit", user=user, comment=comment, locked=True,
            log_data={"number": application.number},
        )  # fmt: skip
        pk = application.pk
        enqueue(tasks.notify_transition, pk, "submit")
    return application


def application_endorse(*, application, user, comment=""):
    """The institution vouches for the proposal; its people and itself must still be clear."""
    with transaction.atomic():
        application = workflow.lock(application)
        if "endorse" in workflow.available_names(application, user):
            _check_integrity(application, viewer=user)
        application = workflow.perform(
            application, "endorse", user=user, comment=comment, locked=True
        )
        pk = application.pk
        enqueue(tasks.notify_transition, pk, "endorse")
    return application


SPECIAL = {"submit": application_submit, "endorse": application_endorse}


def application_transition(*, application, name, user, comment=""):
    """Run any step of the proposal by its public name (api.md's transition names)."""
    if name in SPECIAL:
        return SPECIAL[name](application=application, user=user, comment=comment)
    with transaction.atomic():
        application = workflow.perform(application, name, user=user, comment=comment)
        pk = application.pk
        enqueue(tasks.notify_transition, pk, name)
    return application


# --- decision, public notice and award ----------------------------------------------------
#
# ``approve`` opens the public notice (公示); ``award`` waits for its end and for every
# objection to be resolved, then creates the Project; ``revoke`` follows an upheld objection.
# The decision mail to the PI (with the reviews, anonymised) is sent by ``review.decisions``
# on the transition signal, so approve/reject/revoke send no generic mail here.


def _refuse_unless_available(application, name, user):
    if name not in workflow.available_names(application, user):
        raise WorkflowError(
            "invalid_transition",
            _("'%(name)s' is not possible for you while the proposal is '%(state)s'.")
            % {"name": name, "state": application.get_state_display()},
        )


def application_approve(*, application, user, comment=""):
    """Approve for funding: the public notice runs for the call's ``effective_notice_days``
    from now (0 days: no notice, award may follow at once)."""
    from datetime import timedelta

    with transaction.atomic():
        application = workflow.lock(application)
        _refuse_unless_available(application, "approve", user)
        now = timezone.now()
        days = int(application.call.effective_notice_days or 0)
        application.notice_starts_at = now
        application.notice_ends_at = now + timedelta(days=days)
        application = workflow.perform(
            application, "approve", user=user, comment=comment, locked=True,
            log_data={"notice_ends_at": application.notice_ends_at.isoformat()},
        )  # fmt: skip
    return application


def application_reject(*, application, user, comment=""):
    """Reject after review, with a reason the applicant reads in the decision mail."""
    with transaction.atomic():
        application = workflow.perform(application, "reject", user=user, comment=comment)
    return application


def notice_open_reason(application, now=None):
    """Why ``award`` must wait (the window runs, an objection is open), or None."""
    now = now or timezone.now()
    if application.notice_ends_at is not None and now < application.notice_ends_at:
        return _("The public notice runs until %(end)s; award follows its end.") % {
            "end": timezone.localtime(application.notice_ends_at).strftime("%Y-%m-%d %H:%M")
        }
    if application.objections.filter(state=ObjectionState.OPEN).exists():
        return _("An objection to this proposal is still open; the integrity officer must "
                 "resolve it before the award.")  # fmt: skip
    return None


def application_award(*, application, user, comment=""):
    """Award after the notice: creates the Project (number and approved budget from the
    proposal) in the same transaction. ``409 notice_open`` while the window runs or an
    objection is open."""
    with transaction.atomic():
        application = workflow.lock(application)
        _refuse_unless_available(application, "award", user)
        reason = notice_open_reason(application)
        if reason:
            raise WorkflowError("notice_open", reason)
        _check_award_funds(application, user)
        application = workflow.perform(
            application, "award", user=user, comment=comment, locked=True
        )
        Project.objects.create(
            application=application,
            number=application.number,
            approved_budget=application.total_budget,
        )
        pk = application.pk
        enqueue(tasks.notify_transition, pk, "award")
    return application


def application_revoke(*, application, user, comment=""):
    """Revoke an approval in notice (→ rejected) once an objection to it has been upheld."""
    with transaction.atomic():
        application = workflow.lock(application)
        _refuse_unless_available(application, "revoke", user)
        if not application.objections.filter(state=ObjectionState.UPHELD).exists():
            raise WorkflowError(
                "invalid_transition",
                _("Revoke follows an objection upheld by the integrity officer; there is none."),
            )
        application = workflow.perform(
            application, "revoke", user=user, comment=comment, locked=True
        )
    return application


SPECIAL.update(
    {
        "approve": application_approve,
        "reject": application_reject,
        "award": application_award,
        "revoke": application_revoke,
    }
)


# --- credit and gates ---
#
# Every gate asks integrity.services; a refusal is ``409 integrity_block`` whose reason is
# worded for the person acting (their own record in full, anyone else's by their part).


def _integrity_roles(application, members=()):
    """How a refusal names the people of ``application`` (never by name to others)."""
    roles = {m.pk: _("a team member") for m in members}
    roles[application.applicant_id] = _("the principal investigator")
    return roles


def _check_award_funds(application, user):
    """Award gate: the PI and the institution may receive funds (409 integrity_block)."""
    require_eligible(
        Action.RECEIVE_FUNDS,
        users=[application.applicant],
        institutions=[application.institution],
        viewer=user,
        roles=_integrity_roles(application),
    )


# --- submission validators: checks other apps add without grants importing them (finance's
# follow-on rule and program bars register here in their AppConfig.ready()) ---
SUBMISSION_VALIDATORS = []


def register_submission_validator(validator):
    """``validator(application)`` raises WorkflowError / ValidationError to refuse a submission."""
    if validator not in SUBMISSION_VALIDATORS:
        SUBMISSION_VALIDATORS.append(validator)
    return validator


def run_submission_validators(application):
    for validator in SUBMISSION_VALIDATORS:
        validator(application)
