from django.contrib import admin

from config.admin import ReadOnlyAdminMixin

from .models import ChainHead, TransitionLog


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the log is append-only, written by the transition signal and by
    ``audit.chain.record``."""

    ordering = ("-seq",)

    list_display = (
        "seq",
        "created_at",
        "kind",
        "content_type",
        "object_repr",
        "transition",
        "source",
        "target",
        "actor",
    )
    list_filter = ("kind", "content_type", "transition")
    list_select_related = ("content_type", "actor")
    search_fields = ("object_repr", "comment", "actor__username")
    date_hierarchy = "created_at"


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: moved by every append to the audit chain."""

    list_display = ("seq", "hash", "updated_at")
