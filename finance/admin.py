from django.contrib import admin

from programs.models import Delegation

# --- contracts (finance/models/contracts.py) ---
from .models import (  # noqa: E402
    KPI,
    AgencyGrade,
    ApprovedBudgetLine,
    BlockGrant,
    BudgetAdjustment,
    Contract,
    Disbursement,
    ExpenditureLine,
    ExpenditureReport,
    FinalEvaluation,
    FollowOnRule,
    LedgerEntry,
    MidtermReport,
    Milestone,
    ModePayment,
    PanelOpinion,
    PostSubsidy,
    ProgramBar,
    ProgramMoneyPolicy,
    Redemption,
    ServiceProvider,
    STReport,
    Voucher,
    VoucherPayout,
)


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


# --- evaluation (finance/models/evaluation.py) ---


@admin.register(FollowOnRule)
class FollowOnRuleAdmin(admin.ModelAdmin):
    """The follow-on rule per program and grade (no program: the default)."""

    list_display = ("program", "grade", "eligible", "max_share", "bar_years", "recover_funds")
    list_filter = ("grade", "eligible")
    list_select_related = ("program",)


@admin.register(MidtermReport)
class MidtermReportAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "decision", "submitted_at", "decided_at")
    list_filter = ("decision",)
    list_select_related = ("project",)
    search_fields = ("project__number",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FinalEvaluation)
class FinalEvaluationAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "outcome", "grade", "decided_at", "notice_ends_at")
    list_filter = ("outcome", "grade")
    list_select_related = ("project",)
    search_fields = ("project__number",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PanelOpinion)
class PanelOpinionAdmin(admin.ModelAdmin):
    list_display = ("id", "evaluation", "expert", "recommendation", "grade")
    list_select_related = ("evaluation__project", "expert")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(STReport)
class STReportAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "title", "published_at")
    list_select_related = ("project",)
    search_fields = ("title", "project__number")


@admin.register(ProgramBar)
class ProgramBarAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "program", "project", "starts_on", "ends_on")
    list_select_related = ("user", "program", "project")


# --- agencies and other funding modes (issue 5) ---


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ("program", "agency", "starts_on", "ends_on")
    list_select_related = ("program", "agency")
    list_filter = ("agency",)


@admin.register(AgencyGrade)
class AgencyGradeAdmin(admin.ModelAdmin):
    list_display = ("agency", "year", "score", "grade")
    list_select_related = ("agency",)
    list_filter = ("year", "grade")


@admin.register(BlockGrant)
class BlockGrantAdmin(admin.ModelAdmin):
    list_display = ("program", "institution", "year", "amount", "grade", "next_amount")
    list_select_related = ("program", "institution")
    list_filter = ("year", "grade")


@admin.register(PostSubsidy)
class PostSubsidyAdmin(admin.ModelAdmin):
    list_display = ("title", "program", "institution", "amount_requested", "status")
    list_select_related = ("program", "institution")
    list_filter = ("status",)


@admin.register(ModePayment)
class ModePaymentAdmin(admin.ModelAdmin):
    list_display = ("id", "post_subsidy", "amount", "paid_on")
    list_select_related = ("post_subsidy",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceProvider)
class ServiceProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "credit_code", "operating_since", "posted_on", "admitted_on")
    search_fields = ("name", "credit_code")


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ("id", "holder_kind", "enterprise", "team_name", "year", "amount")
    list_select_related = ("enterprise",)
    list_filter = ("year", "holder_kind")


@admin.register(VoucherPayout)
class VoucherPayoutAdmin(admin.ModelAdmin):
    list_display = ("year", "quarter", "total")


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ("contract_number", "voucher", "provider", "amount", "payout")
    list_select_related = ("voucher", "provider", "payout")


# --- money (finance/models/money.py) ---


@admin.register(ProgramMoneyPolicy)
class ProgramMoneyPolicyAdmin(admin.ModelAdmin):
    list_display = ("program", "adjustments_need_funder")
    list_select_related = ("program",)


class _ReadOnly(admin.ModelAdmin):
    """Money moves through the services (ledger and audit chain), never the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Disbursement)
class DisbursementAdmin(_ReadOnly):
    list_display = ("project", "seq", "milestone", "amount", "state", "hold_kind", "due_at")
    list_filter = ("state", "hold_kind")
    list_select_related = ("project",)
    search_fields = ("project__number",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(_ReadOnly):
    list_display = ("project", "kind", "amount", "disbursement", "actor", "created_at")
    list_filter = ("kind",)
    list_select_related = ("project", "disbursement", "actor")
    search_fields = ("project__number",)


@admin.register(BudgetAdjustment)
class BudgetAdjustmentAdmin(_ReadOnly):
    list_display = ("project", "from_category", "to_category", "amount", "authority", "state")
    list_filter = ("state", "authority")
    list_select_related = ("project",)


@admin.register(ExpenditureReport)
class ExpenditureReportAdmin(_ReadOnly):
    list_display = ("project", "period_start", "period_end", "submitted_by")
    list_select_related = ("project", "submitted_by")


@admin.register(ExpenditureLine)
class ExpenditureLineAdmin(_ReadOnly):
    list_display = ("report", "category", "amount")
