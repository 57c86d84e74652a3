from django.urls import path

from . import views

app_name = "grants"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("institution/", views.institution_queue, name="institution_queue"),
    path("formal-check/", views.formal_check_queue, name="formal_check_queue"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit_start"),
    path("<int:pk>/edit/<slug:section>/", views.edit, name="edit"),
    path("<int:pk>/steps/<slug:name>/", views.transition, name="transition"),
    path("<int:pk>/pdf/", views.pdf, name="pdf"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/",
        views.attachment_download,
        name="attachment",
    ),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/remove/",
        views.attachment_remove,
        name="attachment_remove",
    ),
]
