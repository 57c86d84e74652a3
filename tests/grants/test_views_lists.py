"""The three proposal lists and the dashboard: right rows, filters, and the same number of
queries for 1 row as for 30."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from grants.enums import ApplicationState
from tests import factories as f

S = ApplicationState

pytestmark = pytest.mark.django_db


def count_queries(client, url):
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def make(n, state, **kw):
    apps = []
    for _ in range(n):
        app = f.ApplicationFactory(**kw)
        if state != S.DRAFT:
            moment = timezone.now() - timedelta(minutes=app.pk * 7 % 60)
            f.set_state(app, state, number=f"BF-2026-{app.pk:06d}", submitted_at=moment)
        apps.append(app)
    return apps


def assert_constant(client, url, add_rows, django_assert_num_queries):
    add_rows(1)
    one = count_queries(client, url)
    add_rows(29)
    client.get(url)
    with django_assert_num_queries(one):
        response = client.get(url)
    return response


def row_pks(response):
    return [row.record.pk for row in response.context["table"].paginated_rows]


def test_mine_list(login, django_assert_num_queries):
    pi = f.applicant()
    client = login(pi)
    call = f.CallFactory()
    member_of = f.ApplicationFactory(team=[pi])
    f.ApplicationFactory()  # someone else's
    response = assert_constant(
        client,
        reverse("grants:mine"),
        lambda n: make(n, S.DRAFT, applicant=pi, call=call, team=[f.applicant()]),
        django_assert_num_queries,
    )
    pks = row_pks(response)
    assert len(pks) == 25  # 30 own + 1 as team member, 25 a page
    assert response.context["table"].paginator.count == 31
    assert member_of.pk in row_pks(client.get(reverse("grants:mine") + "?page=2"))


def test_institution_queue(login, django_assert_num_queries):
    institution = f.InstitutionFactory()
    admin = f.institution_admin(institution)
    client = login(admin)
    call = f.CallFactory()
    endorsed = make(1, S.ENDORSED, applicant=f.applicant(institution=institution))[0]
    draft = f.ApplicationFactory(applicant=f.applicant(institution=institution))
    elsewhere = make(1, S.SUBMITTED)[0]
    response = assert_constant(
        client,
        reverse("grants:institution_queue"),
        lambda n: make(n, S.SUBMITTED, applicant=f.applicant(institution=institution), call=call),
        django_assert_num_queries,
    )
    assert response.context["table"].paginator.count == 30
    assert {endorsed.pk, draft.pk, elsewhere.pk}.isdisjoint(row_pks(response))
    response = client.get(reverse("grants:institution_queue") + "?state=endorsed")
    assert row_pks(response) == [endorsed.pk]
    response = client.get(reverse("grants:institution_queue") + "?state=")
    assert response.context["table"].paginator.count == 31  # every submitted one, no drafts


def test_formal_check_queue_filters_sorts_and_paginates(login, django_assert_num_queries):
    officer = f.officer()
    client = login(officer)
    call = f.CallFactory()
    response = assert_constant(
        client,
        reverse("grants:formal_check_queue"),
        lambda n: make(n, S.ENDORSED, call=call),
        django_assert_num_queries,
    )
    assert response.context["table"].paginator.count == 30
    assert len(row_pks(response)) == 25
    other_call = f.CallFactory()
    special = make(1, S.ENDORSED, call=other_call, title="独特的题目 unique-title")[0]
    accepted = make(1, S.ACCEPTED, call=call)[0]
    submitted = make(1, S.SUBMITTED, call=call)[0]
    url = reverse("grants:formal_check_queue")
    assert row_pks(client.get(url + f"?program={other_call.program_id}")) == [special.pk]
    assert row_pks(client.get(url + f"?call={other_call.pk}")) == [special.pk]
    assert row_pks(client.get(url + "?q=unique-title")) == [special.pk]
    assert row_pks(client.get(url + f"?q={special.number}")) == [special.pk]
    assert row_pks(client.get(url + "?state=accepted")) == [accepted.pk]
    assert row_pks(client.get(url + f"?institution={special.institution.credit_code}")) == [
        special.pk
    ]
    assert row_pks(client.get(url + f"?institution={special.institution.name}")) == [special.pk]
    everything = client.get(url + "?state=")
    assert everything.context["table"].paginator.count == 32  # not the submitted one
    assert submitted.pk not in row_pks(everything)
    for sort in ("number", "-number", "title", "-submitted_at"):
        response = client.get(url + f"?sort={sort}")
        key = sort.lstrip("-")
        values = [getattr(row.record, key) for row in response.context["table"].paginated_rows]
        assert values == sorted(values, reverse=sort.startswith("-"))
    page2 = client.get(url + "?page=2&sort=number")
    assert len(row_pks(page2)) == 6


def test_formal_check_queue_of_agency_staff_has_only_delegated_programs(login):
    agency = f.AgencyFactory()
    staff = f.agency_staff(agency)
    mine = make(2, S.ENDORSED, call__program__agency=agency)
    make(2, S.ENDORSED)
    response = login(staff).get(reverse("grants:formal_check_queue"))
    assert sorted(row_pks(response)) == sorted(a.pk for a in mine)
    program_choices = set(response.context["filter"].form.fields["program"].queryset)
    assert program_choices == {a.call.program for a in mine}


def test_dashboard_applicant(login, django_assert_num_queries):
    pi = f.applicant()
    client = login(pi)
    call = f.CallFactory()
    response = assert_constant(
        client,
        reverse("dashboard"),
        lambda n: make(n, S.SUBMITTED, applicant=pi, call=call),
        django_assert_num_queries,
    )
    section = response.context["applicant"]
    assert section["total"] == 30
    assert [(value, n) for value, _label, n in section["state_counts"]] == [("submitted", 30)]
    assert len(section["recent"]) == 10


def test_dashboard_institution_admin(login, django_assert_num_queries):
    institution = f.InstitutionFactory()
    client = login(f.institution_admin(institution))
    response = assert_constant(
        client,
        reverse("dashboard"),
        lambda n: make(n, S.SUBMITTED, applicant=f.applicant(institution=institution)),
        django_assert_num_queries,
    )
    assert response.context["institution"]["waiting"] == 30


def test_dashboard_officer_and_agency_staff(login, django_assert_num_queries):
    agency = f.AgencyFactory()
    program = f.ProgramFactory(agency=agency)
    f.ProgramFactory()  # not delegated
    staff = f.agency_staff(agency)
    response = assert_constant(
        login(staff),
        reverse("dashboard"),
        lambda n: make(n, S.ENDORSED, call=f.CallFactory(program=program)),
        django_assert_num_queries,
    )
    programs = response.context["manager"]["programs"]
    assert [(p.pk, p.endorsed) for p in programs] == [(program.pk, 30)]
    officer_view = login(f.officer()).get(reverse("dashboard"))
    assert officer_view.context["manager"]["endorsed_total"] == 30
    assert len(officer_view.context["manager"]["programs"]) == 2


def test_dashboard_oversight_links(login):
    html = login(f.auditor()).get(reverse("dashboard")).content.decode()
    assert reverse("audit:log") in html
    html = login(f.integrity_officer()).get(reverse("dashboard")).content.decode()
    assert reverse("integrity:record_list") in html


def test_formal_check_call_filter_follows_the_chosen_program(login):
    client = login(f.officer())
    first, second = f.CallFactory(), f.CallFactory()
    url = reverse("grants:formal_check_queue")

    def offered(response):
        field = response.context["filter"].form.fields["call"]
        return sorted(c.pk for c in field.queryset)

    assert offered(client.get(url)) == []
    assert offered(client.get(url + f"?program={second.program_id}")) == [second.pk]
    assert offered(client.get(url + f"?call={first.pk}")) == [first.pk]
