from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A Celery task to run once, written in the transaction whose commit calls for it."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list)
    kwargs = models.JSONField(_("keyword arguments"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    #: When it was last handed to the broker (set on insert: the commit publishes it);
    #: empty when that publish failed, so the sweeper takes it at once.
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    #: Tasks that commit as they go (``outbox_atomic=False``): the running worker's lease.
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        indexes = [
            # The sweeper reads the pending rows only, oldest first.
            models.Index(
                fields=["id"], condition=Q(done_at__isnull=True), name="outbox_job_pending"
            ),
            models.Index(fields=["done_at"], name="outbox_job_done"),
        ]

    def __str__(self):
        return f"{self.task} #{self.pk}"
