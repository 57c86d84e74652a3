"""Answer returning anonymous visitors of the public site from the page cache first.

Placed right after the security and static-file middleware, so a cached page costs a cache
read and the CSRF token's masking: no session, user, locale resolution, URL routing or
Wagtail site lookup (``cms.cache.early_lookup`` says who qualifies). The security middleware
outside it still sets its headers; the headers of the middleware inside it (frame options,
Vary, Content-Language, ...) are replayed from the entry, recorded on the way out here when
the page was first rendered.
"""

from . import cache


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        hit = cache.early_lookup(request)
        if hit is not None:
            return hit
        response = self.get_response(request)
        cache.keep_headers(response)
        return response
