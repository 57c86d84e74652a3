"""The site root: the Wagtail home page of the visitor's language (the public portal).

Before the page tree exists (a fresh install), "/" keeps its old behaviour: the dashboard
for a signed-in user, the login page otherwise."""

from django.shortcuts import redirect
from wagtail.models import Site
from wagtail.views import serve

from .models import HomePage


def home(request):
    site = Site.find_for_request(request)
    if site is None or site.root_page.specific_class is not HomePage:
        return redirect("dashboard" if request.user.is_authenticated else "accounts:login")
    return serve(request, "")
