"""POST /api/v1/calls/<id>/assign-reviewers/ (api.md)."""

import pytest

from programs.permissions import sync_delegation
from review.models import AssignmentRun, ReviewAssignment
from tests.factories import AgencyFactory, agency_staff, applicant, officer

from .staffing_data import make_call

pytestmark = pytest.mark.django_db


def url(call):
    return f"/api/v1/calls/{call.pk}/assign-reviewers/"


def test_officer_staffs_the_call(api):
    call, apps, pool = make_call(apps=3, reviewers=9, per_app=2, intl=1, load=2)
    response = api(officer()).post(url(call))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "assigned": 6,
        "unfilled": [],
        "reasons": {},
        "optimal": True,
        "total_affinity": body["total_affinity"],
    }
    assert ReviewAssignment.objects.filter(application__call=call).count() == 6
    assert AssignmentRun.objects.get(call=call).result["assigned"] == 6
    # Again: nothing new to do.
    assert api(officer()).post(url(call)).json()["assigned"] == 0


def test_unfilled_proposals_are_listed(api):
    call, apps, pool = make_call(apps=2, reviewers=2, per_app=2, intl=1, intl_share=0)
    body = api(officer()).post(url(call)).json()
    assert body["unfilled"] == sorted(a.pk for a in apps)
    assert set(body["reasons"]) == {str(a.pk) for a in apps}
    assert body["assigned"] == 2


def test_who_may_call_it(api):
    agency, other = AgencyFactory(), AgencyFactory()
    call, apps, pool = make_call(apps=1, reviewers=3, per_app=1, intl=0)
    call.program.agency = agency
    call.program.save()
    sync_delegation(call.program)
    assert api().post(url(call)).status_code == 401
    assert api(applicant()).post(url(call)).status_code == 403
    assert api(pool[0]).post(url(call)).status_code == 403
    assert api(agency_staff(other)).post(url(call)).status_code == 404
    assert api(officer()).post("/api/v1/calls/999999/assign-reviewers/").status_code == 404
    assert not ReviewAssignment.objects.exists()
    response = api(agency_staff(agency)).post(url(call))
    assert (response.status_code, response.json()["assigned"]) == (200, 1)
