from django.urls import path

from . import views

app_name = "integrity"
urlpatterns = [
    path("records/", views.record_list, name="record_list"),
    path("records/new/", views.record_create, name="record_create"),
    path("records/<int:pk>/", views.record_detail, name="record_detail"),
    path("records/<int:pk>/correct/", views.record_correct, name="record_correct"),
]

# --- cases (integrity/views_cases.py) ---
from . import views_cases  # noqa: E402

urlpatterns += [
    path("cases/", views_cases.case_list, name="case_list"),
    path("cases/report/", views_cases.case_report, name="case_report"),
    path("cases/new/", views_cases.case_paper, name="case_paper"),
    path("cases/<int:pk>/", views_cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/steps/<slug:name>/", views_cases.case_step, name="case_step"),
    path("cases/<int:pk>/subjects/", views_cases.case_subject_add, name="case_subject_add"),
    path(
        "cases/<int:pk>/subjects/<int:subject_pk>/remove/",
        views_cases.case_subject_remove,
        name="case_subject_remove",
    ),
    path("cases/<int:pk>/evidence/", views_cases.case_evidence_add, name="case_evidence_add"),
    path(
        "cases/<int:pk>/evidence/<int:evidence_pk>/",
        views_cases.case_evidence,
        name="case_evidence",
    ),
    path("cases/<int:pk>/investigator/", views_cases.case_investigator, name="case_investigator"),
    path("cases/<int:pk>/requests/", views_cases.case_request_add, name="case_request_add"),
    path(
        "cases/requests/<int:request_pk>/report/",
        views_cases.case_request_report,
        name="case_request_report",
    ),
    path(
        "investigation-requests/",
        views_cases.investigation_requests,
        name="investigation_requests",
    ),
    path(
        "investigation-requests/<int:pk>/",
        views_cases.investigation_request,
        name="investigation_request",
    ),
    path("my-cases/", views_cases.my_cases, name="my_cases"),
    path("my-cases/<int:pk>/", views_cases.my_case, name="my_case"),
    path("my-cases/<int:pk>/appeal/", views_cases.my_case_appeal, name="my_case_appeal"),
]

# --- credit and gates ---
from . import views_credit  # noqa: E402

urlpatterns += [
    path("affected/", views_credit.affected, name="affected"),
    path("credit/", views_credit.credit_list, name="credit_list"),
    path("credit/<slug:kind>/", views_credit.credit_list, name="credit_list_kind"),
    path("credit/<slug:kind>/<int:pk>/", views_credit.credit_detail, name="credit_detail"),
]

# --- exchange with other departments (integrity/views_exchange.py) ---
from . import views_exchange  # noqa: E402

urlpatterns += [
    path("exchange/imports/", views_exchange.import_list, name="import_list"),
    path("exchange/import/", views_exchange.import_start, name="import_start"),
    path("exchange/import/confirm/", views_exchange.import_confirm, name="import_confirm"),
    path("exchange/imports/<int:pk>/", views_exchange.import_detail, name="import_detail"),
    path("exchange/export/", views_exchange.export_page, name="export"),
    path(
        "exchange/export/serious-dishonesty.<slug:fmt>",
        views_exchange.export_download,
        name="export_download",
    ),
    path(
        "exchange/export/serious-dishonesty.<slug:fmt>.sha256",
        views_exchange.export_download,
        {"sidecar": True},
        name="export_sidecar",
    ),
]
