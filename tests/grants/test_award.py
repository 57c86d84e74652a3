"""Approve opens the public notice; award waits for its end and for open objections, then
creates the Project; revoke follows an upheld objection. Through the service, the API's
transitions endpoint and the proposal page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from grants.enums import ApplicationState
from grants.models import Objection, ObjectionState, Project
from grants.services import application_transition
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db


def reviewed(**call_kw):
    application = f.ApplicationFactory(call=f.CallFactory(**call_kw))
    return f.set_state(application, S.REVIEWED, number=f"BF-2027-{application.pk:06d}")


def in_notice(ends_in=timedelta(days=3), **call_kw):
    application = reviewed(**call_kw)
    now = timezone.now()
    return f.set_state(
        application,
        S.IN_NOTICE,
        notice_starts_at=now - timedelta(days=4),
        notice_ends_at=now + ends_in,
    )


def objection(application, state=ObjectionState.OPEN, n=1):
    return Objection.objects.create(
        application=application,
        kind=Objection.Kind.PERSON,
        name="张三",
        phone="13800000000",
        text="数据造假",
        confirmation_number=f"OBJ-2099-{n:06d}",
        state=state,
    )


def test_approve_opens_the_notice_for_the_calls_days():
    officer = f.officer()
    application = reviewed(notice_days=7)
    before = timezone.now()
    application = application_transition(
        application=application, name="approve", user=officer, comment="ranked 1"
    )
    application.refresh_from_db()
    assert application.state == S.IN_NOTICE
    assert before <= application.notice_starts_at <= timezone.now()
    assert application.notice_ends_at - application.notice_starts_at == timedelta(days=7)
    log = TransitionLog.objects.for_object(application).get()
    assert (log.transition, log.actor, log.comment) == ("approve", officer, "ranked 1")


def test_award_refused_while_the_window_runs():
    officer = f.officer()
    application = in_notice()
    with pytest.raises(WorkflowError) as exc:
        application_transition(application=application, name="award", user=officer)
    assert exc.value.code == "notice_open"
    application.refresh_from_db()
    assert application.state == S.IN_NOTICE
    assert not Project.objects.exists()


def test_award_refused_while_an_objection_is_open_then_allowed_after_dismissal():
    officer = f.officer()
    application = in_notice(ends_in=-timedelta(minutes=1))
    open_one = objection(application)
    objection(application, state=ObjectionState.DISMISSED, n=2)
    with pytest.raises(WorkflowError) as exc:
        application_transition(application=application, name="award", user=officer)
    assert exc.value.code == "notice_open"
    assert "objection" in exc.value.detail
    Objection.objects.filter(pk=open_one.pk).update(state=ObjectionState.DISMISSED)
    application_transition(application=application, name="award", user=officer)
    application.refresh_from_db()
    assert application.state == S.AWARDED
    project = Project.objects.get(application=application)
    assert project.number == application.number
    assert project.approved_budget == Decimal("850000.00")
    assert project.state == "contracting"


def test_award_after_the_window_creates_the_project_in_the_api(api):
    officer = f.officer()
    application = in_notice(ends_in=-timedelta(seconds=1))
    url = f"/api/v1/applications/{application.pk}/transitions/award/"
    response = api(officer).post(url, {"comment": ""}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "awarded"
    assert Project.objects.get(application=application).approved_budget == Decimal("850000.00")


def test_award_answers_409_notice_open_in_the_api(api):
    officer = f.officer()
    application = in_notice()
    url = f"/api/v1/applications/{application.pk}/transitions/award/"
    response = api(officer).post(url, {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "notice_open"
    application.refresh_from_db()
    assert application.state == S.IN_NOTICE
    # an objection keeps it refused after the window, too
    f.set_state(application, S.IN_NOTICE, notice_ends_at=timezone.now() - timedelta(hours=1))
    objection(application)
    response = api(officer).post(url, {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "notice_open")
    assert not Project.objects.exists()


def test_award_refused_in_the_proposal_page_shows_the_reason(login):
    officer = f.officer()
    application = in_notice()
    response = login(officer).post(
        reverse("grants:transition", args=[application.pk, "award"]), {"t-award-comment": ""}
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "The public notice runs until" in text
    application.refresh_from_db()
    assert application.state == S.IN_NOTICE


def test_no_notice_days_award_follows_approve_at_once():
    officer = f.officer()
    application = reviewed(notice_days=0)
    application_transition(application=application, name="approve", user=officer)
    application.refresh_from_db()
    assert application.notice_starts_at == application.notice_ends_at
    application_transition(application=application, name="award", user=officer)
    application.refresh_from_db()
    assert application.state == S.AWARDED
    assert Project.objects.filter(application=application).count() == 1


def test_award_only_by_managers():
    application = in_notice(ends_in=-timedelta(seconds=1))
    with pytest.raises(WorkflowError) as exc:
        application_transition(application=application, name="award", user=application.applicant)
    assert exc.value.code == "invalid_transition"
    assert not Project.objects.exists()


def test_revoke_needs_an_upheld_objection_and_a_reason():
    officer = f.officer()
    application = in_notice()
    with pytest.raises(WorkflowError) as exc:
        application_transition(
            application=application, name="revoke", user=officer, comment="objection upheld"
        )
    assert exc.value.code == "invalid_transition"
    objection(application, state=ObjectionState.UPHELD)
    with pytest.raises(ValidationError):
        application_transition(application=application, name="revoke", user=officer, comment="")
    application_transition(
        application=application, name="revoke", user=officer, comment="objection upheld"
    )
    application.refresh_from_db()
    assert application.state == S.REJECTED
    log = TransitionLog.objects.for_object(application).get()
    assert (log.transition, log.comment) == ("revoke", "objection upheld")
    assert not Project.objects.exists()
