"""Peer-review pages. Each part of the module adds its own paths below its heading."""

from django.urls import path  # noqa: F401

from . import views_board, views_pool, views_reviewer, views_staffing

app_name = "review"

urlpatterns = [
    # --- staffing (review/views_staffing.py) ---
    path("calls/<int:pk>/staffing/", views_staffing.staffing, name="staffing"),
    path("calls/<int:pk>/staffing/run/", views_staffing.staffing_run, name="staffing_run"),
    path(
        "calls/<int:pk>/staffing/runs/<int:run_pk>/",
        views_staffing.staffing_run_detail,
        name="staffing_run_detail",
    ),
    path("calls/<int:pk>/staffing/why/", views_staffing.staffing_why, name="staffing_why"),
    # --- reviewers (review/views_reviewer.py) ---
    path("my/", views_reviewer.assignment_list, name="assignment_list"),
    path("my/<int:pk>/", views_reviewer.assignment_detail, name="assignment"),
    path("my/<int:pk>/review/", views_reviewer.review_form, name="review"),
    path("my/<int:pk>/review/pdf/", views_reviewer.review_pdf, name="review_pdf"),
    path("my/<int:pk>/steps/<slug:name>/", views_reviewer.assignment_step, name="assignment_step"),
    path(
        "my/<int:pk>/attachments/<int:attachment_pk>/",
        views_reviewer.attachment_download,
        name="assignment_attachment",
    ),
    path(
        "my/<int:pk>/intercession/",
        views_reviewer.intercession_report,
        name="assignment_intercession",
    ),
    path("pledge/<int:call_pk>/", views_reviewer.pledge, name="pledge"),
    path(
        "invitation/<str:token>/accept/",
        views_reviewer.invitation,
        {"answer": "accept"},
        name="invitation_accept",
    ),
    path(
        "invitation/<str:token>/decline/",
        views_reviewer.invitation,
        {"answer": "decline"},
        name="invitation_decline",
    ),
    # --- review board, decision, notice (review/views_board.py) ---
    path("board/", views_board.board_index, name="boards"),
    path("board/<int:call_pk>/", views_board.board, name="board"),
    path("board/<int:call_pk>/decide/", views_board.board_decide, name="board_decide"),
    path("board/reviews/<int:review_pk>/flag/", views_board.review_flag, name="board_flag"),
    path("reviews/<int:review_pk>/rating/", views_board.review_rate, name="review_rate"),
    # --- expert pool (review/views_pool.py) ---
    path("pool/", views_pool.pool_list, name="pool"),
    path("pool/new/", views_pool.pool_create, name="pool_create"),
    path("pool/add/", views_pool.pool_add, name="pool_add"),
    path("pool/import/", views_pool.collaboration_import, name="pool_import"),
    path("pool/<int:pk>/", views_pool.pool_detail, name="pool_detail"),
    path("pool/<int:pk>/edit/", views_pool.pool_edit, name="pool_edit"),
    path(
        "pool/<int:pk>/collaborations/",
        views_pool.collaboration_add,
        name="pool_collaboration_add",
    ),
    path(
        "pool/<int:pk>/collaborations/<int:collaboration_pk>/delete/",
        views_pool.collaboration_delete,
        name="pool_collaboration_delete",
    ),
]
