"""Cache of rendered public pages (anonymous visitors only).

Every cached page is keyed on a site-wide *version*. Publishing a page and every change of
the data the public pages show (calls, proposals entering or leaving the notice, S&T
reports, final evaluations) bumps the version (``cms.signals``), so a change is visible in
the same request cycle; the TTL (``GRANTFLOW_PUBLIC_CACHE_SECONDS``) bounds the age of what
depends only on the clock (countdowns), and pages whose state flips at a known moment (a
call closing) never outlive it.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

VERSION_KEY = "cms:version"
CSRF_PLACEHOLDER = "__GRANTFLOW_CSRF__"


def version():
    value = cache.get(VERSION_KEY)
    if value is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        value = cache.get(VERSION_KEY) or 1
    return value


def bump(**kwargs):
    """Drop every cached public page (signal receiver as well as a plain call)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)


def ttl():
    return getattr(settings, "GRANTFLOW_PUBLIC_CACHE_SECONDS", 60)


def _key(request, name):
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:24]
    return f"cms:page:{version()}:{get_language()}:{name}:{path}"


def cacheable(request):
    return request.method in ("GET", "HEAD") and not request.user.is_authenticated


def cached_response(request, name, render, timeout=None):
    """The cached response for ``request``, or ``render()``'s response, cached.

    The CSRF token of the language form is swapped for a placeholder before storing and
    replaced with the visitor's own token on the way out."""
    if not cacheable(request):
        return render()
    key = _key(request, name)
    hit = cache.get(key)
    if hit is None:
        response = render()
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        if response.status_code != 200:
            return response
        token = get_token(request)
        content = response.content.decode().replace(token, CSRF_PLACEHOLDER)
        seconds = ttl() if timeout is None else min(ttl(), timeout)
        if seconds > 0:
            cache.set(key, (content, response.get("Content-Type")), seconds)
        return response
    content, content_type = hit
    return HttpResponse(
        content.replace(CSRF_PLACEHOLDER, get_token(request)), content_type=content_type
    )
