from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportBatch(models.Model):
    """One list received from another department and imported (integrity.exchange).

    Kept with its counts and matching report; the records point back at it. A dry run
    leaves no batch behind.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    source = models.CharField(_("sending department"), max_length=200)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    file_format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    matched = models.PositiveIntegerField(_("linked"), default=0)
    ambiguous = models.PositiveIntegerField(_("ambiguous"), default=0)
    unmatched = models.PositiveIntegerField(_("not linked"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("integrity list import")
        verbose_name_plural = _("integrity list imports")

    def __str__(self):
        return f"{self.source} ({self.created_at:%Y-%m-%d})" if self.created_at else self.source
