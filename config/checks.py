"""Deploy checks (``manage.py check --deploy``) for what several processes must share."""

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def shared_services(app_configs, **kwargs):
    warnings = []
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("locmem.LocMemCache", "dummy.DummyCache")):
        warnings.append(
            Warning(
                "CACHE_URL is not set: every process has its own cache, so sessions, rate "
                "limits and task progress are not shared between web processes.",
                hint="Set CACHE_URL=redis://host:6379/1 (docs/deploy.md).",
                id="grantflow.W001",
            )
        )
    if not settings.CELERY_BROKER_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        warnings.append(
            Warning(
                "CELERY_BROKER_URL is not set: tasks run inside the web request.",
                hint="Set CELERY_BROKER_URL=redis://host:6379/0 and start the workers.",
                id="grantflow.W002",
            )
        )
    return warnings
