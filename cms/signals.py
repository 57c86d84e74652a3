"""Receivers that keep the public site in step with the data: every call gets its pages
(``cms.pages.ensure_call_page``), and the page cache is dropped when what the pages show
changes."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from wagtail.signals import page_published, page_unpublished

from . import cache


def call_saved(sender, instance, raw=False, **kwargs):
    """After the call's transaction commits, give it its public pages (idempotent); nothing
    while there is no public site. A failure is logged, not raised: the call is saved
    whatever happens to its page."""
    from .models import ProgramPage

    if raw or not ProgramPage.objects.exists():
        return

    def ensure():
        from .pages import ensure_call_page

        call = type(instance).objects.select_related("program").filter(pk=instance.pk).first()
        if call is not None:
            ensure_call_page(call)

    transaction.on_commit(ensure, robust=True)


def connect():
    from finance.models.evaluation import FinalEvaluation, STReport
    from grants.models import Application
    from programs.models import Call, Program

    page_published.connect(cache.bump, dispatch_uid="cms_bump_published")
    page_unpublished.connect(cache.bump, dispatch_uid="cms_bump_unpublished")
    for model in (Application, Call, Program, STReport, FinalEvaluation):
        post_save.connect(cache.bump, sender=model, dispatch_uid=f"cms_bump_save_{model.__name__}")
        post_delete.connect(
            cache.bump, sender=model, dispatch_uid=f"cms_bump_delete_{model.__name__}"
        )
    post_save.connect(call_saved, sender=Call, dispatch_uid="cms_call_page")
