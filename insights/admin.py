from django.contrib import admin

from .models import TrackedTeam

# --- tracking -------------------------------------------------------------------------


@admin.register(TrackedTeam)
class TrackedTeamAdmin(admin.ModelAdmin):
    list_display = ("team_name", "pi", "added_by", "added_at", "removed_at")
    list_filter = ("removed_at",)
    search_fields = ("team_name", "pi__username", "pi__full_name")
    raw_id_fields = ("pi", "added_by", "removed_by")

    def has_delete_permission(self, request, obj=None):
        return False
