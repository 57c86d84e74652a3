from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("<slug:board>/", views.dashboard, name="dashboard"),
    path("<slug:board>/<slug:chart>.svg", views.chart_svg, name="svg"),
    path("<slug:board>/<slug:chart>.csv", views.chart_csv, name="csv"),
]
