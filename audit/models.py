from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import chain


class TransitionLogQuerySet(models.QuerySet):
    def for_object(self, obj):
        ct = ContentType.objects.get_for_model(obj.__class__)
        return self.filter(content_type=ct, object_id=obj.pk)

    def transitions(self):
        return self.filter(kind=chain.TRANSITION)

    def events(self):
        return self.filter(kind=chain.EVENT)

    def bulk_create(self, objs, *args, **kwargs):
        """Linked into the chain like single rows: one head lock for the whole batch."""
        objs = list(objs)
        for obj in objs:
            if obj.pk is not None:
                raise ValueError("Transition log entries are append-only.")
        return chain.append(objs, lambda: super(TransitionLogQuerySet, self).bulk_create(
            objs, *args, **kwargs
        ))  # fmt: skip

    def bulk_update(self, *args, **kwargs):
        raise ValueError("Transition log entries are append-only.")

    bulk_update.alters_data = True

    # Append-only in bulk too: no queryset may remove history. (``update`` stays open for
    # tests that back-date ``created_at``; application code never calls it.)
    def delete(self):
        raise ValueError("Transition log entries are append-only.")

    delete.alters_data = True
    delete.queryset_only = True


class TransitionManager(models.Manager.from_queryset(TransitionLogQuerySet)):
    """State transitions only: what timelines and transition counts read."""

    def get_queryset(self):
        return super().get_queryset().filter(kind=chain.TRANSITION)


class TransitionLog(models.Model):
    """One append-only row per state change of any workflow object — and, in the same
    tamper-evident chain, one per event that changes money, decisions or records.

    Transition rows are written by the ``post_transition`` signal handler in
    ``audit.signals``: one mechanism for every machine. Event rows (``kind="event"``, a dotted
    name in ``transition``, empty ``source``/``target``) are written by
    ``audit.chain.record``. Nothing updates or deletes them; every row carries ``seq``, the
    hash of its predecessor and its own hash (``audit.chain``).

    ``TransitionLog.objects`` reads transitions only (timelines, counts of steps);
    ``TransitionLog.entries`` reads the whole chain.
    """

    class Kind(models.TextChoices):
        TRANSITION = chain.TRANSITION, _("transition")
        EVENT = chain.EVENT, _("event")

    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.TRANSITION, editable=False
    )
    seq = models.PositiveBigIntegerField(_("sequence number"), unique=True, editable=False)
    prev_hash = models.CharField(_("hash of the previous entry"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, editable=False)

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(_("object"), max_length=300)
    transition = models.CharField(_("transition"), max_length=64)
    source = models.CharField(_("from"), max_length=64, blank=True)
    target = models.CharField(_("to"), max_length=64, blank=True)
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
    # Set before the row is written (not ``auto_now_add``): the hash covers it.
    created_at = models.DateTimeField(
        _("time"), default=timezone.now, db_index=True, editable=False
    )

    #: Every entry of the chain (the default manager: admin, dumps).
    entries = TransitionLogQuerySet.as_manager()
    #: Transitions only.
    objects = TransitionManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"])]
        verbose_name = _("transition log entry")
        verbose_name_plural = _("transition log")

    def __str__(self):
        if self.kind == chain.EVENT:
            return f"{self.object_repr}: {self.transition}"
        return f"{self.object_repr}: {self.source} → {self.target} ({self.transition})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Transition log entries are append-only.")
        chain.append([self], lambda: super(TransitionLog, self).save(*args, **kwargs))

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


class ChainHead(models.Model):
    """The one row that names the last entry of the audit chain. Appends lock it
    (``SELECT … FOR UPDATE``) so that they take turns; ``verify_audit`` checks that the
    chain ends where it says."""

    PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=PK, editable=False)
    seq = models.PositiveBigIntegerField(_("last sequence number"), default=0)
    hash = models.CharField(_("last hash"), max_length=64, default=chain.GENESIS)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")

    def __str__(self):
        return f"#{self.seq} {self.hash[:12]}…"
