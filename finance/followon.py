"""Follow-on funding: what a grade opens (per program, as data), the program-scoped bar a
failed grade puts on the PI, and the check at submission of a follow-on proposal.

grants may not import finance, so the check is a submission validator that finance
registers in its ``AppConfig.ready()`` (``grants.services.register_submission_validator``).

A failed grade bars the PI from *the program* (domain.md). Integrity credit records bar from
every program, so the bar is kept here (``ProgramBar``) and checked by the validator, which
answers ``409 integrity_block`` like the integrity gate does.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain as audit_chain
from audit.workflow import WorkflowError
from grants.enums import PENDING_STATES, RUNNING_STATES

from .models import FollowOnRule, Grade, ProgramBar

CENT = Decimal("0.01")


@dataclass(frozen=True)
class FollowOn:
    eligible: bool
    max_amount: Decimal
    reason: str

    def as_dict(self):
        return {"eligible": self.eligible, "max_amount": f"{self.max_amount:.2f}",
                "reason": self.reason}  # fmt: skip


def rule_for(program, grade):
    """The program's own rule for ``grade``, else the default (program empty), else None."""
    rules = {
        r.program_id: r
        for r in FollowOnRule.objects.filter(
            Q(program=program) | Q(program__isnull=True), grade=grade
        )
    }
    return rules.get(program.pk) or rules.get(None)


def _add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def bar_in_force(user, program, on=None):
    return ProgramBar.objects.in_force(on).filter(user=user, program=program).first()


def follow_on(project):
    """May the PI ask for follow-on support after ``project``, up to what amount, and why."""
    from .evaluation import performance_grade

    program = project.application.call.program
    grade = performance_grade(project)
    zero = Decimal("0.00")
    if grade is None:
        return FollowOn(False, zero, _("The project has no performance grade yet."))
    rule = rule_for(program, grade)
    label = Grade(grade).label
    if rule is None or not rule.eligible:
        if grade == Grade.PASS:
            reason = _("Graded pass: follow-on support only through a new competitive call.")
        elif grade == Grade.FAIL:
            reason = _("Graded fail: the PI is barred from the program.")
        else:
            reason = _("Graded %(grade)s: this program offers no follow-on support for it.") % {
                "grade": label
            }
        return FollowOn(False, zero, reason)
    bar = bar_in_force(project.application.applicant, program)
    if bar is not None:
        return FollowOn(False, zero, _("The PI is barred from this program until %(day)s.") % {
            "day": bar.ends_on.isoformat()})  # fmt: skip
    used = project.follow_ons.filter(state__in=PENDING_STATES + RUNNING_STATES)
    if used.exists():
        return FollowOn(False, zero, _("A follow-on proposal for this project is already in "
                                       "progress or funded."))  # fmt: skip
    max_amount = (project.approved_budget * rule.max_share).quantize(CENT, rounding=ROUND_DOWN)
    return FollowOn(
        True,
        max_amount,
        _("Graded %(grade)s: follow-on support up to %(share)s %% of the award.")
        % {"grade": label, "share": f"{rule.max_share * 100:.0f}"},
    )


def apply_grade(*, project, grade, user):
    """The consequences of a grade: the program bar and the recovery of remaining funds."""
    program = project.application.call.program
    rule = rule_for(program, grade)
    if rule is None:
        return None
    bar = None
    if rule.bar_years:
        today = timezone.localdate()
        bar = ProgramBar.objects.create(
            user=project.application.applicant,
            program=program,
            project=project,
            starts_on=today,
            ends_on=_add_years(today, rule.bar_years),
            reason=_("Final evaluation of %(number)s graded %(grade)s.")
            % {"number": project.number, "grade": Grade(grade).label},
        )
        audit_chain.record(
            "finance.program_bar",
            bar,
            user,
            {"user": bar.user_id, "program": program.pk, "project": project.pk,
             "starts_on": bar.starts_on.isoformat(), "ends_on": bar.ends_on.isoformat()},
        )  # fmt: skip
    if rule.recover_funds:
        from .evaluation import _money

        recover = _money("recover_remaining")
        if recover is not None:
            recover(
                project, _("Final evaluation graded %(grade)s.") % {"grade": Grade(grade).label}
            )
    return bar


def _budget_total(application):
    total = application.budget_lines.aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0")


def check_submission(application, on=None):
    """Submission validator: the program bar, and a follow-on proposal's rule."""
    program = application.call.program
    bar = bar_in_force(application.applicant, program, on)
    if bar is not None:
        raise WorkflowError(
            "integrity_block",
            _("You are barred from applying to this program until %(day)s after a failed "
              "final evaluation.") % {"day": bar.ends_on.isoformat()},
        )  # fmt: skip
    predecessor = application.predecessor
    if predecessor is None:
        return
    previous = predecessor.application
    if previous.applicant_id != application.applicant_id:
        raise ValidationError(
            {"predecessor": [_("A follow-on proposal continues one of its PI's own projects.")]}
        )
    if previous.call.program_id != program.pk:
        raise ValidationError(
            {"predecessor": [_("A follow-on proposal is made to the same program.")]}
        )
    result = follow_on(predecessor)
    if not result.eligible:
        raise WorkflowError("limit_exceeded", result.reason)
    if _budget_total(application) > result.max_amount:
        raise ValidationError(
            {"budget": [_("A follow-on proposal may ask for at most %(amount)s.")
                        % {"amount": f"{result.max_amount:,.2f}"}]}
        )  # fmt: skip


def register():
    from grants.services import register_submission_validator

    register_submission_validator(check_submission)
