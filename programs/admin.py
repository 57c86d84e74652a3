from django.contrib import admin

from . import services
from .models import Call, Program, RuleSet


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "created_at")
    search_fields = ("code", "name")


class CallInline(admin.TabularInline):
    model = Call
    fields = ("title", "opens_at", "closes_at", "max_budget", "sum_kind", "lump_sum")
    show_change_link = True
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "funding_mode", "agency")
    list_filter = ("category", "funding_mode", "agency")
    list_select_related = ("agency",)
    search_fields = ("code", "name", "name_en")
    inlines = [CallInline]

    def save_model(self, request, obj, form, change):
        # Through the service, so that the agency's permissions follow the delegation.
        fields = {name: getattr(obj, name) for name in services.PROGRAM_FIELDS}
        if change:
            saved = services.program_update(program=obj, **fields)
        else:
            saved = services.program_create(**fields)
        obj.pk = saved.pk


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("title", "program", "opens_at", "closes_at", "max_budget", "sum_kind")
    list_filter = ("program__category", "sum_kind", "lump_sum")
    list_select_related = ("program",)
    search_fields = ("title", "title_en", "program__code")
    date_hierarchy = "opens_at"
