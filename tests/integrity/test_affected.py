"""The affected list: in-flight proposals, review assignments and awards touched by bars in
force, for integrity officers, program officers and auditors only; filter, pages, fixed
queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from grants.enums import ApplicationState
from grants.models import Project
from integrity.models import Action
from review.models import AssignmentState
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db
URL = reverse("integrity:affected")


def bar(action, *, ended=False, **subject):
    flags = {f"bars_{a}": a == action for a in Action.values}
    if ended:
        flags.update(
            starts_on=timezone.localdate() - timedelta(days=30),
            ends_on=timezone.localdate() - timedelta(days=1),
        )
    return f.CreditRecordFactory(**flags, **subject)


def numbered(application, state):
    return f.set_state(application, state, number=f"BF-2027-{application.pk:06d}")


def rows(response, code):
    section = next(s for s in response.context["sections"] if s["kind"].code == code)
    return {row.record.pk for row in section["table"].page.object_list}


@pytest.fixture
def world():
    w = type("World", (), {})()
    # Proposals: PI barred, member barred, institution barred, clear, closed, expired bar.
    w.by_pi = numbered(f.ApplicationFactory(title="PI barred"), S.SUBMITTED)
    bar(Action.APPLY, subject_user=w.by_pi.applicant)
    member = f.applicant()
    w.by_member = numbered(f.ApplicationFactory(team=[member], title="Member barred"), S.ENDORSED)
    w.member_record = bar(Action.APPLY, subject_user=member)
    w.by_institution = numbered(f.ApplicationFactory(title="Institution barred"), S.UNDER_REVIEW)
    bar(Action.APPLY, subject_institution=w.by_institution.institution)
    w.clear = numbered(f.ApplicationFactory(title="Clear"), S.SUBMITTED)
    w.closed = numbered(f.ApplicationFactory(title="Closed"), S.WITHDRAWN)
    bar(Action.APPLY, subject_user=w.closed.applicant)
    w.expired = numbered(f.ApplicationFactory(title="Expired bar"), S.SUBMITTED)
    bar(Action.APPLY, subject_user=w.expired.applicant, ended=True)
    w.review_only = numbered(f.ApplicationFactory(title="Review bar only"), S.SUBMITTED)
    bar(Action.REVIEW, subject_user=w.review_only.applicant)
    w.draft = f.ApplicationFactory(title="Barred draft")
    bar(Action.APPLY, subject_user=w.draft.applicant)
    # Review assignments: invited and accepted ones of a barred reviewer; a submitted one.
    reviewer = f.reviewer()
    bar(Action.REVIEW, subject_user=reviewer)
    w.invited = f.ReviewAssignmentFactory(reviewer=reviewer, state=AssignmentState.INVITED)
    w.accepted = f.ReviewAssignmentFactory(reviewer=reviewer, state=AssignmentState.ACCEPTED)
    w.done = f.ReviewAssignmentFactory(reviewer=reviewer, state=AssignmentState.SUBMITTED)
    w.other_review = f.ReviewAssignmentFactory(state=AssignmentState.INVITED)
    # Awards: in notice with a barred PI; awarded (project open) with a barred institution.
    w.in_notice = numbered(f.ApplicationFactory(title="Notice"), S.IN_NOTICE)
    bar(Action.RECEIVE_FUNDS, subject_user=w.in_notice.applicant)
    w.awarded = numbered(f.ApplicationFactory(title="Awarded"), S.AWARDED)
    Project.objects.create(application=w.awarded, number=w.awarded.number, approved_budget=1)
    bar(Action.RECEIVE_FUNDS, subject_institution=w.awarded.institution)
    return w


def test_the_list_holds_exactly_the_touched_objects(login, world):
    response = login(f.integrity_officer()).get(URL)
    assert response.status_code == 200
    assert rows(response, "proposals") == {
        world.by_pi.pk,
        world.by_member.pk,
        world.by_institution.pk,
        world.draft.pk,
    }
    assert rows(response, "reviews") == {world.invited.pk, world.accepted.pk}
    assert rows(response, "awards") == {world.in_notice.pk, world.awarded.pk}
    text = response.content.decode()
    # The record is named, with its subject, for the officers.
    assert f"record {world.member_record.pk}" in text
    assert (
        str(world.member_record.subject_user.display_name) in text
        or str(world.member_record.subject_user) in text
    )


def test_program_officers_see_it_without_drafts_others_get_404(login, world):
    response = login(f.officer()).get(URL)
    assert response.status_code == 200
    assert world.draft.pk not in rows(response, "proposals")
    assert world.by_pi.pk in rows(response, "proposals")
    assert rows(response, "reviews") == {world.invited.pk, world.accepted.pk}
    assert login(f.auditor()).get(URL).status_code == 200
    for user in (f.applicant(), f.reviewer(), f.institution_admin(f.InstitutionFactory())):
        assert login(user).get(URL).status_code == 404
    assert login(f.agency_staff(f.AgencyFactory())).get(URL).status_code == 404


def test_filter_by_kind_and_text(login, world):
    client = login(f.integrity_officer())
    response = client.get(URL, {"kind": "reviews"})
    assert [s["kind"].code for s in response.context["sections"]] == ["reviews"]
    response = client.get(URL, {"kind": "proposals", "q": "Member"})
    assert rows(response, "proposals") == {world.by_member.pk}


def test_a_bar_ending_yesterday_drops_out(login):
    application = numbered(f.ApplicationFactory(), S.SUBMITTED)
    bar(Action.APPLY, subject_user=application.applicant, ended=True)
    response = login(f.integrity_officer()).get(URL)
    assert rows(response, "proposals") == set()


def make(n):
    for _ in range(n):
        member = f.applicant()
        application = numbered(f.ApplicationFactory(team=[member, f.applicant()]), S.SUBMITTED)
        bar(Action.APPLY, subject_user=member)
        bar(Action.APPLY, subject_institution=application.institution)
        f.ReviewAssignmentFactory(
            reviewer=bar(Action.REVIEW, subject_user=f.reviewer()).subject_user,
            state=AssignmentState.INVITED,
        )
        awarded = numbered(f.ApplicationFactory(), S.IN_NOTICE)
        bar(Action.RECEIVE_FUNDS, subject_user=awarded.applicant)


def test_same_number_of_queries_for_1_and_for_many(login, django_assert_num_queries):
    officer = f.integrity_officer()
    make(1)
    client = login(officer)
    client.get(URL)  # warm caches (content types, sessions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        response = client.get(URL)
    assert len(rows(response, "proposals")) == 1
    make(12)
    with django_assert_num_queries(len(one)):
        response = client.get(URL)
    assert len(rows(response, "proposals")) == 13
    assert len(rows(response, "reviews")) == 13


def test_pages(login):
    make(3)
    client = login(f.integrity_officer())
    first = client.get(URL, {"proposals-per_page": 2})
    second = client.get(URL, {"proposals-per_page": 2, "proposals-page": 2})
    assert len(rows(first, "proposals")) == 2
    assert len(rows(second, "proposals")) == 1
    assert rows(first, "proposals").isdisjoint(rows(second, "proposals"))
