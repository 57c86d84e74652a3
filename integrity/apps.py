from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrityConfig(AppConfig):
    name = "integrity"
    verbose_name = _("Research integrity")

    def ready(self):
        from accounts.services import subject_identity_changed

        subject_identity_changed.connect(_link_subject, dispatch_uid="integrity.link_subject")


def _link_subject(sender, instance, **kwargs):
    """Credit records waiting for this person or organisation catch it now."""
    from .matching import link_subject

    link_subject(instance)
