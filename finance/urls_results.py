"""The public result notice of final evaluations (no login), at /notices/results/."""

from django.urls import path

from . import views_evaluation

app_name = "results"
urlpatterns = [path("", views_evaluation.result_notices, name="list")]
