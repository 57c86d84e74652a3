"""Peer-review pages. Each part of the module adds its own paths below its heading."""

from django.urls import path  # noqa: F401

app_name = "review"

urlpatterns = [
    # --- staffing (review/views_staffing.py) ---
    # --- reviewers (review/views_reviewer.py) ---
    # --- review board, decision, notice (review/views_board.py) ---
]
