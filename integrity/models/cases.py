"""Misconduct cases (design.md, MisconductCase): report → investigation → decision → appeal.

``reported`` —investigate→ ``investigating`` —decide→ ``decided`` —appeal→ ``appealed``
—decide_appeal→ ``final``; ``dismiss`` (from reported or investigating) ends a case with no
finding; ``finalize`` closes a decided case when its appeal window passed unused (the
system, ``user=None``) or when an integrity officer closes it.

Each transition states who may take it; ``integrity.cases`` decides whether it should and
runs it through ``audit.workflow.perform``, which logs it. The reporter's identity lives in
the ``reporter_*`` fields and is read by integrity officers only (``integrity.cases``).
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.models import Agency, Institution
from accounts.roles import Role

from .records import CreditRecord, MisconductCategory

#: The policy default (domain.md: within 15 working days of notification); a case opened
#: for a proposal takes its rule set's ``appeal_working_days`` (the caller passes it).
DEFAULT_APPEAL_WORKING_DAYS = 15


def private_storage():
    from django.core.files.storage import storages

    return storages["private"]


class CaseState(models.TextChoices):
    REPORTED = "reported", _("Reported")
    INVESTIGATING = "investigating", _("Under investigation")
    DECIDED = "decided", _("Decided")
    APPEALED = "appealed", _("Appealed")
    FINAL = "final", _("Final")
    DISMISSED = "dismissed", _("Dismissed")


#: Cases still being worked on by the integrity office.
OPEN_CASE_STATES = [CaseState.REPORTED, CaseState.INVESTIGATING, CaseState.APPEALED]
#: Cases with a decision a subject may read.
DECIDED_CASE_STATES = [CaseState.DECIDED, CaseState.APPEALED, CaseState.FINAL]


class CaseChannel(models.TextChoices):
    """How the report came in."""

    USER = "user", _("Report by a signed-in user")
    OBJECTION = "objection", _("Objection to a public notice")
    INTERCESSION = "intercession", _("Intercession reported by a reviewer")
    PAPER = "paper", _("Report received on paper (entered by the integrity office)")


class AppealOutcome(models.TextChoices):
    UPHOLD = "uphold", _("Decision upheld")
    AMEND = "amend", _("Decision amended")


# --- who may take which step (instance, user) -------------------------------------------


def is_integrity_officer(case, user):
    return (
        user is not None
        and user.is_authenticated
        and (user.is_superuser or user.has_role(Role.INTEGRITY_OFFICER))
    )


def is_subject(case, user):
    """The person named, an administrator of the institution named, staff of the agency
    named. Reads the prefetched subjects when the caller loaded them."""
    if user is None or not user.is_authenticated:
        return False
    inst_admin = user.institution_id and user.has_role(Role.INSTITUTION_ADMIN)
    agency_staff = user.agency_id and user.has_role(Role.AGENCY_STAFF)
    for s in case.subjects.all():
        if s.user_id == user.pk:
            return True
        if inst_admin and s.institution_id == user.institution_id:
            return True
        if agency_staff and s.agency_id == user.agency_id:
            return True
    return False


def is_subject_within_window(case, user):
    return case.appeal_open() and is_subject(case, user)


def is_officer_or_system(case, user):
    """The system (celery beat, ``user=None``) after the window; an officer at any time."""
    if user is None:
        return not case.appeal_open()
    return is_integrity_officer(case, user)


class MisconductCase(ConcurrentTransitionMixin, models.Model):
    FSM_FIELD = "state"

    number = models.CharField(_("case number"), max_length=32, unique=True, null=True, blank=True)
    state = FSMField(
        _("state"),
        default=CaseState.REPORTED,
        choices=CaseState.choices,
        protected=True,
        db_index=True,
    )
    channel = models.CharField(_("reported through"), max_length=16, choices=CaseChannel.choices)
    title = models.CharField(_("summary"), max_length=300)
    allegation = models.TextField(_("what is reported"))
    kind = models.CharField(
        _("misconduct"), max_length=32, choices=MisconductCategory.choices, blank=True
    )
    # The reporter: confidential, integrity officers only.
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter (account)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=150, blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=32, blank=True)
    reporter_email = models.EmailField(_("reporter's email"), blank=True)
    reporter_organisation = models.CharField(
        _("reporter's organisation"), max_length=200, blank=True
    )
    # What the report is about: a generic reference (integrity imports no other app).
    reference_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference_id = models.PositiveBigIntegerField(null=True, blank=True)
    reference_text = models.CharField(_("concerns"), max_length=300, blank=True)
    investigator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("investigator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="investigated_cases",
    )
    appeal_working_days = models.PositiveSmallIntegerField(
        _("appeal window (working days)"), default=DEFAULT_APPEAL_WORKING_DAYS
    )
    # The decision.
    findings = models.TextField(_("findings"), blank=True)
    sanctions = models.JSONField(_("sanctions"), default=list, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notified_at = models.DateTimeField(_("subjects notified at"), null=True, blank=True)
    appeal_deadline = models.DateField(_("appeal until"), null=True, blank=True)
    # The appeal.
    appeal_text = models.TextField(_("grounds of appeal"), blank=True)
    appealed_at = models.DateTimeField(_("appealed at"), null=True, blank=True)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    appeal_outcome = models.CharField(
        _("appeal outcome"), max_length=8, choices=AppealOutcome.choices, blank=True
    )
    appeal_decision = models.TextField(_("decision on the appeal"), blank=True)
    appeal_decided_at = models.DateTimeField(_("appeal decided at"), null=True, blank=True)
    records = models.ManyToManyField(
        CreditRecord, verbose_name=_("credit records"), blank=True, related_name="cases"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("misconduct case")
        verbose_name_plural = _("misconduct cases")
        indexes = [
            models.Index(fields=["state", "appeal_deadline"]),
            models.Index(fields=["reference_type", "reference_id"]),
        ]

    def __str__(self):
        return self.number or f"#{self.pk}"

    def appeal_open(self, today=None):
        today = today or timezone.localdate()
        return (
            self.state == CaseState.DECIDED
            and self.appeal_deadline is not None
            and today <= self.appeal_deadline
        )

    # ``by``, ``comment`` and ``log_data`` are read by the audit log's signal handler.

    @transition(
        field=state,
        source=CaseState.REPORTED,
        target=CaseState.INVESTIGATING,
        permission=is_integrity_officer,
        custom={"label": _("Open the investigation")},
    )
    def investigate(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=CaseState.INVESTIGATING,
        target=CaseState.DECIDED,
        permission=is_integrity_officer,
        custom={"label": _("Decide"), "form": True},
    )
    def decide(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=[CaseState.REPORTED, CaseState.INVESTIGATING],
        target=CaseState.DISMISSED,
        permission=is_integrity_officer,
        custom={"label": _("Dismiss (no finding)"), "needs_comment": True},
    )
    def dismiss(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=CaseState.DECIDED,
        target=CaseState.APPEALED,
        permission=is_subject_within_window,
        custom={"label": _("Appeal"), "needs_comment": True, "form": True},
    )
    def appeal(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=CaseState.APPEALED,
        target=CaseState.FINAL,
        permission=is_integrity_officer,
        custom={"label": _("Decide the appeal"), "needs_comment": True, "form": True},
    )
    def decide_appeal(self, *, by=None, comment="", log_data=None):
        pass

    @transition(
        field=state,
        source=CaseState.DECIDED,
        target=CaseState.FINAL,
        permission=is_officer_or_system,
        custom={"label": _("Make the decision final")},
    )
    def finalize(self, *, by=None, comment="", log_data=None):
        pass


class CaseSubject(models.Model):
    """Who the case is about: a person, an institution, an agency, or only a described
    identity (a name and whatever identifies them) when they have no account here."""

    case = models.ForeignKey(MisconductCase, on_delete=models.CASCADE, related_name="subjects")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="misconduct_case_subjects",
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="misconduct_case_subjects",
    )
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="misconduct_case_subjects",
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    identity = models.CharField(
        _("identity"),
        max_length=300,
        blank=True,
        help_text=_("What identifies them: employer, ORCID, credit code, role."),
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("case subject")
        verbose_name_plural = _("case subjects")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False)
                | Q(institution__isnull=False)
                | Q(agency__isnull=False)
                | ~Q(name=""),
                name="case_subject_named",
            )
        ]

    def __str__(self):
        parts = [str(p) for p in (self.user, self.institution, self.agency) if p is not None]
        if self.name and not parts:
            parts.append(self.name)
        return " / ".join(parts)


class CaseEvidence(models.Model):
    """A file of the case: private storage, served to integrity officers only."""

    case = models.ForeignKey(MisconductCase, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(_("file"), storage=private_storage, upload_to="cases/evidence/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    description = models.CharField(_("description"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("case evidence")
        verbose_name_plural = _("case evidence")

    def __str__(self):
        return self.original_name or self.file.name


class InvestigationRequest(models.Model):
    """The funder asks an institution to investigate its own people first (domain.md); the
    institution's administrators answer with a report upload by the due date."""

    case = models.ForeignKey(
        MisconductCase, on_delete=models.CASCADE, related_name="investigation_requests"
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="investigation_requests",
    )
    message = models.TextField(_("what to investigate"))
    due_on = models.DateField(_("report due on"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    report = models.FileField(
        _("report"), storage=private_storage, upload_to="cases/reports/%Y/%m/", blank=True
    )
    report_name = models.CharField(max_length=255, blank=True)
    report_content_type = models.CharField(max_length=64, blank=True)
    report_summary = models.TextField(_("summary of the findings"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("investigation request")
        verbose_name_plural = _("investigation requests")
        indexes = [models.Index(fields=["answered_at", "due_on"])]

    def __str__(self):
        return f"{self.case} → {self.institution}"

    def is_overdue(self, today=None):
        return self.answered_at is None and self.due_on < (today or timezone.localdate())
