"""Every gate asks the eligibility service: creation, submission, endorsement, reviewer
invitation (the engine), acceptance, review submission, award, the funds gate and agency
staff's manage bar. A barred subject is refused with 409 ``integrity_block`` (a clear message
on the page), an unbarred one passes; a bar that ended yesterday no longer blocks; a bar that
starts mid-process stops the next gate; each person reads their own record only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.workflow import WorkflowError
from grants import services as grants
from grants.enums import ApplicationState
from grants.models import Application, Project
from integrity import services as integrity
from integrity.models import Action
from programs import permissions
from review import services as review
from review.assignment import assign_call
from review.models import AssignmentState, ReviewAssignment
from tests import factories as f
from tests.review.staffing_data import bar_from_reviewing, make_call

S = ApplicationState
A = AssignmentState
pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def bar(action=Action.APPLY, *, ended_yesterday=False, **subject):
    flags = {f"bars_{a}": a == action for a in Action.values}
    if ended_yesterday:
        return f.CreditRecordFactory(
            starts_on=today() - timedelta(days=400), ends_on=today() - timedelta(days=1),
            **flags, **subject,
        )  # fmt: skip
    return f.CreditRecordFactory(**flags, **subject)


def blocked(fn, **kwargs):
    with pytest.raises(WorkflowError) as exc:
        fn(**kwargs)
    assert exc.value.code == "integrity_block"
    return exc.value.detail


def submitted(**kw):
    application = f.ApplicationFactory(**kw)
    return grants.application_submit(application=application, user=application.applicant)


# --- creation -------------------------------------------------------------------------------


def test_creation_refuses_a_barred_pi_and_lets_a_clear_one_pass():
    call = f.CallFactory()
    pi, clear = f.applicant(), f.applicant()
    record = bar(subject_user=pi)
    detail = blocked(grants.application_create, applicant=pi, call=call, title="x")
    assert f"record {record.pk}" in detail and detail.startswith("You may not apply")
    assert not Application.objects.filter(applicant=pi).exists()
    assert grants.application_create(applicant=clear, call=call, title="y").state == S.DRAFT


def test_creation_refuses_a_barred_institution_without_its_record_details():
    pi = f.applicant()
    record = bar(subject_institution=pi.institution)
    detail = blocked(grants.application_create, applicant=pi, call=f.CallFactory(), title="x")
    assert detail.startswith("Your institution may not apply for funding")
    assert f"record {record.pk}" not in detail


def test_creation_after_a_bar_that_ended_yesterday():
    pi = f.applicant()
    bar(subject_user=pi, ended_yesterday=True)
    bar(subject_institution=pi.institution, ended_yesterday=True)
    application = grants.application_create(applicant=pi, call=f.CallFactory(), title="x")
    assert Application.objects.get(pk=application.pk).applicant == pi


def test_creation_in_the_api_is_409_integrity_block(api):
    pi = f.applicant()
    bar(subject_user=pi)
    response = api(pi).post(
        "/api/v1/applications/", {"call": f.CallFactory().pk, "title": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    assert "You may not apply for funding" in response.json()["detail"]
    assert not Application.objects.exists()


def test_creation_page_says_why(login):
    pi = f.applicant()
    record = bar(subject_user=pi)
    call = f.CallFactory()
    response = login(pi).post(reverse("grants:create"), {"call": call.pk, "title": "拓扑"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "You may not apply for funding" in text and f"record {record.pk}" in text
    assert not Application.objects.exists()


# --- submission (PI, team, institution) -----------------------------------------------------


@pytest.mark.parametrize("who", ["pi", "member", "institution"])
def test_submission_in_the_api_is_409_for_each_subject(api, who):
    member = f.applicant()
    application = f.ApplicationFactory(team=[member])
    subject = {
        "pi": {"subject_user": application.applicant},
        "member": {"subject_user": member},
        "institution": {"subject_institution": application.institution},
    }[who]
    bar(**subject)
    response = api(application.applicant).post(
        f"/api/v1/applications/{application.pk}/transitions/submit/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    application.refresh_from_db()
    assert application.state == S.DRAFT


def test_submission_passes_when_bars_ended_yesterday():
    member = f.applicant()
    application = f.ApplicationFactory(team=[member])
    bar(subject_user=application.applicant, ended_yesterday=True)
    bar(subject_user=member, ended_yesterday=True)
    bar(subject_institution=application.institution, ended_yesterday=True)
    application = grants.application_submit(application=application, user=application.applicant)
    assert application.state == S.SUBMITTED


def test_submission_page_shows_the_applicant_a_reason_without_the_members_record(login):
    member = f.applicant(full_name="李四")
    application = f.ApplicationFactory(team=[member])
    record = bar(subject_user=member, category="fabrication")
    response = login(application.applicant).post(
        reverse("grants:transition", args=[application.pk, "submit"]), {"comment": ""}
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "A team member may not apply for funding at present" in text
    assert f"record {record.pk}" not in text
    assert "Fabrication" not in text


# --- the viewer-specific reason -------------------------------------------------------------


def test_each_viewer_reads_the_reason_meant_for_them():
    member = f.applicant(full_name="李四")
    application = f.ApplicationFactory(team=[member])
    admin = f.institution_admin(application.institution)
    record = bar(subject_user=member, category="fabrication", ends_on=today() + timedelta(days=9))
    inst_record = bar(subject_institution=application.institution)
    roles = grants._integrity_roles(application, [member])

    def reasons(viewer):
        return integrity.check_eligibility(
            Action.APPLY,
            users=[application.applicant, member],
            institutions=[application.institution],
            viewer=viewer,
            roles=roles,
        ).reasons

    pi_view = " ".join(reasons(application.applicant))
    assert "A team member may not apply for funding at present" in pi_view
    assert "Your institution may not apply for funding at present" in pi_view
    for hidden in ("李四", f"record {record.pk}", f"record {inst_record.pk}", "Fabrication"):
        assert hidden not in pi_view
    # The member reads their own record in full.
    member_view = " ".join(reasons(member))
    assert (
        f"You may not apply for funding until {record.ends_on.isoformat()} "
        f"(record {record.pk}: Fabrication or falsification)."
    ) in member_view
    assert "The host institution may not apply for funding at present" in member_view
    # The research office reads its institution's record, not the member's.
    admin_view = " ".join(reasons(admin))
    assert f"record {inst_record.pk}" in admin_view and f"record {record.pk}" not in admin_view
    # The integrity officer reads everything, names included.
    officer_view = " ".join(reasons(f.integrity_officer()))
    assert "李四" in officer_view and f"record {record.pk}" in officer_view
    assert f"record {inst_record.pk}" in officer_view
    # Without a viewer (logs, the system) the full sentences, as before.
    full = {integrity._full_reason(r, Action.APPLY) for r in [record, inst_record]}
    assert set(reasons(None)) == full


# --- endorsement: a bar that starts mid-process ---------------------------------------------


def test_a_bar_recorded_after_submission_stops_the_endorsement():
    application = submitted()
    admin = f.institution_admin(application.institution)
    record = bar(subject_user=application.applicant)  # after the submission
    detail = blocked(grants.application_endorse, application=application, user=admin)
    assert "The principal investigator may not apply for funding at present" in detail
    assert f"record {record.pk}" not in detail
    application.refresh_from_db()
    assert application.state == S.SUBMITTED


def test_endorsement_passes_once_the_bar_ended_yesterday():
    application = submitted()
    admin = f.institution_admin(application.institution)
    bar(subject_user=application.applicant, ended_yesterday=True)
    application = grants.application_endorse(application=application, user=admin)
    assert application.state == S.ENDORSED


def test_endorsement_in_the_api_is_409(api):
    application = submitted()
    admin = f.institution_admin(application.institution)
    bar(subject_institution=application.institution)
    response = api(admin).post(
        f"/api/v1/applications/{application.pk}/transitions/endorse/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    assert Application.objects.get(pk=application.pk).state == S.SUBMITTED


# --- reviewers: invitation (the engine), acceptance, submission -----------------------------


def test_the_engine_never_invites_a_barred_reviewer():
    call, apps, pool = make_call(apps=3, reviewers=12, seed=3, per_app=2, intl=0, load=3)
    barred = pool[0]
    bar_from_reviewing(barred)
    expired = pool[1]
    bar(Action.REVIEW, subject_user=expired, ended_yesterday=True)
    assign_call(call)
    assert ReviewAssignment.objects.filter(application__call=call).exists()
    assert not ReviewAssignment.objects.filter(reviewer=barred).exists()
    assert set(ReviewAssignment.objects.values_list("application_id", flat=True)) == {
        a.pk for a in apps
    }


def invitation(state=A.INVITED):
    application = f.set_state(f.ApplicationFactory(), S.UNDER_REVIEW, number="BF-2027-000901")
    assignment = f.ReviewAssignmentFactory(application=application, state=state)
    review.pledge_sign(reviewer=assignment.reviewer, call=application.call)
    return assignment


def test_acceptance_refuses_a_barred_reviewer_in_the_api(api):
    assignment = invitation()
    record = bar(Action.REVIEW, subject_user=assignment.reviewer)
    response = api(assignment.reviewer).post(
        f"/api/v1/review-assignments/{assignment.pk}/transitions/accept/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    assert f"record {record.pk}" in response.json()["detail"]
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED


def test_acceptance_passes_after_a_bar_that_ended_yesterday():
    assignment = invitation()
    bar(Action.REVIEW, subject_user=assignment.reviewer, ended_yesterday=True)
    assert review.assignment_accept(assignment=assignment, user=assignment.reviewer).state == (
        A.ACCEPTED
    )


def test_a_bar_after_acceptance_stops_the_review_submission():
    assignment = invitation()
    review.assignment_accept(assignment=assignment, user=assignment.reviewer)
    bar(Action.REVIEW, subject_user=assignment.reviewer)
    blocked(review.review_submit, assignment=assignment, user=assignment.reviewer)
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED


# --- award ----------------------------------------------------------------------------------


def in_notice_ended():
    application = f.ApplicationFactory()
    now = timezone.now()
    return f.set_state(
        application, S.IN_NOTICE, number=f"BF-2027-{application.pk:06d}",
        notice_starts_at=now - timedelta(days=8), notice_ends_at=now - timedelta(minutes=1),
    )  # fmt: skip


@pytest.mark.parametrize("who", ["pi", "institution"])
def test_award_refuses_when_pi_or_institution_may_not_receive_funds(api, who):
    application = in_notice_ended()
    subject = (
        {"subject_user": application.applicant}
        if who == "pi"
        else {"subject_institution": application.institution}
    )
    record = bar(Action.RECEIVE_FUNDS, **subject)
    officer = f.officer()
    response = api(officer).post(
        f"/api/v1/applications/{application.pk}/transitions/award/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    assert f"record {record.pk}" in response.json()["detail"]  # officers read records
    assert Application.objects.get(pk=application.pk).state == S.IN_NOTICE
    assert not Project.objects.exists()


def test_award_is_not_stopped_by_an_apply_bar_nor_an_ended_one():
    application = in_notice_ended()
    bar(Action.APPLY, subject_user=application.applicant)
    bar(Action.RECEIVE_FUNDS, subject_user=application.applicant, ended_yesterday=True)
    grants.application_transition(application=application, name="award", user=f.officer())
    assert Project.objects.get(application=application).number == application.number


def test_award_page_says_why(login):
    application = in_notice_ended()
    bar(Action.RECEIVE_FUNDS, subject_institution=application.institution)
    response = login(f.officer()).post(
        reverse("grants:transition", args=[application.pk, "award"]), {"comment": ""}
    )
    assert response.status_code == 409
    assert "is barred from receive funds" in response.content.decode()
    assert not Project.objects.exists()


# --- the funds gate (contract signing and disbursement come with issue 5) -------------------


def test_funds_gate():
    pi, other = f.applicant(), f.applicant()
    bar(Action.RECEIVE_FUNDS, subject_user=pi)
    detail = blocked(integrity.funds_gate, users=[pi], institutions=[pi.institution], viewer=pi)
    assert detail.startswith("You may not receive funds")
    assert integrity.funds_gate(users=[other], institutions=[other.institution]).allowed
    bar(Action.RECEIVE_FUNDS, subject_user=other, ended_yesterday=True)
    assert integrity.funds_gate(users=[other]).allowed


# --- agency staff: the manage bar -----------------------------------------------------------

needs_manage = pytest.mark.skipif(
    integrity.manage_action() is None, reason="records carry no manage bar yet"
)


def delegated():
    agency = f.AgencyFactory()
    program = f.ProgramFactory(agency=agency)
    staff = f.agency_staff(agency)
    application = f.ApplicationFactory(call=f.CallFactory(program=program))
    application = f.set_state(application, S.ENDORSED, number=f"BF-2027-{application.pk:06d}")
    return staff, program, application


@needs_manage
def test_a_manage_bar_takes_every_program_away(login, api):
    staff, program, application = delegated()
    assert permissions.can_manage_program(staff, program)
    assert login(staff).get(reverse("grants:detail", args=[application.pk])).status_code == 200
    record = bar(Action.MANAGE, subject_user=staff)
    staff = type(staff).objects.get(pk=staff.pk)  # a new request: a new user object
    assert not permissions.can_manage_program(staff, program)
    assert list(permissions.managed_programs(staff)) == []
    client = login(staff)
    assert client.get(reverse("grants:detail", args=[application.pk])).status_code == 404
    queue = client.get(reverse("grants:formal_check_queue"))
    assert application.title not in queue.content.decode()
    assert api(staff).get(f"/api/v1/applications/{application.pk}/").status_code == 404
    assert api(staff).get("/api/v1/applications/").json()["count"] == 0
    response = api(staff).post(
        f"/api/v1/applications/{application.pk}/transitions/accept/", {}, format="json"
    )
    assert response.status_code == 404
    assert Application.objects.get(pk=application.pk).state == S.ENDORSED
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "You may not manage programs at present" in dashboard
    assert f"record {record.pk}" in dashboard


@needs_manage
def test_a_manage_bar_that_ended_yesterday_gives_the_programs_back(login):
    staff, program, application = delegated()
    bar(Action.MANAGE, subject_user=staff, ended_yesterday=True)
    assert permissions.can_manage_program(staff, program)
    assert login(staff).get(reverse("grants:detail", args=[application.pk])).status_code == 200


@needs_manage
def test_the_manage_bar_is_read_once_per_user_object():
    agency = f.AgencyFactory()
    programs = [f.ProgramFactory(agency=agency) for _ in range(5)]
    staff = f.agency_staff(agency)
    staff = type(staff).objects.get(pk=staff.pk)
    staff.role_names  # noqa: B018  (roles are read once, too)
    with CaptureQueriesContext(connection) as first:
        assert permissions.can_manage_program(staff, programs[0])
    with CaptureQueriesContext(connection) as rest:
        for program in programs:
            assert permissions.can_manage_program(staff, program)
    assert len(rest) == 0
    bar_sql = [q["sql"] for q in first.captured_queries if "integrity_creditrecord" in q["sql"]]
    assert len(bar_sql) == 1


@needs_manage
def test_a_manage_bar_does_not_touch_program_officers():
    officer = f.officer()
    bar(Action.MANAGE, subject_user=officer)
    program = f.ProgramFactory()
    assert permissions.can_manage_program(officer, program)
