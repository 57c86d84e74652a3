from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("<slug:board>/", views.dashboard, name="dashboard"),
    path("<slug:board>/<slug:chart>.svg", views.chart_svg, name="svg"),
    path("<slug:board>/<slug:chart>.png", views.chart_png, name="png"),
    path("<slug:board>/<slug:chart>.csv", views.chart_csv, name="csv"),
]

# --- tracking ---
# Two-segment paths without a .svg/.png/.csv suffix, so the dashboard patterns above never take them.
from . import views_tracking  # noqa: E402

urlpatterns += [
    path("tracking/trends/", views_tracking.trends, name="tracking_trends"),
    path("tracking/trends/export/", views_tracking.trends_csv, name="tracking_trends_csv"),
    path("tracking/teams/", views_tracking.teams, name="tracking_teams"),
    path("tracking/suggestions/", views_tracking.suggestions, name="tracking_suggestions"),
    path("tracking/teams/<int:pk>/", views_tracking.team, name="tracking_team"),
    path("tracking/teams/<int:pk>/remove/", views_tracking.team_remove, name="tracking_remove"),
    path("tracking/pi/<int:pk>/", views_tracking.pi_record, name="tracking_pi"),
    path("tracking/pi/<int:pk>/add/", views_tracking.team_add, name="tracking_add"),
]
