from django.contrib import admin

from .models import (
    Application,
    Attachment,
    BudgetLine,
    ExpertToAvoid,
    NumberSequence,
    Objection,
    Project,
    TeamMember,
)


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    autocomplete_fields = ("user",)
    extra = 0


class BudgetLineInline(admin.TabularInline):
    model = BudgetLine
    extra = 0


class AttachmentInline(admin.TabularInline):
    model = Attachment
    fields = ("title", "original_name", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ExpertToAvoidInline(admin.TabularInline):
    model = ExpertToAvoid
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """The state is changed only by the workflow, never here."""

    list_display = ("number", "title", "applicant", "institution", "call", "state", "submitted_at")
    list_filter = ("state", "call__program")
    list_select_related = ("applicant", "institution", "call")
    search_fields = ("number", "title", "title_en", "applicant__username", "applicant__full_name")
    readonly_fields = ("state", "number", "submitted_at", "created_at", "updated_at")
    autocomplete_fields = ("applicant", "institution")
    raw_id_fields = ("call",)
    inlines = [TeamMemberInline, BudgetLineInline, AttachmentInline, ExpertToAvoidInline]


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    list_display = ("prefix", "year", "last")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ("application", "user", "role")
    list_filter = ("role",)
    list_select_related = ("application", "user")
    search_fields = ("application__number", "user__username", "user__full_name")
    autocomplete_fields = ("user",)
    raw_id_fields = ("application",)


@admin.register(BudgetLine)
class BudgetLineAdmin(admin.ModelAdmin):
    list_display = ("application", "category", "amount")
    list_filter = ("category",)
    list_select_related = ("application",)
    search_fields = ("application__number",)
    raw_id_fields = ("application",)


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Uploaded through the proposal pages only; here to look up a file's checksum."""

    list_display = ("application", "title", "original_name", "size", "uploaded_by", "uploaded_at")
    list_select_related = ("application", "uploaded_by")
    search_fields = ("application__number", "title", "original_name", "sha256")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ExpertToAvoid)
class ExpertToAvoidAdmin(admin.ModelAdmin):
    list_display = ("application", "name", "institution", "reason")
    list_select_related = ("application",)
    search_fields = ("application__number", "name", "institution")
    raw_id_fields = ("application", "user")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    """Projects are created by the award step; their state changes only by transitions."""

    list_display = ("number", "application", "state", "approved_budget", "created_at")
    list_filter = ("state",)
    list_select_related = ("application",)
    search_fields = ("number", "application__title")
    readonly_fields = ("application", "number", "state", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(Objection)
class ObjectionAdmin(admin.ModelAdmin):
    """Filed on the public notice page, resolved by integrity officers through their page."""

    list_display = ("confirmation_number", "application", "kind", "state", "created_at")
    list_filter = ("state", "kind")
    list_select_related = ("application",)
    search_fields = ("confirmation_number", "application__number")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
