"""The staffing pages: officers and delegated agency staff only, run, progress, why-excluded."""

import pytest
from django.urls import reverse
from django.utils import translation

from review.assignment import assign_call
from review.models import AssignmentRun, ReviewAssignment
from tests.factories import (
    AgencyFactory,
    CallFactory,
    ProgramFactory,
    agency_staff,
    applicant,
    officer,
)

from .staffing_data import make_call, proposal, reviewer

pytestmark = pytest.mark.django_db


def test_only_managers_of_the_program_see_the_page(login):
    agency, other = AgencyFactory(), AgencyFactory()
    call, apps, pool = make_call(apps=1, reviewers=3, per_app=1, intl=0)
    call.program.agency = agency
    call.program.save()
    from programs.permissions import sync_delegation

    sync_delegation(call.program)
    url = reverse("review:staffing", args=[call.pk])
    assert login(officer()).get(url).status_code == 200
    assert login(agency_staff(agency)).get(url).status_code == 200
    for outsider in (agency_staff(other), applicant(), pool[0]):
        response = login(outsider).get(url)
        assert response.status_code == 404
    assert (
        login(agency_staff(other)).post(reverse("review:staffing_run", args=[call.pk])).status_code
        == 404
    )
    assert not ReviewAssignment.objects.exists()


def test_run_from_the_page_staffs_the_call(login):
    call, apps, pool = make_call(apps=2, reviewers=6, per_app=2, intl=1, load=2)
    boss = officer()
    client = login(boss)
    response = client.post(reverse("review:staffing_run", args=[call.pk]))
    assert response.status_code == 302
    assert ReviewAssignment.objects.filter(application__call=call).count() == 4
    run = AssignmentRun.objects.get(call=call)
    assert (run.status, run.started_by, run.result["assigned"]) == ("done", boss, 4)
    page = client.get(reverse("review:staffing", args=[call.pk])).content.decode()
    for a in ReviewAssignment.objects.select_related("reviewer"):
        assert a.reviewer.display_name in page
    detail = client.get(reverse("review:staffing_run_detail", args=[call.pk, run.pk]))
    assert detail.status_code == 200 and 'value="100"' in detail.content.decode()


def test_background_run_shows_progress_page(login, monkeypatch, django_capture_on_commit_callbacks):
    from review import assignment

    monkeypatch.setattr(assignment, "SYNC_LIMIT", 0)
    call, apps, pool = make_call(apps=1, reviewers=3, per_app=2, intl=0)
    client = login(officer())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("review:staffing_run", args=[call.pk]))
    run = AssignmentRun.objects.get(call=call)
    assert response.url == reverse("review:staffing_run_detail", args=[call.pk, run.pk])
    assert run.status == "done" and run.result["assigned"] == 2


@translation.override("en")
def test_unfilled_reasons_and_why_excluded(login):
    call, apps, pool = make_call(apps=1, reviewers=2, per_app=3, intl=1, intl_share=0)
    conflicted = reviewer(institution=apps[0].institution)
    client = login(officer())
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post(reverse("review:staffing_run", args=[call.pk]))
    page = client.get(reverse("review:staffing", args=[call.pk]), {"staffing": "incomplete"})
    text = page.content.decode()
    assert "No eligible international reviewer" in text
    why = client.get(
        reverse("review:staffing_why", args=[call.pk]),
        {"application": apps[0].number, "reviewer": conflicted.username},
    )
    assert why.context["reasons"][0][0].startswith("Same institution")
    assert apps[0].institution.name in why.content.decode()
    clean = client.get(
        reverse("review:staffing_why", args=[call.pk]),
        {"application": apps[0].pk, "reviewer": pool[0].username},
    )
    assert [r[0] for r in clean.context["reasons"]] == ["Already assigned (Invited)."]
    missing = client.get(reverse("review:staffing_why", args=[call.pk]), {"application": "nope"})
    assert missing.context["errors"]["application"].startswith("No proposal")


def test_staffing_page_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    call = CallFactory(
        program=ProgramFactory(), reviewers_per_application=2, min_international_reviewers=0
    )
    pool = [reviewer(topic=i) for i in range(6)]
    first = proposal(call)
    assign_call(call)
    client = login(officer())
    url = reverse("review:staffing", args=[call.pk])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for i in range(2):
        proposal(call, topic=i + 1)
    assign_call(call)
    assert ReviewAssignment.objects.count() == 6 and first.pk
    with django_assert_num_queries(len(one)):
        response = client.get(url)
    assert response.context["table"].paginator.count == 3
    assert len(pool) == 6
