"""Receivers that drop the public-page cache when what the public pages show changes."""

from django.db.models.signals import post_delete, post_save
from wagtail.signals import page_published, page_unpublished

from . import cache


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
