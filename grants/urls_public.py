"""The public notice (no login) and the integrity officers' objection pages, at /notices/."""

from django.urls import path

from . import views_notice as views

app_name = "notices"
urlpatterns = [
    path("", views.notice_list, name="list"),
    path("call/<int:call_pk>/", views.notice_list, name="call"),
    path("<int:pk>/object/", views.objection_create, name="object"),
    path("objections/", views.objection_list, name="objection_list"),
    path("objections/<int:pk>/", views.objection_detail, name="objection_detail"),
    path(
        "objections/<int:pk>/<slug:name>/",
        views.objection_resolve,
        name="objection_resolve",
    ),
    path(
        "objections/<int:pk>/files/<slug:field>/",
        views.objection_file,
        name="objection_file",
    ),
]
