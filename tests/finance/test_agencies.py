"""Third-party agencies: delegations with a scope and a period (ends_on inclusive), the
staff's access ending with the delegation, isolation between agencies (pages, PDFs, API),
the agency's name in the log, and the yearly agency grade with its inputs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit import chain
from audit.models import TransitionLog
from audit.workflow import perform
from finance.agencies import agency_grade_compute, assess_agency
from finance.models import AgencyGrade
from grants.models import Application, Project
from programs.models import Delegation, Program
from programs.permissions import (
    can_manage_program,
    managed_program_ids,
    managed_programs,
    sync_delegations,
)
from programs.services import delegation_create, delegation_end
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def fresh(user):
    """The user as a new request would load it (nothing cached)."""
    return type(user).objects.get(pk=user.pk)


def delegated_world(starts_on=None, ends_on=None):
    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    program = f.ProgramFactory()
    delegation = delegation_create(
        program=program,
        agency=agency,
        starts_on=starts_on or TODAY() - timedelta(days=30),
        ends_on=ends_on or TODAY() + timedelta(days=30),
        created_by=f.officer(),
        evaluation=False,
    )
    program.refresh_from_db()
    return agency, staff, program, delegation


# --- delegations --------------------------------------------------------------------------


def test_delegation_makes_the_agency_the_current_delegate_with_its_scope():
    agency, staff, program, delegation = delegated_world()
    assert program.agency == agency
    assert delegation.scope == ["selection", "process_management", "supervision"]
    assert can_manage_program(fresh(staff), program)
    assert list(managed_programs(fresh(staff))) == [program]
    event = TransitionLog.entries.get(transition="programs.delegation_create")
    assert event.data["agency"] == agency.name
    assert event.data["scope"] == delegation.scope


def test_overlapping_delegations_of_one_program_are_refused():
    agency, staff, program, delegation = delegated_world()
    with pytest.raises(ValidationError) as err:
        delegation_create(
            program=program,
            agency=f.AgencyFactory(),
            starts_on=delegation.ends_on,
            ends_on=delegation.ends_on + timedelta(days=10),
        )
    assert "starts_on" in err.value.message_dict
    assert Delegation.objects.count() == 1


def test_delegation_covers_ends_on_inclusive():
    agency, staff, program, _ = delegated_world(ends_on=TODAY())
    assert can_manage_program(fresh(staff), program)  # the last day still counts
    assert sync_delegations() == 0
    assert Program.objects.get(pk=program.pk).agency == agency


def test_access_ends_the_day_after_ends_on_even_before_the_daily_task():
    agency, staff, program, delegation = delegated_world()
    Delegation.objects.filter(pk=delegation.pk).update(ends_on=TODAY() - timedelta(days=1))
    staff = fresh(staff)
    assert not can_manage_program(staff, program)
    assert program.pk not in managed_program_ids(staff)
    assert not managed_programs(fresh(staff)).exists()
    # The daily task then moves the delegate and removes the guardian permission.
    assert sync_delegations() == 1
    program.refresh_from_db()
    assert program.agency is None
    from guardian.shortcuts import get_groups_with_perms

    assert agency.group not in get_groups_with_perms(program)


def test_delegation_end_takes_effect_the_next_day():
    agency, staff, program, delegation = delegated_world()
    delegation_end(delegation=delegation, ends_on=TODAY() - timedelta(days=1))
    program.refresh_from_db()
    assert program.agency is None
    assert not can_manage_program(fresh(staff), program)


def test_a_future_delegation_starts_on_its_day():
    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    program = f.ProgramFactory()
    delegation_create(
        program=program,
        agency=agency,
        starts_on=TODAY() + timedelta(days=1),
        ends_on=TODAY() + timedelta(days=60),
    )
    program.refresh_from_db()
    assert program.agency is None
    assert not can_manage_program(fresh(staff), program)
    assert sync_delegations(on=TODAY() + timedelta(days=1)) == 1
    assert Program.objects.get(pk=program.pk).agency == agency


def test_managed_programs_is_one_query_per_request(django_assert_num_queries):
    agency, staff, program, _ = delegated_world()
    other = f.ProgramFactory()
    staff = fresh(staff)
    staff.role_names  # noqa: B018  (roles are read once per request anyway)
    with django_assert_num_queries(2):  # the bar check, then the programs
        assert can_manage_program(staff, program)
        assert not can_manage_program(staff, other)
        assert can_manage_program(staff, program.pk)


# --- isolation ----------------------------------------------------------------------------


@pytest.fixture
def two_agencies():
    a_agency, a_staff, a_program, _ = delegated_world()
    b_agency, b_staff, b_program, b_delegation = delegated_world()
    call = f.CallFactory(program=b_program)
    application = f.ApplicationFactory(call=call)
    application = f.set_state(application, "endorsed", number=f"BF-2027-{application.pk:06d}")
    return {
        "a_staff": a_staff,
        "b_staff": b_staff,
        "b_program": b_program,
        "b_delegation": b_delegation,
        "call": call,
        "application": application,
    }


def private_urls(world):
    application, call, program = world["application"], world["call"], world["b_program"]
    return [
        reverse("grants:detail", args=[application.pk]),
        reverse("grants:pdf", args=[application.pk]),
        reverse("programs:program_update", args=[program.pk]),
        reverse("programs:call_update", args=[call.pk]),
        reverse("review:staffing", args=[call.pk]),
        reverse("review:board", args=[call.pk]),
    ]


def api_urls(world):
    return [f"/api/v1/applications/{world['application'].pk}/"]


def test_staff_of_another_agency_get_404_everywhere(two_agencies, login, api):
    a_staff = two_agencies["a_staff"]
    client = login(a_staff)
    for url in private_urls(two_agencies):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("grants:transition", args=[two_agencies["application"].pk, "accept"])
        ).status_code
        == 404
    )
    for url in api_urls(two_agencies):
        assert api(a_staff).get(url).status_code == 404, url
    listed = api(a_staff).get("/api/v1/applications/").json()
    assert two_agencies["application"].pk not in [row["id"] for row in listed["results"]]
    # Nothing moved.
    assert Application.objects.get(pk=two_agencies["application"].pk).state == "endorsed"


def test_own_staff_reach_the_same_pages_until_the_delegation_ends(two_agencies, login, api):
    b_staff = two_agencies["b_staff"]
    client = login(b_staff)
    detail = reverse("grants:detail", args=[two_agencies["application"].pk])
    assert client.get(detail).status_code == 200
    assert api(b_staff).get(api_urls(two_agencies)[0]).status_code == 200
    Delegation.objects.filter(pk=two_agencies["b_delegation"].pk).update(
        ends_on=TODAY() - timedelta(days=1)
    )
    for url in private_urls(two_agencies):
        assert client.get(url).status_code == 404, url
    for url in api_urls(two_agencies):
        assert api(b_staff).get(url).status_code == 404, url


# --- the agency's name in the log -----------------------------------------------------------


def test_agency_actions_carry_the_agency_name_and_the_chain_holds(two_agencies):
    b_staff = fresh(two_agencies["b_staff"])
    application = two_agencies["application"]
    perform(application, "accept", user=b_staff)
    entry = TransitionLog.objects.get(object_id=application.pk, transition="accept")
    assert entry.data["agency"] == b_staff.agency.name
    assert entry.data["agency_id"] == b_staff.agency_id
    assert "agency_staff" in entry.actor_roles
    assert chain.verify().intact


def test_officer_actions_carry_no_agency():
    application = f.set_state(f.ApplicationFactory(), "endorsed")
    perform(application, "accept", user=f.officer())
    entry = TransitionLog.objects.get(object_id=application.pk, transition="accept")
    assert "agency" not in entry.data


# --- agency grade -------------------------------------------------------------------------


def log(obj, source, target, at):
    """A transition log entry at ``at`` (the chain's own time is now; tests set it after)."""
    entry = TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=str(obj),
        transition=target,
        source=source,
        target=target,
    )
    TransitionLog.entries.filter(pk=entry.pk).update(created_at=at)


def test_agency_grade_inputs_from_the_log_outcomes_and_credit():
    agency, staff, program, _ = delegated_world()
    year = TODAY().year
    start = timezone.now().replace(month=3, day=1)
    call = f.CallFactory(program=program)
    # Three formal checks: 5 days (on time), 15 days (on time, the limit), 20 days (late).
    for days, target in ((5, "accepted"), (15, "ineligible"), (20, "accepted")):
        app = f.ApplicationFactory(call=call)
        log(app, "submitted", "endorsed", start)
        log(app, "endorsed", target, start + timedelta(days=days))
    # Projects: two completed, one failed this year; one failed last year (not counted).
    for target, when in (
        ("completed", start),
        ("completed", start),
        ("failed", start),
        ("failed", start.replace(year=year - 1)),
    ):
        app = f.set_state(f.ApplicationFactory(call=call), "awarded")
        project = Project.objects.create(
            application=app, number=f"XM-{app.pk}", approved_budget=Decimal("1")
        )
        log(project, "final_review", target, when)
    result = assess_agency(agency, year)
    assert result.inputs["formal_checks"] == 3
    assert result.inputs["formal_checks_on_time"] == 2
    assert result.inputs["projects_completed"] == 2
    assert result.inputs["projects_failed"] == 1
    assert result.timeliness == Decimal("0.6667")
    assert result.outcomes == Decimal("0.6667")
    assert result.integrity == Decimal("1.0000")  # no credit record
    # 100 × (0.4 × 0.6667 + 0.4 × 0.6667 + 0.2 × 1) = 73.34 → C (B from 75)
    assert result.score == Decimal("73.34")
    assert result.grade == "C"
    grade = agency_grade_compute(agency=agency, year=year, actor=f.officer())
    assert AgencyGrade.objects.get(agency=agency, year=year).grade == "C"
    assert grade.inputs["programs"] == [program.code]
    assert grade.rule["bands"]["B"] == 75
    # Recomputing replaces the year's grade (one per agency and year).
    agency_grade_compute(agency=agency, year=year)
    assert AgencyGrade.objects.filter(agency=agency, year=year).count() == 1


def test_agency_with_nothing_to_measure_and_a_clean_record_gets_a():
    agency = f.AgencyFactory()
    result = assess_agency(agency, TODAY().year)
    assert (result.timeliness, result.outcomes, result.integrity) == (1, 1, 1)
    assert result.grade == "A"


def test_agency_grade_page_for_officers_shows_inputs(login):
    agency, staff, program, _ = delegated_world()
    officer = f.officer()
    year = TODAY().year
    agency_grade_compute(agency=agency, year=year)
    page = login(officer).get(reverse("finance:agency_grades") + f"?year={year}")
    assert page.status_code == 200
    assert agency.name in page.content.decode()
    assert program.code in page.content.decode()
    response = login(officer).post(
        reverse("finance:agency_grades"), {"agency": agency.pk, "year": year}
    )
    assert response.status_code == 302
    assert login(staff).get(reverse("finance:agency_grades")).status_code == 404


# --- projects of another agency's program ---------------------------------------------------


@pytest.fixture
def b_project(two_agencies):
    application = f.set_state(
        f.ApplicationFactory(call=two_agencies["call"]), "awarded", number="BF-2027-990001"
    )
    project = Project.objects.create(
        application=application, number="XM-2027-990001", approved_budget=Decimal("850000.00")
    )
    return project


def project_urls(project):
    return [
        reverse("finance:project", args=[project.pk]),
        reverse("finance:budget", args=[project.pk]),
        reverse("finance:contract_pdf", args=[project.pk]),
        reverse("finance:evaluation", args=[project.pk]),
        reverse("finance:follow_on", args=[project.pk]),
    ]


def test_projects_of_another_agency_answer_404(two_agencies, b_project, login, api):
    a_staff = two_agencies["a_staff"]
    client = login(a_staff)
    for url in project_urls(b_project):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/api/v1/projects/{b_project.pk}/",
        f"/api/v1/projects/{b_project.pk}/evaluation/",
    ):
        assert api(a_staff).get(url).status_code == 404, url
    listed = api(a_staff).get("/api/v1/projects/").json()
    assert b_project.pk not in [row["id"] for row in listed["results"]]
    page = client.get(reverse("finance:projects")).content.decode()
    assert b_project.number not in page


def test_project_access_ends_with_the_delegation(two_agencies, b_project, login, api):
    b_staff = two_agencies["b_staff"]
    detail = reverse("finance:project", args=[b_project.pk])
    assert login(b_staff).get(detail).status_code == 200
    assert api(b_staff).get(f"/api/v1/projects/{b_project.pk}/").status_code == 200
    Delegation.objects.filter(pk=two_agencies["b_delegation"].pk).update(
        ends_on=TODAY() - timedelta(days=1)
    )
    for url in project_urls(b_project):
        assert login(b_staff).get(url).status_code == 404, url
    assert api(b_staff).get(f"/api/v1/projects/{b_project.pk}/").status_code == 404
