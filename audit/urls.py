from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("log/", views.log, name="log"),
    path("log.csv", views.log_csv, name="log_csv"),
    path("search/", views.search_page, name="search"),
    path("search.csv", views.search_csv, name="search_csv"),
    path("charts/", views.charts, name="charts"),
    path("charts.csv", views.charts_csv, name="charts_csv"),
]
