"""Receivers that keep the public site in step with the data: every call gets its pages
(``cms.pages.ensure_call_page``), and the page cache is dropped when what the pages show
changes."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_fsm.signals import post_transition
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


def notice_changed(sender, instance, **kwargs):
    """A proposal in notice was saved or deleted: the notice and home pages change."""
    from grants.enums import ApplicationState

    if instance.state == ApplicationState.IN_NOTICE:
        cache.bump()


def left_notice(sender, instance, source, **kwargs):
    """A proposal left the notice (awarded, revoked): it comes off the public pages."""
    from grants.enums import ApplicationState

    if source == ApplicationState.IN_NOTICE:
        cache.bump()


def connect():
    from finance.models.evaluation import FinalEvaluation, STReport
    from grants.models import Application
    from programs.models import Call, Program

    page_published.connect(cache.bump, dispatch_uid="cms_bump_published")
    page_unpublished.connect(cache.bump, dispatch_uid="cms_bump_unpublished")
    # Proposals show on the public site only while in notice: a draft saved or a proposal
    # submitted on deadline day must not drop every cached page.
    post_save.connect(notice_changed, sender=Application, dispatch_uid="cms_bump_notice_save")
    post_delete.connect(notice_changed, sender=Application, dispatch_uid="cms_bump_notice_del")
    post_transition.connect(left_notice, sender=Application, dispatch_uid="cms_bump_notice_left")
    for model in (Call, Program, STReport, FinalEvaluation):
        post_save.connect(cache.bump, sender=model, dispatch_uid=f"cms_bump_save_{model.__name__}")
        post_delete.connect(
            cache.bump, sender=model, dispatch_uid=f"cms_bump_delete_{model.__name__}"
        )
    post_save.connect(call_saved, sender=Call, dispatch_uid="cms_call_page")
