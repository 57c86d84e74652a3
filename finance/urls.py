from django.urls import path

from . import views_evaluation, views_projects

app_name = "finance"
urlpatterns = [
    # --- projects ---
    path("", views_projects.project_list, name="projects"),
    path("<int:pk>/", views_projects.project_detail, name="project"),
    path("<int:pk>/budget/", views_projects.budget_approve, name="budget"),
    path("<int:pk>/milestones/", views_projects.milestones_edit, name="milestones"),
    path("<int:pk>/kpis/", views_projects.kpis_edit, name="kpis"),
    path("<int:pk>/contract/", views_projects.contract_pdf, name="contract_pdf"),
    path(
        "<int:pk>/contract/steps/<slug:name>/", views_projects.contract_step, name="contract_step"
    ),
    path("<int:pk>/steps/<slug:name>/", views_projects.project_step, name="project_step"),
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
