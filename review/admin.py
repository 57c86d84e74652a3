from django.contrib import admin

from .models import (
    Affiliation,
    AssignmentRun,
    Collaboration,
    ConflictDeclaration,
    IntegrityPledge,
    Review,
    ReviewAssignment,
    ReviewRating,
    ScoringScheme,
)


@admin.register(ScoringScheme)
class ScoringSchemeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "is_preset")


@admin.register(Affiliation)
class AffiliationAdmin(admin.ModelAdmin):
    list_display = ("user", "institution", "institution_name", "started_on", "ended_on")
    list_select_related = ("user", "institution")
    raw_id_fields = ("user", "institution")


@admin.register(Collaboration)
class CollaborationAdmin(admin.ModelAdmin):
    list_display = ("person", "partner", "kind", "on", "source")
    list_select_related = ("person", "partner")
    raw_id_fields = ("person", "partner")


@admin.register(IntegrityPledge)
class IntegrityPledgeAdmin(admin.ModelAdmin):
    list_display = ("reviewer", "call", "signed_at")
    list_select_related = ("reviewer", "call")
    readonly_fields = ("reviewer", "call", "signed_at", "text_version")

    def has_add_permission(self, request):
        return False


@admin.register(ConflictDeclaration)
class ConflictDeclarationAdmin(admin.ModelAdmin):
    list_display = ("reviewer", "application", "declared_at")
    list_select_related = ("reviewer", "application")
    readonly_fields = ("reviewer", "application", "reason", "declared_at")

    def has_add_permission(self, request):
        return False


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(admin.ModelAdmin):
    """Made by the assignment engine; states change only through transitions."""

    list_display = ("application", "reviewer", "state", "is_international", "respond_by")
    list_filter = ("state", "is_international")
    list_select_related = ("application", "reviewer")
    readonly_fields = ("application", "reviewer", "state", "token", "invited_at")

    def has_add_permission(self, request):
        return False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("assignment", "total", "recommendation", "submitted_at")
    list_select_related = ("assignment",)
    readonly_fields = ("assignment", "scores", "total", "submitted_at")

    def has_add_permission(self, request):
        return False


@admin.register(ReviewRating)
class ReviewRatingAdmin(admin.ModelAdmin):
    list_display = ("review", "rating", "rated_at")
    list_select_related = ("review",)
    readonly_fields = ("review", "rating", "rated_at")

    def has_add_permission(self, request):
        return False


@admin.register(AssignmentRun)
class AssignmentRunAdmin(admin.ModelAdmin):
    """Runs of the assignment engine (made by the staffing page, the API and tasks)."""

    list_display = ("call", "status", "progress", "started_by", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("call", "started_by")
    readonly_fields = ("call", "started_by", "status", "progress", "message", "result")

    def has_add_permission(self, request):
        return False
