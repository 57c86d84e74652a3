from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Agency, ExpertProfile, Institution, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            _("Grantflow"),
            {"fields": ("full_name", "institution", "agency", "country", "orcid", "language")},
        ),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Grantflow"), {"fields": ("full_name", "email", "institution", "agency")}),
    )
    list_display = ("username", "full_name", "email", "institution", "agency", "is_active")
    list_filter = (*BaseUserAdmin.list_filter, "institution", "agency")
    list_select_related = ("institution", "agency")
    search_fields = ("username", "full_name", "email", "first_name", "last_name")
    autocomplete_fields = ("institution", "agency")


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "credit_code", "created_at")
    search_fields = ("name", "name_en", "credit_code")


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "credit_code")
    search_fields = ("name", "name_en", "credit_code")


@admin.register(ExpertProfile)
class ExpertProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "expert_type")
    list_filter = ("expert_type",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__full_name")
    autocomplete_fields = ("user",)
