from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class TransitionLogQuerySet(models.QuerySet):
    def for_object(self, obj):
        ct = ContentType.objects.get_for_model(obj.__class__)
        return self.filter(content_type=ct, object_id=obj.pk)

    # Append-only in bulk too: no queryset may remove history. (``update`` stays open for
    # tests that back-date ``created_at``; application code never calls it.)
    def delete(self):
        raise ValueError("Transition log entries are append-only.")

    delete.alters_data = True
    delete.queryset_only = True


class TransitionLog(models.Model):
    """One append-only row per state change of any workflow object.

    Rows are written by the ``post_transition`` signal handler in ``audit.signals``: one
    mechanism for every machine. Nothing updates or deletes them.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(_("object"), max_length=300)
    transition = models.CharField(_("transition"), max_length=64)
    source = models.CharField(_("from"), max_length=64)
    target = models.CharField(_("to"), max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_roles = models.JSONField(_("actor's roles"), default=list, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = TransitionLogQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"])]
        verbose_name = _("transition log entry")
        verbose_name_plural = _("transition log")

    def __str__(self):
        return f"{self.object_repr}: {self.source} → {self.target} ({self.transition})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Transition log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Transition log entries are append-only.")

    # Labels in the reader's language, from the machine's own declarations: the row keeps
    # the stable names, the page shows words.

    @property
    def machine(self):
        return ContentType.objects.get_for_id(self.content_type_id).model_class()

    def _state_label(self, value):
        model = self.machine
        if model is None or not hasattr(model, "FSM_FIELD"):
            return value
        choices = dict(model._meta.get_field(model.FSM_FIELD).flatchoices)
        return choices.get(value, value)

    @property
    def source_label(self):
        return self._state_label(self.source)

    @property
    def target_label(self):
        return self._state_label(self.target)

    @property
    def transition_label(self):
        from .workflow import all_transitions

        model = self.machine
        if model is None or not hasattr(model, "FSM_FIELD"):
            return self.transition
        for info in all_transitions(model):
            if info.name == self.transition:
                return info.label
        return self.transition
