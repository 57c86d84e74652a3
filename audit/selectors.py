from .models import TransitionLog


def timeline(obj):
    """The object's transitions, oldest first, with actors loaded in the same query."""
    return TransitionLog.objects.for_object(obj).select_related("actor")


#: Models whose log entries are confidential case files: only auditors, integrity officers
#: and administrators read them (issue 4: "nobody but integrity officers and auditors reads
#: case files"). Credit records themselves stay readable by program officers.
CONFIDENTIAL_MODEL_MODULES = ("integrity.models.cases",)


def reads_confidential(user):
    from accounts.roles import Role

    return user.is_superuser or user.has_role(Role.AUDITOR, Role.INTEGRITY_OFFICER)


def confidential_content_type_ids():
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    models = [m for m in apps.get_models() if m.__module__ in CONFIDENTIAL_MODEL_MODULES]
    return [ct.pk for ct in ContentType.objects.get_for_models(*models).values()]


def visible_entries(user, queryset):
    """Log entries ``user`` may read: program officers see no misconduct-case files."""
    if reads_confidential(user):
        return queryset
    return queryset.exclude(content_type_id__in=confidential_content_type_ids())
