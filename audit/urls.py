from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("log/", views.log, name="log"),
    path("log.csv", views.log_csv, name="log_csv"),
]
