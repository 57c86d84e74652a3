from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance and performance")

    def ready(self):
        # --- evaluation (finance/evaluation.py, finance/followon.py) ---
        from . import evaluation, followon

        evaluation.connect()
        followon.register()
