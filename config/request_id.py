"""Every request gets an id, logged with each of its lines and returned as X-Request-ID.

A proxy's X-Request-ID is kept when it looks like an id (so one id follows the request from
the load balancer to the task it enqueues); anything else, or nothing, gets a fresh one.
"""

import re
import uuid

HEADER = "HTTP_X_REQUEST_ID"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")


class RequestIdMiddleware:
    """Outermost: django_structlog's RequestMiddleware then trusts the header it finds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.META.get(HEADER, "")
        if not WELL_FORMED.fullmatch(request_id):
            request_id = str(uuid.uuid4())
            request.META[HEADER] = request_id
            request.__dict__.pop("headers", None)  # cached view of META, rebuilt on next use
        request.request_id = request_id
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
