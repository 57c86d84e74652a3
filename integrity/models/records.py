from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution


class Action(models.TextChoices):
    """What a credit record can bar (domain.md; ``manage`` for agency staff comes later)."""

    APPLY = "apply", _("apply for funding")
    REVIEW = "review", _("review proposals")
    RECEIVE_FUNDS = "receive_funds", _("receive funds")


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
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    subject_institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    category = models.CharField(_("misconduct"), max_length=32, choices=MisconductCategory.choices)
    bars_apply = models.BooleanField(_("bars applying"), default=False)
    bars_review = models.BooleanField(_("bars reviewing"), default=False)
    bars_receive_funds = models.BooleanField(_("bars receiving funds"), default=False)
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
                condition=Q(subject_user__isnull=False) | Q(subject_institution__isnull=False),
                name="credit_record_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="credit_record_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["subject_user", "starts_on"])]

    def __str__(self):
        return f"{self.subject} — {self.get_category_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("allow_update", False):
            raise ValueError("Credit records are never edited; record a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Credit records are never deleted.")

    def clean(self):
        if not self.subject_user_id and not self.subject_institution_id:
            raise ValidationError(_("Name the person or the institution the record is about."))
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The period cannot end before it starts.")})

    @property
    def subject(self):
        return self.subject_user or self.subject_institution

    @property
    def bars(self):
        return [a for a in Action.values if getattr(self, f"bars_{a}")]
