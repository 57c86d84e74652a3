"""The append-only transition log: one row per step, in order, in the step's transaction."""

import pytest
from django.db import transaction
from django.utils import translation

from audit import workflow
from audit.models import TransitionLog
from audit.selectors import timeline
from grants import services
from grants.enums import ApplicationState
from grants.models import Application
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


class Boom(Exception):
    pass


@pytest.fixture
def submitted():
    application = f.ApplicationFactory()
    return services.application_submit(application=application, user=application.applicant)


def test_a_log_row_cannot_be_changed(submitted):
    log = TransitionLog.objects.for_object(submitted).get()
    log.comment = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        log.save()
    assert TransitionLog.objects.get(pk=log.pk).comment == ""


def test_a_log_row_cannot_be_deleted(submitted):
    log = TransitionLog.objects.for_object(submitted).get()
    with pytest.raises(ValueError, match="append-only"):
        log.delete()
    assert TransitionLog.objects.filter(pk=log.pk).exists()


def test_the_log_cannot_be_bulk_deleted(submitted):
    with pytest.raises(ValueError, match="append-only"):
        TransitionLog.objects.filter(transition="submit").delete()
    [log] = TransitionLog.objects.for_object(submitted)
    assert (log.transition, log.comment) == ("submit", "")


def test_timeline_lists_every_step_oldest_first(django_assert_num_queries):
    application = f.ApplicationFactory()
    pi = application.applicant
    admin = f.institution_admin(application.institution)
    officer = f.officer()
    services.application_submit(application=application, user=pi)
    services.application_transition(
        application=application, name="return", user=admin, comment="Budget note missing"
    )
    services.application_submit(application=application, user=pi)
    services.application_endorse(application=application, user=admin, comment="Checked")
    services.application_transition(application=application, name="accept", user=officer)
    f.ApplicationFactory()  # another object's log is not in this timeline
    with django_assert_num_queries(1):  # the rows with their actors
        entries = list(timeline(application))
        steps = [(e.transition, e.source, e.target, e.actor.username, e.comment) for e in entries]
    assert steps == [
        ("submit", S.DRAFT, S.SUBMITTED, pi.username, ""),
        ("return", S.SUBMITTED, S.DRAFT, admin.username, "Budget note missing"),
        ("submit", S.DRAFT, S.SUBMITTED, pi.username, ""),
        ("endorse", S.SUBMITTED, S.ENDORSED, admin.username, "Checked"),
        ("accept", S.ENDORSED, S.ACCEPTED, officer.username, ""),
    ]
    times = [e.created_at for e in entries]
    assert times == sorted(times)
    assert entries[0].object_repr.startswith(Application.objects.get(pk=application.pk).number)
    assert entries[3].actor_roles == ["institution_admin"]


def test_the_log_rolls_back_with_the_step():
    application = f.ApplicationFactory()
    with pytest.raises(Boom), transaction.atomic():
        services.application_submit(application=application, user=application.applicant)
        assert TransitionLog.objects.for_object(application).count() == 1
        raise Boom
    assert Application.objects.get(pk=application.pk).state == S.DRAFT
    assert not TransitionLog.objects.for_object(application).exists()


def test_a_step_whose_save_fails_leaves_no_log_row():
    application = f.set_state(f.ApplicationFactory(), S.ENDORSED)
    stale = Application.objects.get(pk=application.pk)
    Application.objects.filter(pk=application.pk).update(state=S.ACCEPTED)
    with pytest.raises(workflow.WorkflowError):
        workflow.perform(stale, "accept", user=f.officer(), locked=True)
    assert not TransitionLog.objects.for_object(application).exists()


@pytest.mark.django_db(transaction=True)
def test_log_is_committed_with_the_step_and_not_before():
    """With real transactions: a failure after the step inside the same atomic block
    leaves neither the state nor the log; a successful step commits both."""
    application = f.ApplicationFactory()
    try:
        with transaction.atomic():
            services.application_submit(application=application, user=application.applicant)
            raise Boom
    except Boom:
        pass
    assert Application.objects.get(pk=application.pk).state == S.DRAFT
    assert TransitionLog.objects.count() == 0
    services.application_submit(application=application, user=application.applicant)
    assert TransitionLog.objects.for_object(application).get().target == S.SUBMITTED


def test_anonymous_or_system_steps_have_no_actor():
    """A step run by a task (no user) is still logged, with no actor."""
    application = f.set_state(f.ApplicationFactory(), S.SUBMITTED)
    application.endorse(by=None, comment="by the system")
    application.save()
    [log] = TransitionLog.objects.for_object(application)
    assert (log.actor, log.actor_roles, log.comment) == (None, [], "by the system")


@pytest.mark.django_db
def test_timeline_reads_in_the_readers_language():
    pi = f.applicant()
    app = services.application_submit(application=f.ApplicationFactory(applicant=pi), user=pi)
    entry = TransitionLog.objects.for_object(app).get()
    with translation.override("en"):
        assert (entry.transition_label, entry.source_label, entry.target_label) == (
            "Submit",
            "Draft",
            "Submitted, awaiting institution",
        )
    with translation.override("zh-hans"):
        assert str(entry.source_label) == "草稿"
        assert str(entry.transition_label) != "Submit"
