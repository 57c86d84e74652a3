from .models import TransitionLog


def timeline(obj):
    """The object's transitions, oldest first, with actors loaded in the same query."""
    return TransitionLog.objects.for_object(obj).select_related("actor")
