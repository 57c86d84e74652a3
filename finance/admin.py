from django.contrib import admin

# --- contracts (finance/models/contracts.py) ---
from .models import KPI, ApprovedBudgetLine, Contract, Milestone  # noqa: E402


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    """Read-only: contracts are edited and signed on the project pages."""

    list_display = ("id", "project", "state", "pi_signed_at", "officer_signed_at")
    list_filter = ("state",)
    list_select_related = ("project",)
    search_fields = ("project__number",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApprovedBudgetLine)
class ApprovedBudgetLineAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "category", "requested", "approved")
    list_select_related = ("project",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "title", "due_on")
    list_select_related = ("project",)


@admin.register(KPI)
class KPIAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "indicator", "target_value", "unit")
    list_select_related = ("project",)
