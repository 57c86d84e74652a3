from django.contrib import admin

from config.admin import ReadOnlyAdminMixin

from .models import (
    BarLift,
    CaseEvidence,
    CaseSubject,
    CreditRecord,
    CreditRule,
    ImportBatch,
    InvestigationRequest,
    MisconductCase,
)


@admin.register(CreditRecord)
class CreditRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: records are written and corrected on the integrity officer's pages."""

    list_display = (
        "id",
        "subject_user",
        "subject_institution",
        "category",
        "bars_apply",
        "bars_review",
        "bars_receive_funds",
        "starts_on",
        "ends_on",
    )
    list_filter = ("category", "bars_apply", "bars_review", "bars_receive_funds", "source")
    list_select_related = ("subject_user", "subject_institution")
    search_fields = (
        "subject_user__username",
        "subject_user__full_name",
        "subject_institution__name",
    )
    date_hierarchy = "starts_on"


# --- credit and gates ---


@admin.register(CreditRule)
class CreditRuleAdmin(admin.ModelAdmin):
    """The institutional credit rule (weights and grade bands) is data admins edit."""

    list_display = ("name", "active", "band_a", "band_b", "band_c", "lookback_years", "updated_at")
    list_filter = ("active",)
    readonly_fields = ("updated_at",)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: lists are imported on the integrity officer's exchange pages."""

    list_display = ("id", "source", "file_format", "rows", "created", "duplicates", "rejected")
    list_filter = ("file_format",)
    search_fields = ("source", "filename", "sha256")
    date_hierarchy = "created_at"


# --- misconduct cases (integrity/cases.py runs them; the admin reads) ---


class CaseSubjectInline(admin.TabularInline):
    model = CaseSubject
    extra = 0
    raw_id_fields = ("user", "institution", "agency")


@admin.register(MisconductCase)
class MisconductCaseAdmin(admin.ModelAdmin):
    """Read-only: the state changes only through the case pages (and is logged there)."""

    list_display = ("number", "title", "state", "channel", "kind", "created_at")
    list_filter = ("state", "channel", "kind")
    search_fields = ("number", "title")
    list_select_related = ("investigator",)
    inlines = [CaseSubjectInline]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["records"]

    def has_add_permission(self, request):
        return False


@admin.register(CaseSubject)
class CaseSubjectAdmin(admin.ModelAdmin):
    list_display = ("case", "user", "institution", "agency", "name")
    list_select_related = ("case", "user", "institution", "agency")
    raw_id_fields = ("case", "user", "institution", "agency")


@admin.register(CaseEvidence)
class CaseEvidenceAdmin(admin.ModelAdmin):
    list_display = ("case", "original_name", "content_type", "size", "uploaded_at")
    list_select_related = ("case",)
    raw_id_fields = ("case", "uploaded_by")


@admin.register(InvestigationRequest)
class InvestigationRequestAdmin(admin.ModelAdmin):
    list_display = ("case", "institution", "due_on", "answered_at")
    list_filter = ("due_on",)
    list_select_related = ("case", "institution")
    raw_id_fields = ("case", "institution", "requested_by", "answered_by")


@admin.register(BarLift)
class BarLiftAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the nightly task notes lifted bars."""

    list_display = ("record", "lifted_on", "notified", "created_at")
    list_filter = ("notified",)
    date_hierarchy = "lifted_on"
