from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cms import views as cms_views
from cms.sitemaps import sitemap

from . import views

urlpatterns = [
    # The site root is the public portal (cms); Wagtail serves the rest of it last.
    path("", cms_views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    path("programs/", include("programs.urls")),
    path("proposals/", include("grants.urls")),
    path("integrity/", include("integrity.urls")),
    path("review/", include("review.urls")),
    path("notices/", include("grants.urls_public")),
    path("audit/", include("audit.urls")),
    path("projects/", include("finance.urls")),
    path("notices/results/", include("finance.urls_results")),
    path("insights/", include("insights.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("cms-admin/", include("wagtail.admin.urls")),
    path("documents/", include("wagtail.documents.urls")),
    path("sitemap.xml", sitemap, name="sitemap"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's catch-all serves the public pages; it must stay the last pattern.
# (cms.views.serve answers from the page cache first, then hands over to Wagtail's serve.)
urlpatterns += [
    re_path(r"^((?:[\w\-]+/)*)$", cms_views.serve, name="cms_serve"),
    path("", include("wagtail.urls")),
]

# Issue 7 (runtime): database or Redis unreachable → a 503 page with Retry-After, not a 500.
handler500 = "config.errors.server_error"
