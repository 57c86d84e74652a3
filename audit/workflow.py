"""The generic piece that serves every state machine.

List the transitions a user may take now, run one by its public name under a row lock,
and let the ``post_transition`` signal log it. App services call :func:`perform` after
their own checks; views and API views call the app services.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed


class WorkflowError(Exception):
    """A refusal the caller should see: ``code`` is one of api.md's 409 codes."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class TransitionInfo:
    name: str
    method: str
    target: str
    label: str = ""
    needs_comment: bool = False
    custom: dict = field(default_factory=dict)


def _fsm_field(obj):
    return obj._meta.get_field(obj.FSM_FIELD)


def _describe(t):
    custom = t.custom or {}
    return TransitionInfo(
        name=custom.get("name", t.name),
        method=t.name,
        target=t.target,
        label=str(custom.get("label", custom.get("name", t.name))),
        needs_comment=bool(custom.get("needs_comment")),
        custom=custom,
    )


def all_transitions(model):
    """Every transition a model declares, by public name (first declaration wins)."""
    seen = {}
    for t in model._meta.get_field(model.FSM_FIELD).get_all_transitions(model):
        info = _describe(t)
        seen.setdefault(info.name, info)
    return list(seen.values())


def available(obj, user):
    """Transitions ``user`` may take on ``obj`` in its current state."""
    method = getattr(obj, f"get_available_user_{obj.FSM_FIELD}_transitions")
    return [_describe(t) for t in method(user)]


def available_names(obj, user):
    return [t.name for t in available(obj, user)]


def find(obj, name):
    for info in all_transitions(type(obj)):
        if info.name == name:
            return info
    return None


def lock(obj):
    """Re-read ``obj`` under a row lock; the caller must be inside ``transaction.atomic``."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def perform(obj, name, *, user, comment="", log_data=None, locked=False):
    """Run the transition ``name`` on ``obj`` for ``user``; returns the saved object.

    The object is re-read under ``SELECT ... FOR UPDATE`` so that of two people acting at
    once, the second sees the state the first left and is refused.
    """
    info = find(obj, name)
    if info is None:
        raise WorkflowError(
            "invalid_transition", _("Unknown transition '%(name)s'.") % {"name": name}
        )
    with transaction.atomic():
        current = obj if locked else lock(obj)
        if info.name not in available_names(current, user):
            state = getattr(current, current.FSM_FIELD)
            raise WorkflowError(
                "invalid_transition",
                _("'%(name)s' is not possible for you while the object is '%(state)s'.")
                % {"name": info.name, "state": state},
            )
        if info.needs_comment and not (comment or "").strip():
            raise ValidationError({"comment": [_("A reason is required for this step.")]})
        try:
            getattr(current, info.method)(by=user, comment=comment, log_data=log_data)
        except TransitionNotAllowed as exc:
            raise WorkflowError("invalid_transition", str(exc)) from exc
        try:
            current.save()
        except ConcurrentTransition as exc:
            # The row changed since ``current`` was read (optimistic check of the FSM mixin):
            # the other step won; this one is refused and its log entry rolls back with it.
            raise WorkflowError(
                "invalid_transition", _("The object was changed by someone else; reload it.")
            ) from exc
    return current


def transition_labels():
    """Public transition name → label (reader's language), over every machine."""
    from django.apps import apps

    labels = {}
    for model in apps.get_models():
        if hasattr(model, "FSM_FIELD"):
            for info in all_transitions(model):
                labels.setdefault(info.name, info.label)
    return labels
