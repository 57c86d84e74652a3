"""Shared pieces of the sysadmins' Django admin."""


class ReadOnlyAdminMixin:
    """For records written only by the application (logs, credit records, ledgers): the
    admin may look, never add, change or delete."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
