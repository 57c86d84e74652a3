"""Project pages: who sees which project (404 otherwise, in HTML and PDF), the list's
constant query count, the budget form's inline errors, milestones/KPIs editing while draft,
signature buttons."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from finance.models import ApprovedBudgetLine, Milestone
from finance.projects import budget_approve, contract_for, contract_transition
from tests import factories as f

from . import test_projects as tp

pytestmark = pytest.mark.django_db


def agency_project(agency, **kw):
    return tp.awarded_project(call=f.CallFactory(program=f.ProgramFactory(agency=agency)), **kw)


def test_who_sees_which_project(login):
    agency_a, agency_b = f.AgencyFactory(), f.AgencyFactory()
    project_a, project_b = agency_project(agency_a), agency_project(agency_b)
    other = tp.awarded_project()
    member = f.applicant()
    team_project = tp.awarded_project(team=[member])
    admin_a = f.institution_admin(project_a.application.institution)
    cases = {
        f.officer(): {project_a, project_b, other, team_project},
        f.agency_staff(agency_b): {project_b},
        project_a.application.applicant: {project_a},
        member: {team_project},
        admin_a: {project_a},
        f.applicant(): set(),
    }
    for user, expected in cases.items():
        client = login(user)
        response = client.get(reverse("finance:projects"))
        assert response.status_code == 200
        shown = {row.record for row in response.context["table"].page.object_list}
        assert shown == expected, user
        for project in (project_a, project_b, other, team_project):
            status = 200 if project in expected else 404
            assert client.get(reverse("finance:project", args=[project.pk])).status_code == status
            if project in (project_a,):
                pdf = client.get(reverse("finance:contract_pdf", args=[project.pk]))
                assert pdf.status_code == status
                if status == 200:
                    assert pdf.content.startswith(b"%PDF")


def test_agency_b_staff_cannot_post_on_agency_a_project(login):
    agency_a, agency_b = f.AgencyFactory(), f.AgencyFactory()
    project = agency_project(agency_a)
    client = login(f.agency_staff(agency_b))
    for name, data in [
        ("finance:budget", {}),
        ("finance:milestones", {"milestones-TOTAL_FORMS": "0", "milestones-INITIAL_FORMS": "0"}),
    ]:
        assert client.post(reverse(name, args=[project.pk]), data).status_code == 404
    url = reverse("finance:project_step", args=[project.pk, "terminate"])
    assert client.post(url, {"t-terminate-comment": "x"}).status_code == 404
    assert not ApprovedBudgetLine.objects.exists()


def test_list_queries_do_not_grow_with_rows(login):
    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    agency_project(agency)
    client = login(staff)
    url = reverse("finance:projects")

    def count():
        client.get(url)  # warm caches (session, content types)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    program = f.ProgramFactory(agency=agency)
    for _ in range(29):
        tp.awarded_project(call=f.CallFactory(program=program))
    assert count() == one


def test_budget_form_inline_errors_then_approval(login):
    officer = f.officer()
    project = tp.awarded_project(rule_set="2021")
    client = login(officer)
    url = reverse("finance:budget", args=[project.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "150,000.00" in page.content.decode()  # current cap
    data = {
        "equipment": "200000",
        "business": "250000",
        "labor": "200000",
        "indirect": "150000",
        "indirect_reason": "",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["business_reason"]
    data["business_reason"] = "fewer trips"
    response = client.post(url, data)
    assert response.status_code == 400
    assert "135000.00" in response.context["form"].errors["indirect"][0]
    assert 'class="errorlist"' in response.content.decode()
    data.update(indirect="135000", indirect_reason="cap")
    response = client.post(url, data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.approved_budget == Decimal("785000.00")


def test_milestones_editing_while_draft_and_buttons(login):
    officer = f.officer()
    project = tp.awarded_project()
    client = login(officer)
    url = reverse("finance:milestones", args=[project.pk])
    data = {
        "milestones-TOTAL_FORMS": "2",
        "milestones-INITIAL_FORMS": "0",
        "milestones-0-title": "完成样品制备",
        "milestones-0-due_on": "2027-06-30",
        "milestones-1-title": "",
        "milestones-1-due_on": "",
    }
    assert client.post(url, data).status_code == 302
    assert list(Milestone.objects.values_list("title", flat=True)) == ["完成样品制备"]
    data["milestones-1-title"] = "没有日期"
    response = client.post(url, data)
    assert response.status_code == 400
    assert Milestone.objects.count() == 1
    # The PI sees the signature button once the budget is approved; then nothing is editable.
    budget_approve(project=project, user=officer, lines={})
    pi_page = login(project.application.applicant).get(
        reverse("finance:project", args=[project.pk])
    )
    assert (
        reverse("finance:contract_step", args=[project.pk, "sign_pi"]) in pi_page.content.decode()
    )
    response = login(project.application.applicant).post(
        reverse("finance:contract_step", args=[project.pk, "sign_pi"])
    )
    assert response.status_code == 302
    assert contract_for(project).state == "signed_by_pi"
    page = client.get(reverse("finance:project", args=[project.pk]))
    assert not page.context["editable"]
    data["milestones-1-title"] = ""
    assert client.post(url, data).status_code == 409
    assert Milestone.objects.count() == 1


def test_signed_contract_pdf_is_the_stored_one(login):
    officer = f.officer()
    project = tp.awarded_project()
    budget_approve(project=project, user=officer, lines={})
    contract = contract_for(project)
    contract = contract_transition(
        contract=contract, name="sign_pi", user=project.application.applicant
    )
    contract = contract_transition(
        contract=contract,
        name="sign_institution",
        user=f.institution_admin(project.application.institution),
    )
    contract = contract_transition(contract=contract, name="sign_officer", user=officer)
    response = login(project.application.applicant).get(
        reverse("finance:contract_pdf", args=[project.pk])
    )
    import hashlib

    assert hashlib.sha256(response.content).hexdigest() == contract.officer_sha256
