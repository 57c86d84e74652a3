"""Security headers and rate limits (issue 7; docs/security.md).

- ``CSPMiddleware``: the strict Content-Security-Policy of settings everywhere, relaxed
  only for the pages of third-party code that need it (``CSP_RELAXED_PATHS``).
- ``PermissionsPolicyMiddleware``: browser features the site never uses are switched off.
- ``rate_limited(*rules)``: django-ratelimit on a view's POSTs; over the limit the caller
  gets 429, a page or (under /api/) ``{"code": "rate_limited", "detail"}``.
"""

from functools import wraps

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_ratelimit.core import _split_rate, is_ratelimited

SWAGGER_CDN = "https://cdn.jsdelivr.net"

#: Path prefix → directives replaced there. The Django admin, the Wagtail admin and the
#: Swagger page (drf-spectacular) carry inline styles and scripts of their own; the public
#: site and the staff pages stay strict.
CSP_RELAXED_PATHS = {
    "/cms-admin/": {
        "script-src": [SELF, UNSAFE_INLINE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],  # the page preview runs in a frame of the editor
    },
    "/admin/": {
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
    },
    "/api/docs/": {
        "script-src": [SELF, UNSAFE_INLINE, SWAGGER_CDN],
        "style-src": [SELF, UNSAFE_INLINE, SWAGGER_CDN],
        "img-src": [SELF, "data:", SWAGGER_CDN],
    },
}


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        for prefix, directives in CSP_RELAXED_PATHS.items():
            if request.path_info.startswith(prefix):
                parts.replace = {**directives, **(parts.replace or {})}
                break
        return parts


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


class PermissionsPolicyMiddleware:
    """``Permissions-Policy``: no camera, microphone, location, payment... for any page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


#: Served files (attachments, evidence): never run as a page, whatever is inside.
DOWNLOAD_CSP = f"sandbox; default-src {NONE}"


# --- rate limits ------------------------------------------------------------------------------


def client_ip(request):
    """The caller's address from ``GRANTFLOW_CLIENT_IP_META`` (REMOTE_ADDR unless a trusted
    proxy in front sets another header); rate limits and the lockout both count by it."""
    name = getattr(settings, "GRANTFLOW_CLIENT_IP_META", "REMOTE_ADDR")
    value = request.META.get(name) or request.META.get("REMOTE_ADDR", "")
    return value.split(",")[0].strip()


def _ip_key(group, request):
    return client_ip(request)


def _email_key(group, request):
    return (request.POST.get("email") or "").strip().lower()


KEYS = {"ip": _ip_key, "email": _email_key}


def limited_response(request, rate):
    """429 with a page, or under /api/ with the API's error body."""
    seconds = _split_rate(rate)[1]
    detail = _("Too many attempts. Please wait a while and try again.")
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"code": "rate_limited", "detail": detail}, status=429)
    else:
        response = render(request, "ratelimited.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def rate_limited(*rules):
    """Limit the POSTs of a view. ``rules``: ``(name, key)`` pairs, ``name`` a key of
    ``GRANTFLOW_RATE_LIMITS`` (e.g. ``"10/m"``), ``key`` ``"ip"`` or ``"email"``. Every POST
    counts, good or bad."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                for name, key in rules:
                    rate = settings.GRANTFLOW_RATE_LIMITS[name]
                    if is_ratelimited(
                        request, group=name, key=KEYS[key], rate=rate, increment=True
                    ):
                        return limited_response(request, rate)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- lockout (django-axes) ------------------------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """429 after too many failed sign-ins (``AXES_LOCKOUT_CALLABLE``): a page in the user's
    language, or under /api/ the API's error body."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0
    if minutes:
        detail = ngettext(
            "Too many failed sign-ins: signing in to this account from your network is locked "
            "for %(minutes)d minute.",
            "Too many failed sign-ins: signing in to this account from your network is locked "
            "for %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    else:
        detail = _(
            "Too many failed sign-ins: signing in to this account from your network is locked "
            "until an administrator lifts the lock."
        )
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"code": "locked_out", "detail": detail}, status=429)
    else:
        response = render(request, "accounts/locked_out.html", {"detail": detail}, status=429)
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response
