"""API v1 projects: fields, visibility (404 across agencies, in JSON and PDF), the
project's transitions and the contract's signatures through one endpoint."""

import pytest

from finance.models import ContractState
from finance.projects import budget_approve, contract_for
from grants.models import ProjectState
from tests import factories as f

from . import test_projects as tp

pytestmark = pytest.mark.django_db


def agency_project(agency):
    return tp.awarded_project(call=f.CallFactory(program=f.ProgramFactory(agency=agency)))


def test_list_and_detail_fields(api):
    officer = f.officer()
    project = tp.awarded_project()
    response = api(officer).get("/api/v1/projects/")
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["id"] == project.pk
    assert row["number"] == project.number
    assert row["application"] == project.application_id
    assert row["state"] == "contracting"
    assert row["approved_budget"] == "850000.00"
    assert row["disbursed"] == "0.00"
    assert row["performance_grade"] is None
    assert "terminate" in row["available_transitions"]
    assert "sign" not in row["available_transitions"]
    detail = api(project.application.applicant).get(f"/api/v1/projects/{project.pk}/").json()
    assert detail["contract_state"] == "draft"
    assert detail["available_transitions"] == ["sign_pi"]


def test_agency_isolation_in_json_and_pdf(api):
    agency_a, agency_b = f.AgencyFactory(), f.AgencyFactory()
    project_a = agency_project(agency_a)
    project_b = agency_project(agency_b)
    staff_b = f.agency_staff(agency_b)
    client = api(staff_b)
    ids = [r["id"] for r in client.get("/api/v1/projects/").json()["results"]]
    assert ids == [project_b.pk]
    assert client.get(f"/api/v1/projects/{project_a.pk}/").status_code == 404
    response = client.get(f"/api/v1/projects/{project_a.pk}/contract/")
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/projects/{project_a.pk}/transitions/terminate/", {"comment": "x"}
    )
    assert response.status_code == 404
    project_a.refresh_from_db()
    assert project_a.state == ProjectState.CONTRACTING
    # Their own agency's contract is theirs to read.
    response = client.get(f"/api/v1/projects/{project_b.pk}/contract/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_signatures_and_steps_through_the_api(api):
    officer = f.officer()
    project = tp.awarded_project()
    pi = project.application.applicant
    admin = f.institution_admin(project.application.institution)
    url = f"/api/v1/projects/{project.pk}/transitions/"
    response = api(pi).post(url + "sign_pi/", {})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"  # budget not approved yet
    budget_approve(project=project, user=officer, lines={})
    assert api(pi).post(url + "sign_pi/", {}).json()["contract_state"] == "signed_by_pi"
    assert api(admin).post(url + "sign_institution/", {}).status_code == 200
    # ``sign`` of the project is not taken directly: the project starts with the contract.
    response = api(officer).post(url + "sign/", {})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    data = api(officer).post(url + "sign_officer/", {}).json()
    assert data["state"] == "active"
    assert data["contract_state"] == "signed"
    assert contract_for(project).state == ContractState.SIGNED
    # A step of the project machine: the PI submits the mid-term report.
    assert api(officer).post(url + "submit_midterm/", {}).status_code == 409
    data = api(pi).post(url + "submit_midterm/", {}).json()
    assert data["state"] == "midterm_review"


def test_anonymous_gets_nothing(api):
    tp.awarded_project()
    assert api().get("/api/v1/projects/").status_code in (401, 403)


def test_list_queries_do_not_grow_with_rows(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    project = agency_project(agency)
    contract_for(project)

    def count():
        client = api(User.objects.get(pk=staff.pk))  # a fresh user object: nothing cached
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/projects/")
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    one, rows = count()
    assert rows == 1
    program = f.ProgramFactory(agency=agency)
    for _ in range(29):
        contract_for(tp.awarded_project(call=f.CallFactory(program=program)))
    many, rows = count()
    assert rows > 1  # a full page
    assert many == one
