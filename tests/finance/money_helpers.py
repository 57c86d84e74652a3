"""Shared starting points of the money tests."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from audit.workflow import perform
from grants.models import Project
from integrity.models import Action
from tests import factories as f

D = Decimal


def awarded(budget=None, **app_kw):
    application = f.ApplicationFactory(budget=budget, **app_kw)
    application = f.set_state(application, "awarded", number=f"BF-2027-{application.pk:06d}")
    total = sum((b.amount for b in application.budget_lines.all()), D("0.00"))
    return Project.objects.create(
        application=application, number=f"XM-2027-{application.pk:06d}", approved_budget=total
    )


def active(officer=None, **kw):
    """A signed project (850,000.00 by default): instalments 510,000 / 255,000 / 85,000."""
    officer = officer or f.officer()
    project = awarded(**kw)
    return perform(project, "sign", user=officer), officer


def bar_funds(project=None, *, user=None, institution=None, ended=False):
    flags = {f"bars_{a}": a == Action.RECEIVE_FUNDS for a in Action.values}
    if project is not None and user is None and institution is None:
        user = project.application.applicant
    dates = {}
    if ended:
        dates = {
            "starts_on": timezone.localdate() - timedelta(days=400),
            "ends_on": timezone.localdate() - timedelta(days=1),
        }
    return f.CreditRecordFactory(
        subject_user=user, subject_institution=institution, **flags, **dates
    )


def lift(record):
    type(record).objects.filter(pk=record.pk).update(
        ends_on=timezone.localdate() - timedelta(days=1),
        starts_on=timezone.localdate() - timedelta(days=30),
    )


def to_final_review(project):
    """Straight to final review (the evaluation inputs are another part's tests)."""
    Project.objects.filter(pk=project.pk).update(state="final_review")
    project.refresh_from_db()
    return project
