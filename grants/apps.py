from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Proposals and grants")

    # --- credit and gates ---
    def ready(self):
        from .integrity_providers import register

        register()
