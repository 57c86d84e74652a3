from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- tracking -------------------------------------------------------------------------


class TrackedTeam(models.Model):
    """A PI's team on the commission's tracked list (insights/tracking.py).

    Never deleted: removal fills ``removed_*`` and the row stays as history; one PI has at
    most one row in force (``removed_at`` empty)."""

    pi = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("principal investigator"),
        on_delete=models.PROTECT,
        related_name="tracked_teams",
    )
    team_name = models.CharField(_("team name"), max_length=200)
    reason = models.TextField(_("reason for tracking"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    removed_reason = models.TextField(_("reason for removal"), blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name = _("tracked team")
        verbose_name_plural = _("tracked teams")
        constraints = [
            models.UniqueConstraint(
                fields=["pi"], condition=Q(removed_at__isnull=True), name="tracked_team_one_active"
            ),
        ]

    def __str__(self):
        return self.team_name

    @property
    def active(self):
        return self.removed_at is None

    def delete(self, *args, **kwargs):
        raise TypeError("Tracked teams keep their history: remove them, never delete.")
