import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("grantflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Issue 7 (runtime): task log lines carry the request id of the request that enqueued them
# (django_structlog passes it in the message headers and binds it in the worker).
from django_structlog.celery.steps import DjangoStructLogInitStep  # noqa: E402

app.steps["worker"].add(DjangoStructLogInitStep)
