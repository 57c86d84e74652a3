from django.urls import path

from . import views_agencies, views_evaluation, views_modes, views_money, views_projects

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
    path("<int:pk>/ledger/", views_money.ledger_page, name="ledger"),
    path(
        "<int:pk>/ledger.<str:fmt>",
        views_money.ledger_export,
        name="ledger_export",
    ),
    path("ledgers.<str:fmt>", views_money.ledger_export_all, name="ledger_export_all"),
    path("payments/", views_money.payments_queue, name="payments"),
    path(
        "payments/<int:pk>/steps/<slug:name>/",
        views_money.disbursement_step,
        name="disbursement_step",
    ),
    path("<int:pk>/adjustments/", views_money.adjustment_request, name="adjustment_request"),
    path(
        "adjustments/<int:pk>/steps/<slug:name>/",
        views_money.adjustment_step,
        name="adjustment_step",
    ),
    path("<int:pk>/expenditure/", views_money.expenditure_submit, name="expenditure"),
    path("<int:pk>/recover/", views_money.recover, name="recover"),
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
    path("agencies/delegations/", views_agencies.delegations, name="delegations"),
    path("agencies/grades/", views_agencies.agency_grades, name="agency_grades"),
    # --- modes ---
    path("modes/institutional/<int:program_pk>/", views_modes.institutional, name="institutional"),
    path("modes/post-subsidies/", views_modes.post_subsidies, name="post_subsidies"),
    path("modes/post-subsidies/<int:pk>/", views_modes.post_subsidy, name="post_subsidy"),
    path("modes/vouchers/", views_modes.vouchers_mine, name="vouchers"),
    path("modes/vouchers/providers/", views_modes.providers_public, name="providers"),
    path("modes/vouchers/providers/manage/", views_modes.providers_manage, name="providers_manage"),
    path("modes/vouchers/payout/", views_modes.voucher_payout, name="voucher_payout"),
]
