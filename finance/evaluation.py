"""Use cases of the mid-term check and the final evaluation, the performance grade, the
result notice and the mails that tell the PI every result.

Views and API views call these. Project transitions run through ``audit.workflow.perform``;
money is touched only through ``finance.money`` (looked up lazily: hold, lift, recover).
"""

import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.roles import Role
from audit import workflow
from audit.workflow import WorkflowError
from config.uploads import PDF, PDF_OR_IMAGE, check_upload
from grants import rules as grant_rules
from grants.models import Project, ProjectState
from grants.selectors import applications_visible_to
from outbox.dispatch import enqueue

from .models import (
    FinalEvaluation,
    Grade,
    MidtermDecision,
    MidtermReport,
    Outcome,
    PanelOpinion,
    STReport,
)
from .models.evaluation import OUTCOME_TRANSITION

#: Days the result notice (结果公示) stays public (domain.md).
RESULT_NOTICE_DAYS = 5
#: The PI's uploads the final evaluation requires (domain.md), besides the S&T report.
FINAL_INPUTS = ("acceptance_application", "contract", "self_evaluation", "audit_report")
MIDTERM_DECISIONS = (MidtermDecision.PASSED, MidtermDecision.HOLD, MidtermDecision.TERMINATE)


# --- who sees what ---------------------------------------------------------------------


def projects_visible_to(user, queryset=None):
    """Projects whose proposal ``user`` may read: the PI and team, the institution's research
    office (its projects' outcomes), officers, agency staff of delegated programs, auditors."""
    queryset = Project.objects.all() if queryset is None else queryset
    return queryset.filter(application__in=applications_visible_to(user))


def project_for(user, pk):
    """One project ``user`` may read, or ``Project.DoesNotExist`` (404)."""
    return projects_visible_to(
        user, Project.objects.select_related("application__call__program", "application__applicant")
    ).get(pk=pk)


def can_decide(project, user):
    """The project's officer (or agency staff of its delegated program), never its PI or team."""
    return bool(grant_rules.manages_project(project, user)) and not grant_rules.is_party(
        project.application, user
    )


def _require_manager(project, user):
    if not can_decide(project, user):
        raise PermissionDenied(_("Only the project's program officer may decide this."))


def _require_pi(project, user):
    if not grant_rules.is_project_pi(project, user):
        raise PermissionDenied(_("Only the principal investigator may do this."))


def _money(name):
    """``finance.money.<name>`` if the money part provides it, else None."""
    try:
        from finance import money
    except ImportError:
        return None
    return getattr(money, name, None)


def _hold(project, user, reason):
    """Hold the project's unpaid instalments (``finance.money``, if present)."""
    hold = _money("hold_pending")
    if hold is not None:
        return hold(project, reason)
    hold = _money("hold_project")
    if hold is not None:
        return hold(project, reason=reason, user=user)
    return None


def _lift_holds(project, user, comment):
    lift = _money("lift_project_holds")
    if lift is not None:
        return lift(project, user=user, comment=comment)
    return None


def _notify(project, kind):
    enqueue(notify_result, project.pk, kind)


# --- mid-term check --------------------------------------------------------------------


def latest_midterm(project):
    return project.midterm_reports.order_by("-submitted_at", "-id").first()


def _check_content(errors, name, upload, allowed):
    """Note on ``errors`` when ``upload``'s content (not its name) is none of ``allowed``."""
    try:
        check_upload(upload, name, allowed)
    except ValidationError as exc:
        errors.update(exc.message_dict)


def midterm_submit(*, project, user, text, file):
    """The PI submits the mid-term report. From ``active`` this is the ``submit_midterm``
    transition; after a failed check that held the money, a revised report is filed while
    the project stays in mid-term review."""
    errors = {}
    if not (text or "").strip():
        errors["text"] = [_("Write the report.")]
    if not file:
        errors["file"] = [_("Attach the report as PDF.")]
    else:
        _check_content(errors, "file", file, (PDF,))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        project = workflow.lock(project)
        _require_pi(project, user)
        last = latest_midterm(project)
        revising = (
            project.state == ProjectState.MIDTERM_REVIEW
            and last is not None
            and last.decision == MidtermDecision.HOLD
        )
        if project.state != ProjectState.ACTIVE and not revising:
            raise WorkflowError(
                "invalid_transition",
                _("A mid-term report cannot be submitted while the project is %(state)s.")
                % {"state": project.get_state_display()},
            )
        if (
            project.state == ProjectState.ACTIVE
            and project.midterm_reports.filter(decision=MidtermDecision.PASSED).exists()
        ):
            raise WorkflowError("invalid_transition", _("The mid-term check has already passed."))
        report = MidtermReport.objects.create(
            project=project, text=text, file=file, submitted_by=user
        )
        if not revising:
            workflow.perform(project, "submit_midterm", user=user, locked=True)
        _notify(project, "midterm_submitted")
    return report


def midterm_decide(*, project, user, decision, comment="", expert_opinion=""):
    """The officer decides on the latest report (with an expert's opinion if one was asked):
    pass → back to ``active``; hold → the money is held until a revised report passes;
    terminate → the project ends."""
    if decision not in MIDTERM_DECISIONS:
        raise ValidationError({"decision": [_("Choose pass, hold or terminate.")]})
    if decision != MidtermDecision.PASSED and not (comment or "").strip():
        raise ValidationError({"comment": [_("A reason is required for this step.")]})
    with transaction.atomic():
        project = workflow.lock(project)
        _require_manager(project, user)
        report = latest_midterm(project)
        if (
            project.state != ProjectState.MIDTERM_REVIEW
            or report is None
            or report.decision != MidtermDecision.PENDING
        ):
            raise WorkflowError("invalid_transition", _("There is no mid-term report to decide."))
        report.decision = decision
        report.comment = comment
        report.expert_opinion = expert_opinion
        report.decided_by = user
        report.decided_at = timezone.now()
        report.save()
        was_held = project.midterm_reports.filter(decision=MidtermDecision.HOLD).exists()
        if decision == MidtermDecision.PASSED:
            workflow.perform(project, "pass_midterm", user=user, comment=comment, locked=True)
            if was_held:
                _lift_holds(project, user, _("Revised mid-term report passed."))
        elif decision == MidtermDecision.HOLD:
            _hold(project, user, _("Mid-term check failed: %(reason)s") % {"reason": comment})
        else:
            workflow.perform(project, "terminate", user=user, comment=comment, locked=True)
        _notify(project, f"midterm_{decision}")
    return report


# --- final evaluation ------------------------------------------------------------------


def final_inputs_missing(project):
    """Names of the final evaluation's inputs the PI has not uploaded yet."""
    missing = []
    evaluation = FinalEvaluation.objects.filter(project=project).first()
    for name in FINAL_INPUTS:
        if evaluation is None or not getattr(evaluation, name):
            missing.append(name)
    report = STReport.objects.filter(project=project).first()
    if report is None or not report.file:
        missing.append("st_report")
    return missing


def final_submit(*, project, user, files, st_report):
    """The PI submits for final evaluation with every input of domain.md: acceptance
    application, contract, self-evaluation, audit report (``files``) and the S&T report
    (``st_report``: file, title, abstract, keywords, results_summary)."""
    errors = {}
    for name in FINAL_INPUTS:
        if not files.get(name):
            errors[name] = [_("This document is required for the final evaluation.")]
        else:
            _check_content(errors, name, files[name], PDF_OR_IMAGE)  # signed scans
    st_report = dict(st_report or {})
    if not st_report.get("file"):
        errors["st_report"] = [_("The S&T report is required for the final evaluation.")]
    else:
        _check_content(errors, "st_report", st_report["file"], (PDF,))
    for name in ("title", "abstract", "results_summary"):
        if not (st_report.get(name) or "").strip():
            errors[f"st_{name}"] = [_("The public part of the S&T report needs this.")]
    keywords = st_report.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.replace("；", ";").split(";") if k.strip()]
    if not keywords:
        errors["st_keywords"] = [_("Give at least one keyword.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        project = workflow.lock(project)
        _require_pi(project, user)
        if project.state != ProjectState.ACTIVE:
            raise WorkflowError(
                "invalid_transition",
                _("The project cannot be submitted for final evaluation while it is %(state)s.")
                % {"state": project.get_state_display()},
            )
        FinalEvaluation.objects.update_or_create(
            project=project,
            defaults={**{n: files[n] for n in FINAL_INPUTS}, "submitted_by": user,
                      "submitted_at": timezone.now()},
        )  # fmt: skip
        STReport.objects.update_or_create(
            project=project,
            defaults={
                "file": st_report["file"],
                "title": st_report["title"].strip(),
                "abstract": st_report["abstract"].strip(),
                "keywords": keywords,
                "results_summary": st_report["results_summary"].strip(),
            },
        )
        workflow.perform(project, "submit_final", user=user, locked=True)
        _notify(project, "final_submitted")
    return project.final_evaluation


def panel_opinion_add(*, project, user, expert, recommendation, grade, opinion):
    """The officer records one panel member's opinion (the panel meets outside the system)."""
    if recommendation not in Outcome.values:
        raise ValidationError({"recommendation": [_("Choose an outcome.")]})
    if grade not in Grade.values:
        raise ValidationError({"grade": [_("Choose a grade.")]})
    if not (opinion or "").strip():
        raise ValidationError({"opinion": [_("Write the opinion.")]})
    if expert is None or expert.pk == project.application.applicant_id:
        raise ValidationError({"expert": [_("Choose an expert who is not the PI.")]})
    with transaction.atomic():
        project = workflow.lock(project)
        _require_manager(project, user)
        evaluation = FinalEvaluation.objects.filter(project=project).first()
        if project.state != ProjectState.FINAL_REVIEW or evaluation is None:
            raise WorkflowError("invalid_transition", _("The project is not in final review."))
        opinion_row, _created = PanelOpinion.objects.update_or_create(
            evaluation=evaluation,
            expert=expert,
            defaults={"recommendation": recommendation, "grade": grade, "opinion": opinion},
        )
    return opinion_row


def outcome_for(grade):
    """The outcome a grade implies unless the officer closes the project: fail → fail."""
    return Outcome.FAIL if grade == Grade.FAIL else Outcome.PASS


def evaluate(*, project, user, grade, comment="", outcome=None):
    """Decide the final evaluation: outcome (pass / fail / closed), performance grade,
    result notice; then the follow-on consequences of the grade (bar, recovery)."""
    if grade not in Grade.values:
        raise ValidationError({"grade": [_("Choose excellent, good, pass or fail.")]})
    outcome = outcome or outcome_for(grade)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Choose pass, fail or closed.")]})
    if outcome == Outcome.PASS and grade == Grade.FAIL:
        raise ValidationError({"grade": [_("A passed project cannot be graded fail.")]})
    if outcome != Outcome.PASS and grade != Grade.FAIL:
        raise ValidationError({"grade": [_("A project that did not pass is graded fail.")]})
    if outcome != Outcome.PASS and not (comment or "").strip():
        raise ValidationError({"comment": [_("A reason is required for this step.")]})
    from . import followon

    with transaction.atomic():
        project = workflow.lock(project)
        _require_manager(project, user)
        evaluation = FinalEvaluation.objects.select_for_update().filter(project=project).first()
        if project.state != ProjectState.FINAL_REVIEW or evaluation is None:
            raise WorkflowError(
                "invalid_transition",
                _("The project is not awaiting its final evaluation (it is %(state)s).")
                % {"state": project.get_state_display()},
            )
        now = timezone.now()
        evaluation.outcome = outcome
        evaluation.grade = grade
        evaluation.comment = comment
        evaluation.decided_by = user
        evaluation.decided_at = now
        evaluation.notice_starts_at = now
        evaluation.notice_ends_at = now + timedelta(days=RESULT_NOTICE_DAYS)
        evaluation.save()
        STReport.objects.filter(project=project, published_at__isnull=True).update(published_at=now)
        project = workflow.perform(
            project, OUTCOME_TRANSITION[outcome], user=user, comment=comment, locked=True,
            log_data={"grade": grade, "outcome": outcome},
        )  # fmt: skip
        followon.apply_grade(project=project, grade=grade, user=user)
        _notify(project, "final_decided")
    return evaluation


def performance_grade(project):
    """The project's performance grade (``excellent``/``good``/``pass``/``fail``) or None.

    For the projects API; a list may annotate ``final_evaluation__grade`` instead."""
    try:
        evaluation = project.final_evaluation
    except FinalEvaluation.DoesNotExist:
        return None
    return evaluation.grade or None


def result_notices(now=None):
    """Result notices in their public days, newest first."""
    now = now or timezone.now()
    return (
        FinalEvaluation.objects.filter(notice_starts_at__lte=now, notice_ends_at__gte=now)
        .select_related(
            "project__application__institution",
            "project__application__call__program",
            "project__application__applicant",
            "project__st_report",
        )  # fmt: skip
        .order_by("-notice_starts_at", "-id")
    )


def outcomes_for_institution(user):
    """Decided evaluations of the projects ``user``'s institution holds (research office)."""
    qs = FinalEvaluation.objects.exclude(outcome="").select_related(
        "project__application__applicant", "project__application__call__program"
    )
    if user.is_superuser or user.has_role(Role.AUDITOR):
        return qs
    return qs.filter(project__in=projects_visible_to(user))


# --- mail ------------------------------------------------------------------------------


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def notify_result(self, project_id, kind):
    """Tell the PI (always) of every step and result, in the PI's language."""
    project = (
        Project.objects.select_related("application__applicant", "application__call__program")
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        return 0
    person = project.application.applicant
    if not person.email or not person.is_active:
        return 0
    evaluation = FinalEvaluation.objects.filter(project=project).first()
    midterm = latest_midterm(project)
    with translation.override(person.language):
        from . import followon

        context = {
            "project": project, "kind": kind, "person": person, "evaluation": evaluation,
            "midterm": midterm,
            "follow_on": followon.follow_on(project) if kind == "final_decided" else None,
        }  # fmt: skip
        subject = render_to_string("finance/mail/evaluation_subject.txt", context).strip()
        body = render_to_string("finance/mail/evaluation_body.txt", context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])


# --- the final evaluation's inputs guard ``submit_final`` whatever path takes it ----------


def require_final_inputs(sender, instance, name, **kwargs):
    """django-fsm ``pre_transition``: ``submit_final`` needs every input (domain.md), also
    when a generic transitions endpoint runs it."""
    if name != "submit_final":
        return
    missing = final_inputs_missing(instance)
    if missing:
        raise ValidationError(
            {n: [_("This input is required for the final evaluation.")] for n in missing}
        )


def connect():
    from django_fsm.signals import pre_transition

    pre_transition.connect(
        require_final_inputs, sender=Project, dispatch_uid="finance.evaluation.final_inputs"
    )
