from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency, Institution


class Action(models.TextChoices):
    """What a credit record can bar (domain.md); ``manage`` is agency staff's work."""

    APPLY = "apply", _("apply for funding")
    REVIEW = "review", _("review proposals")
    RECEIVE_FUNDS = "receive_funds", _("receive funds")
    MANAGE = "manage", _("manage delegated programs")


class SubjectKind(models.TextChoices):
    """Who a record is about (domain.md: subjects)."""

    RESEARCHER = "researcher", _("Researcher")
    EXPERT = "expert", _("Review expert")
    AGENCY_STAFF = "agency_staff", _("Agency staff")
    INSTITUTION = "institution", _("Institution")
    AGENCY = "agency", _("Management agency")
    SERVICE_PROVIDER = "service_provider", _("Third-party service provider")


#: Kinds that are people (matched by ID number, ORCID, name + institution); the others are
#: organisations (matched by unified social credit code).
PERSON_KINDS = frozenset({SubjectKind.RESEARCHER, SubjectKind.EXPERT, SubjectKind.AGENCY_STAFF})


class MatchStatus(models.TextChoices):
    MATCHED = "matched", _("Linked")
    AMBIGUOUS = "ambiguous", _("Ambiguous: several candidates")
    UNMATCHED = "unmatched", _("Not linked yet")


class Sanction(models.TextChoices):
    """The sanctions of domain.md. What each bars is data: ``SANCTION_BARS``."""

    WARNING = "warning", _("Warning")
    RECTIFY = "rectify", _("Order to rectify")
    ADMONITION = "admonition", _("Admonition talk")
    PUBLIC_CRITICISM = "public_criticism", _("Public criticism")
    TERMINATE_PROJECT = "terminate_project", _("Terminate or revoke the project")
    RECOVER_FUNDS = "recover_funds", _("Recover funds")
    REVOKE_AWARDS = "revoke_awards", _("Revoke awards")
    BAR_APPLY = "bar_apply", _("Bar from applying for a period")
    BAR_REVIEW = "bar_review", _("Bar from reviewing for a period")
    BAR_RECEIVE_FUNDS = "bar_receive_funds", _("Bar from receiving funds for a period")
    BAR_MANAGE = "bar_manage", _("Bar from managing delegated programs for a period")
    PERMANENT_BAR = "permanent_bar", _("Permanent bar")
    SERIOUS_DISHONESTY_LIST = (
        "serious_dishonesty_list",
        _("Entry into the serious-dishonesty list"),
    )


#: What each sanction bars while the record is in force. The serious-dishonesty list is
#: shared with other departments (joint punishment) and itself bars applying and reviewing.
SANCTION_BARS = {
    Sanction.WARNING: frozenset(),
    Sanction.RECTIFY: frozenset(),
    Sanction.ADMONITION: frozenset(),
    Sanction.PUBLIC_CRITICISM: frozenset(),
    Sanction.TERMINATE_PROJECT: frozenset(),
    Sanction.RECOVER_FUNDS: frozenset(),
    Sanction.REVOKE_AWARDS: frozenset(),
    Sanction.BAR_APPLY: frozenset({Action.APPLY}),
    Sanction.BAR_REVIEW: frozenset({Action.REVIEW}),
    Sanction.BAR_RECEIVE_FUNDS: frozenset({Action.RECEIVE_FUNDS}),
    Sanction.BAR_MANAGE: frozenset({Action.MANAGE}),
    Sanction.PERMANENT_BAR: frozenset(Action),
    Sanction.SERIOUS_DISHONESTY_LIST: frozenset({Action.APPLY, Action.REVIEW}),
}
#: Bars "for a period" need an end date; the permanent bar must have none.
PERIOD_SANCTIONS = frozenset(
    {Sanction.BAR_APPLY, Sanction.BAR_REVIEW, Sanction.BAR_RECEIVE_FUNDS, Sanction.BAR_MANAGE}
)


def sanction_bars(codes):
    """The actions barred by the sanctions ``codes`` (unknown codes bar nothing)."""
    barred = set()
    for code in codes or ():
        barred |= SANCTION_BARS.get(code, frozenset())
    return barred


class MisconductCategory(models.TextChoices):
    PLAGIARISM = "plagiarism", _("Plagiarism")
    FABRICATION = "fabrication", _("Fabrication or falsification")
    GHOST_WRITING = "ghost_writing", _("Ghost-writing or buying papers, applications or reviews")
    FALSE_INFORMATION = (
        "false_information",
        _("Obtaining projects or funds by false information, intercession or bribery"),
    )
    ETHICS_FRAUD = "ethics_fraud", _("Ethics-approval fraud")
    UNDESERVED_AUTHORSHIP = "undeserved_authorship", _("Undeserved authorship")
    DUPLICATE_PUBLICATION = "duplicate_publication", _("Duplicate publication or coerced citation")
    MISUSE_OF_FUNDS = "misuse_of_funds", _("Misuse of funds")
    FAKED_RESULTS = "faked_results", _("Faked results, including by AI")
    LEAKING_REVIEW = "leaking_review", _("Leaking review information")
    OTHER = "other", _("Other")


class CreditRecordQuerySet(models.QuerySet):
    def in_force(self, on=None):
        """Records whose sanction period covers ``on`` and that nothing superseded."""
        on = on or timezone.localdate()
        return self.filter(
            Q(starts_on__lte=on),
            Q(ends_on__isnull=True) | Q(ends_on__gte=on),
            superseded_by__isnull=True,
        )

    def barring(self, action):
        return self.filter(**{f"bars_{action}": True})


class CreditRecord(models.Model):
    """A research-integrity credit record (上海市科技信用信息管理办法).

    Records are never deleted; a correction is a new record that supersedes the old one.
    A bar lifts by itself when ``ends_on`` passes: nothing has to run for that.
    """

    class Source(models.TextChoices):
        OWN = "own", _("Own case")
        IMPORTED = "imported", _("Imported from another department")

    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        db_index=False,  # (subject, starts_on) below serves it
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    subject_institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        db_index=False,  # (subject, starts_on) below serves it
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    subject_agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        db_index=False,  # (subject, starts_on) below serves it
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    # The subject's identity as the deciding body gave it; matching links the record to the
    # person or organisation above, now or when they appear later (integrity.matching).
    subject_kind = models.CharField(
        _("kind of subject"), max_length=24, choices=SubjectKind.choices, blank=True
    )
    subject_name = models.CharField(_("name as given"), max_length=200, blank=True)
    subject_id_hash = models.CharField(
        _("resident ID number (keyed hash)"), max_length=64, blank=True, editable=False
    )
    subject_id_masked = models.CharField(_("resident ID number"), max_length=18, blank=True)
    subject_orcid = models.CharField(_("ORCID iD"), max_length=19, blank=True)
    subject_credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True
    )
    subject_institution_name = models.CharField(
        _("institution as given"), max_length=200, blank=True
    )
    match_status = models.CharField(
        _("matching"), max_length=16, choices=MatchStatus.choices, default=MatchStatus.MATCHED
    )
    category = models.CharField(_("misconduct"), max_length=32, choices=MisconductCategory.choices)
    sanctions = models.JSONField(
        _("sanctions"), default=list, blank=True, help_text=_("Codes of the sanction catalogue.")
    )
    serious_dishonesty = models.BooleanField(
        _("on the serious-dishonesty list"), default=False, editable=False
    )
    bars_apply = models.BooleanField(_("bars applying"), default=False)
    bars_review = models.BooleanField(_("bars reviewing"), default=False)
    bars_receive_funds = models.BooleanField(_("bars receiving funds"), default=False)
    bars_manage = models.BooleanField(_("bars managing"), default=False)
    starts_on = models.DateField(_("takes effect on"))
    ends_on = models.DateField(
        _("ends on"), null=True, blank=True, help_text=_("Empty: permanent.")
    )
    decision = models.TextField(_("handling decision"), blank=True)
    deciding_body = models.CharField(_("deciding body"), max_length=200, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.OWN
    )
    source_department = models.CharField(_("sending department"), max_length=200, blank=True)
    # Imported rows: a stable key per sending department and row (integrity.exchange), so a
    # second import of the same list creates nothing.
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    import_batch = models.ForeignKey(
        "integrity.ImportBatch",
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CreditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("credit record")
        verbose_name_plural = _("credit records")
        constraints = [
            models.CheckConstraint(
                condition=Q(subject_user__isnull=False)
                | Q(subject_institution__isnull=False)
                | Q(subject_agency__isnull=False)
                | ~Q(subject_name="")
                | ~Q(subject_id_hash="")
                | ~Q(subject_orcid="")
                | ~Q(subject_credit_code=""),
                name="credit_record_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="credit_record_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["subject_user", "starts_on"]),
            models.Index(fields=["subject_institution", "starts_on"]),
            models.Index(fields=["subject_agency", "starts_on"]),
            # Unlinked records waiting for their subject (integrity.matching).
            models.Index(
                fields=["subject_id_hash"],
                condition=~Q(match_status="matched"),
                name="credit_record_unlinked_id",
            ),
            models.Index(
                fields=["subject_orcid"],
                condition=~Q(match_status="matched"),
                name="credit_record_unlinked_orcid",
            ),
            models.Index(
                fields=["subject_credit_code"],
                condition=~Q(match_status="matched"),
                name="credit_record_unlinked_org",
            ),
            models.Index(
                fields=["subject_name"],
                condition=~Q(match_status="matched"),
                name="credit_record_unlinked_name",
            ),
            models.Index(
                fields=["starts_on"],
                condition=Q(serious_dishonesty=True),
                name="credit_record_serious_list",
            ),
        ]

    def __str__(self):
        return f"{self.subject} — {self.get_category_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("allow_update", False):
            raise ValueError("Credit records are never edited; record a correction instead.")
        if self.pk is None:
            self.derive()
        super().save(*args, **kwargs)

    def derive(self):
        """Fill what follows from the rest (also called before ``bulk_create``): the bars of
        the sanctions, the serious-dishonesty flag, the kind of subject, the match status."""
        for action in sanction_bars(self.sanctions):
            setattr(self, f"bars_{action}", True)
        self.serious_dishonesty = Sanction.SERIOUS_DISHONESTY_LIST in (self.sanctions or ())
        if not self.subject_kind:
            if self.subject_user_id:
                user = self.subject_user
                self.subject_kind = (
                    SubjectKind.AGENCY_STAFF if user.agency_id else SubjectKind.RESEARCHER
                )
            elif self.subject_agency_id and not self.subject_institution_id:
                self.subject_kind = SubjectKind.AGENCY
            elif self.subject_institution_id:
                self.subject_kind = SubjectKind.INSTITUTION
            elif self.subject_credit_code and not self.subject_name:
                self.subject_kind = SubjectKind.INSTITUTION
            else:
                self.subject_kind = SubjectKind.RESEARCHER
        if self.is_linked:
            self.match_status = MatchStatus.MATCHED
        elif self.match_status == MatchStatus.MATCHED:
            self.match_status = MatchStatus.UNMATCHED
        self._drop_copied_import_key()

    def _drop_copied_import_key(self):
        # A correction copies the subject, not the import key (it is not the imported row).
        if self.pk is None and self.supersedes_id and self.import_key:
            if self.import_key == self.supersedes.import_key:
                self.import_key = None

    def delete(self, *args, **kwargs):
        raise ValueError("Credit records are never deleted.")

    def clean(self):
        self._drop_copied_import_key()
        if not self.is_linked and not self.has_identity:
            raise ValidationError(_("Name the person or the institution the record is about."))
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The period cannot end before it starts.")})
        errors = sanction_errors(self.sanctions, self.ends_on)
        if errors:
            raise ValidationError({"sanctions": errors})

    @property
    def is_linked(self):
        return bool(self.subject_user_id or self.subject_institution_id or self.subject_agency_id)

    @property
    def has_identity(self):
        return bool(
            self.subject_name
            or self.subject_id_hash
            or self.subject_orcid
            or self.subject_credit_code
        )

    @property
    def subject(self):
        return (
            self.subject_user
            or self.subject_institution
            or self.subject_agency
            or self.subject_as_given
        )

    @property
    def subject_as_given(self):
        """The identity as the deciding body gave it: name, institution, masked ID."""
        parts = [self.subject_name or self.subject_credit_code or self.subject_orcid]
        if self.subject_institution_name:
            parts.append(self.subject_institution_name)
        if self.subject_id_masked:
            parts.append(self.subject_id_masked)
        return " / ".join(p for p in parts if p) or "—"

    @property
    def sanction_labels(self):
        labels = dict(Sanction.choices)
        return [labels.get(code, code) for code in self.sanctions or ()]

    @property
    def bars(self):
        return [a for a in Action.values if getattr(self, f"bars_{a}")]


def sanction_errors(sanctions, ends_on):
    """Messages for sanctions unknown to the catalogue or at odds with the period."""
    errors = []
    if not isinstance(sanctions, list | tuple):
        return [_("Give the sanctions as a list of codes.")]
    unknown = [str(c) for c in sanctions if c not in SANCTION_BARS]
    if unknown:
        errors.append(_("Unknown sanction: %(codes)s.") % {"codes": ", ".join(unknown)})
    if Sanction.PERMANENT_BAR in sanctions and ends_on is not None:
        errors.append(_("A permanent bar has no end date."))
    if ends_on is None and PERIOD_SANCTIONS.intersection(sanctions):
        errors.append(
            _("A bar for a period needs an end date; choose the permanent bar otherwise.")
        )
    return errors
