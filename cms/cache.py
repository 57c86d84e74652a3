"""Cache of rendered public pages (anonymous visitors only).

Every cached page is keyed on a site-wide *version*. Publishing a page and every change of
the data the public pages show (calls, proposals entering or leaving the notice, S&T
reports, final evaluations) bumps the version (``cms.signals``), so a change is visible in
the same request cycle; the TTL (``GRANTFLOW_PUBLIC_CACHE_SECONDS``) bounds the age of what
depends only on the clock (countdowns), and pages whose state flips at a known moment (a
call closing) never outlive it.

Two readers: the views (``lookup``), and ``cms.middleware.PageCacheMiddleware``, which
answers a returning anonymous visitor before sessions, authentication, locale and routing
run (``early_lookup``). For the latter the entry also keeps the headers the inner
middleware added (``keep_headers``).

The cache only saves work: when it cannot be reached (Redis down) pages are rendered
uncached and saves go through; a bump lost meanwhile is bounded by the TTL like any other.
"""

import hashlib
import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language, get_language_from_request

VERSION_KEY = "cms:version"
CSRF_PLACEHOLDER = "__GRANTFLOW_CSRF__"
logger = logging.getLogger(__name__)


def _unreachable_errors():
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client: only the local caches, which do not fail so
        return (OSError,)
    return (OSError, RedisError)


#: What a cache backend raises when its server cannot be reached.
UNREACHABLE = _unreachable_errors()
#: The token in a rendered form. Every ``get_token`` call masks the secret afresh, so the
#: token is found by its place, not by its value.
CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def version():
    value = cache.get(VERSION_KEY)
    if value is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        value = cache.get(VERSION_KEY) or 1
    return value


def bump(**kwargs):
    """Drop every cached public page (signal receiver as well as a plain call)."""
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, 2, timeout=None)
    except UNREACHABLE as exc:
        logger.warning("public page cache unreachable, version not bumped: %s", exc)


def ttl():
    return getattr(settings, "GRANTFLOW_PUBLIC_CACHE_SECONDS", 60)


def _key(request, language=None):
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
    return f"cms:page:{version()}:{language or get_language()}:{path}"


def cacheable(request):
    return request.method in ("GET", "HEAD") and not request.user.is_authenticated


def lookup(request):
    """The cached response for ``request`` (with the visitor's own CSRF token), or None."""
    if not cacheable(request):
        return None
    try:
        hit = cache.get(_key(request))
    except UNREACHABLE as exc:
        logger.warning("public page cache unreachable: %s", exc)
        return None
    if hit is None:
        return None
    content, content_type = hit[:2]
    return HttpResponse(
        content.replace(CSRF_PLACEHOLDER, get_token(request)), content_type=content_type
    )


CSRF_SECRET = re.compile(r"[a-zA-Z0-9]{32}")
#: Headers not replayed from the cache: per visitor, or recomputed.
PER_RESPONSE = {"set-cookie", "content-length"}


def early_lookup(request):
    """The cached response for a visitor who is anonymous for sure (no session cookie) and
    already holds a CSRF cookie (the cached form gets a token for it), or None.

    Runs before the session, locale and CSRF middleware, so it reads their cookies itself:
    the language as ``LocaleMiddleware`` would choose it."""
    cookies = request.COOKIES
    if (
        request.method not in ("GET", "HEAD")
        or settings.SESSION_COOKIE_NAME in cookies
        or "messages" in cookies
        or not CSRF_SECRET.fullmatch(cookies.get(settings.CSRF_COOKIE_NAME, ""))
    ):
        return None
    try:
        hit = cache.get(_key(request, get_language_from_request(request)))
    except UNREACHABLE as exc:
        logger.warning("public page cache unreachable: %s", exc)
        return None
    if hit is None or len(hit) < 3:
        return None
    content, content_type, headers = hit
    request.META["CSRF_COOKIE"] = cookies[settings.CSRF_COOKIE_NAME]
    response = HttpResponse(
        content.replace(CSRF_PLACEHOLDER, get_token(request)), content_type=content_type
    )
    for name, value in headers:
        response[name] = value
    return response


def store(request, response, timeout=None):
    """Cache a rendered 200 response for anonymous visitors, at most ``timeout`` seconds.

    The CSRF token of the language form is swapped for a placeholder before storing."""
    if not cacheable(request) or response.status_code != 200:
        return response
    if hasattr(response, "render") and not response.is_rendered:
        response.render()
    seconds = ttl() if timeout is None else min(ttl(), timeout)
    if seconds > 0:
        content = CSRF_INPUT.sub(rf"\g<1>{CSRF_PLACEHOLDER}\g<2>", response.content.decode())
        try:
            key = _key(request)
            cache.set(key, (content, response.get("Content-Type")), seconds)
        except UNREACHABLE as exc:
            logger.warning("public page cache unreachable: %s", exc)
            return response
        response.cms_cached = (key, content, seconds)
    return response


def keep_headers(response):
    """Add the response's final headers to the entry ``store`` made for it (if any)."""
    stored = getattr(response, "cms_cached", None)
    if stored is None:
        return
    key, content, seconds = stored
    headers = [(k, v) for k, v in response.items() if k.lower() not in PER_RESPONSE]
    try:
        cache.set(key, (content, response.get("Content-Type"), headers), seconds)
    except UNREACHABLE as exc:
        logger.warning("public page cache unreachable: %s", exc)


def cached_response(request, render, timeout=None):
    """``lookup`` or else ``render()``, stored."""
    hit = lookup(request)
    return hit if hit is not None else store(request, render(), timeout)


def mark(response, timeout=None):
    """Let ``cms.views.serve`` cache this page response (``timeout``: at most so long)."""
    response.cms_cache = True
    response.cms_cache_timeout = timeout
    return response
