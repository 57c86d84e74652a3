from django.urls import path

from . import views

app_name = "integrity"
urlpatterns = [
    path("records/", views.record_list, name="record_list"),
    path("records/new/", views.record_create, name="record_create"),
    path("records/<int:pk>/", views.record_detail, name="record_detail"),
    path("records/<int:pk>/correct/", views.record_correct, name="record_correct"),
]
