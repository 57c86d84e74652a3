"""sitemap.xml: every live public page of both languages (and each published report)."""

from wagtail.contrib.sitemaps.views import sitemap as wagtail_sitemap

from . import cache


def sitemap(request):
    return cache.cached_response(request, lambda: wagtail_sitemap(request))
