"""The site's URLs plus one trivial view: the baseline every page is compared with.

The trivial view goes through the same middleware (session, auth, locale, OTP, CSRF) as
the real pages, so a page's ratio to it is what the page itself costs.
"""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def trivial(request):
    return HttpResponse("ok")


def trivial_user(request):
    """The same, but reading the session and the user as every real page does."""
    return HttpResponse(f"ok {request.user.pk}")


urlpatterns = [
    path("__bench__/trivial/", trivial, name="bench-trivial"),
    path("__bench__/trivial-user/", trivial_user, name="bench-trivial-user"),
    *site_urlpatterns,
]
