from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = _("Peer review")

    def ready(self):
        from .decisions import connect_signals

        connect_signals()
        # --- credit and gates ---
        from .integrity_providers import register

        register()
