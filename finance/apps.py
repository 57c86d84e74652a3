from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = _("Finance and performance")

    def ready(self):
        # --- money (finance/money.py) ---
        from django_fsm.signals import post_transition

        from grants.models import Project

        from . import money, money_providers

        post_transition.connect(
            money.on_project_transition, sender=Project, dispatch_uid="finance.money.project"
        )
        money_providers.register()

        # --- evaluation (finance/evaluation.py, finance/followon.py) ---
        from . import evaluation, followon

        evaluation.connect()
        followon.register()
