"""Server errors: an unreachable database, cache or broker (a PostgreSQL restart, Redis
down) is temporary and says so with a 503 and Retry-After; anything else is a 500.

The 503 page renders without a request context: context processors would ask the database
for the user, which is what just failed. The next request reconnects by itself
(CONN_HEALTH_CHECKS drops the broken connection), so no process needs restarting.
"""

import sys

from django import db
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.defaults import server_error as default_server_error

RETRY_AFTER_SECONDS = 60


def _outage_errors():
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (
        db.OperationalError,
        db.InterfaceError,
        RedisConnectionError,
        RedisTimeoutError,
        BrokerError,
    )


def is_outage(exc):
    return isinstance(exc, _outage_errors())


def server_error(request, template_name="500.html"):
    exc = sys.exc_info()[1]
    if not is_outage(exc):
        return default_server_error(request, template_name)
    language = translation.get_language_from_request(request)
    with translation.override(language):
        body = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
