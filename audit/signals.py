"""The one mechanism that logs every transition of every state machine."""

from django.dispatch import receiver
from django_fsm.signals import post_transition

from .models import TransitionLog


@receiver(post_transition)
def log_transition(sender, instance, name, source, target, method_kwargs=None, **kwargs):
    method_kwargs = method_kwargs or {}
    actor = method_kwargs.get("by")
    meta = getattr(getattr(instance, name, None), "_django_fsm", None)
    transition = meta.get_transition(source) if meta else None
    public_name = (transition.custom or {}).get("name", name) if transition else name
    from django.contrib.contenttypes.models import ContentType

    TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(sender),
        object_id=instance.pk,
        object_repr=str(instance)[:300],
        transition=public_name,
        source=str(source),
        target=str(target),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_roles=sorted(getattr(actor, "role_names", ()) or ()),
        comment=method_kwargs.get("comment", "") or "",
        data=with_agency(method_kwargs.get("log_data") or {}, actor),
    )


# --- agencies (issue 5) ---


def with_agency(data, actor):
    """``data`` with the agency's name when the actor acts as agency staff: an agency's
    actions carry its name in the log (set before the row is written, so the chain hashes
    it)."""
    agency_id = getattr(actor, "agency_id", None)
    if not agency_id or "agency_staff" not in (getattr(actor, "role_names", ()) or ()):
        return data
    return {**data, "agency": actor.agency.name, "agency_id": agency_id}
