from django.urls import path

from . import views_evaluation

app_name = "finance"
urlpatterns = [
    # --- projects ---
    # --- money ---
    # --- evaluation ---
    path("evaluations/outcomes/", views_evaluation.outcomes, name="evaluation_outcomes"),
    path("<int:pk>/evaluation/", views_evaluation.evaluation_detail, name="evaluation"),
    path(
        "<int:pk>/evaluation/midterm/", views_evaluation.midterm_submit, name="evaluation_midterm"
    ),
    path(
        "<int:pk>/evaluation/midterm/decide/",
        views_evaluation.midterm_decide,
        name="evaluation_midterm_decide",
    ),
    path("<int:pk>/evaluation/final/", views_evaluation.final_submit, name="evaluation_final"),
    path("<int:pk>/evaluation/panel/", views_evaluation.panel_opinion, name="evaluation_panel"),
    path("<int:pk>/evaluation/decide/", views_evaluation.evaluate, name="evaluation_decide"),
    path("<int:pk>/follow-on/", views_evaluation.follow_on, name="follow_on"),
    # --- agencies ---
    # --- modes ---
]
