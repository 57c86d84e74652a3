from django.db import models
from django.utils.translation import gettext_lazy as _

from .records import CreditRecord


class BarLift(models.Model):
    """The note that a record's bars lifted at the end of its period.

    Nothing waits for it — the gates read the dates and let the subject pass from the first
    day after ``ends_on`` — it keeps the history and makes the notice go out once
    (``integrity.tasks.lift_expired_bars``).
    """

    record = models.OneToOneField(
        CreditRecord, verbose_name=_("record"), on_delete=models.PROTECT, related_name="lift"
    )
    lifted_on = models.DateField(_("lifted on"))
    notified = models.BooleanField(_("subject notified"), default=False)
    created_at = models.DateTimeField(_("noted at"), auto_now_add=True)

    class Meta:
        ordering = ["-lifted_on", "-id"]
        verbose_name = _("lifted bar")
        verbose_name_plural = _("lifted bars")

    def __str__(self):
        return f"{self.record_id}: {self.lifted_on}"
