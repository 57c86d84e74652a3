"""The public site's entry points: the site root and the page-serving view.

``serve`` answers an anonymous visitor from the page cache before Wagtail resolves the site
and routes the path (``cms.cache``); pages that allow it (``cms.cache.mark``) are stored on
the way out. Before the page tree exists (a fresh install), "/" keeps its old behaviour:
the dashboard for a signed-in user, the login page otherwise."""

from django.shortcuts import redirect
from wagtail.models import Site
from wagtail.views import serve as wagtail_serve

from . import cache
from .models import HomePage


def serve(request, path=""):
    hit = cache.lookup(request)
    if hit is not None:
        return hit
    response = wagtail_serve(request, path)
    if getattr(response, "cms_cache", False):
        cache.store(request, response, response.cms_cache_timeout)
    return response


def home(request):
    hit = cache.lookup(request)
    if hit is not None:
        return hit
    site = Site.find_for_request(request)
    if site is None or site.root_page.specific_class is not HomePage:
        return redirect("dashboard" if request.user.is_authenticated else "accounts:login")
    return serve(request, "")
