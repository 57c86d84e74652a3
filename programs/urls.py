from django.urls import path

from . import views

app_name = "programs"
urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("new/", views.program_create, name="program_create"),
    path("<int:pk>/", views.program_detail, name="program_detail"),
    path("<int:pk>/edit/", views.program_update, name="program_update"),
    path("<int:program_pk>/calls/new/", views.call_create, name="call_create"),
    path("calls/open/", views.open_calls, name="open_calls"),
    path("calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("calls/<int:pk>/edit/", views.call_update, name="call_update"),
]
