"""/healthz, /readyz and /metrics, answered before sessions, CSRF, the host check and the
HTTPS redirect: a load balancer or Prometheus asks by IP address over plain HTTP.

- /healthz: the process answers (liveness); touches nothing else, so a database outage
  does not get the web processes restarted.
- /readyz: the database answers ``SELECT 1`` and the Celery broker accepts a connection,
  each within GRANTFLOW_READY_TIMEOUT seconds; 503 with the failed checks otherwise.
- /metrics: Prometheus text format (config.metrics), for GRANTFLOW_METRICS_ALLOWED_IPS or a
  bearer GRANTFLOW_METRICS_TOKEN.
"""

import logging

from django.conf import settings
from django.db import connections
from django.http import JsonResponse

from . import metrics

logger = logging.getLogger(__name__)


def healthz(request):
    return JsonResponse({"status": "ok"})


def check_database():
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        connection.close_if_unusable_or_obsolete()
        raise


def check_broker():
    """Opens a connection to the broker; eager mode (no broker configured) has none to check."""
    from config.celery_app import app

    if not app.conf.broker_url:
        return "not configured"
    timeout = settings.GRANTFLOW_READY_TIMEOUT
    with app.connection_for_write(connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=0, timeout=timeout)
    return "ok"


CHECKS = {"database": check_database, "broker": check_broker}


def readyz(request):
    results, failed = {}, []
    for name, check in CHECKS.items():
        try:
            results[name] = check() or "ok"
        except Exception as exc:
            # The class name only: the message can name hosts and users.
            results[name] = f"error: {type(exc).__name__}"
            failed.append(name)
            logger.warning("readiness check %s failed", name, exc_info=True)
    status = 503 if failed else 200
    body = {"status": "unavailable" if failed else "ok", "checks": results, "failed": failed}
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


ENDPOINTS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics.view}


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is None:
            return self.get_response(request)
        return endpoint(request)
