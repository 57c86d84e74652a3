from django.contrib import admin

from config.admin import ReadOnlyAdminMixin

from .models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: rows are written by ``enqueue`` and the runner; a job that failed its
    attempts shows its last error here."""

    list_display = ("id", "task", "created_at", "dispatched_at", "done_at", "attempts")
    list_filter = ("task", ("done_at", admin.EmptyFieldListFilter))
    search_fields = ("task", "last_error")
    ordering = ("-id",)
