from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_perms

from programs.models import Call, Program
from programs.permissions import managed_programs
from tests.accounts.helpers import get_counting
from tests.factories import (
    AgencyFactory,
    CallFactory,
    ProgramFactory,
    agency_staff,
    applicant,
    auditor,
    officer,
)

pytestmark = pytest.mark.django_db


def program_data(**overrides):
    data = {
        "code": "BF27",
        "name": "基础前沿",
        "name_en": "Basic frontier",
        "category": "basic_frontier",
        "funding_mode": "competitive",
        "agency": "",
        "rule_set": "",
        "default_scoring_scheme": "nsfc",
        "description": "",
    }
    data.update(overrides)
    return data


def call_data(**overrides):
    now = timezone.localtime()
    data = {
        "title": "2027年度基础研究项目",
        "title_en": "Basic research 2027",
        "guideline": "",
        "opens_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "max_budget": "400000.00",
        "sum_kind": "fixed",
        "lump_sum": "on",
        "reviewers_per_application": "5",
        "min_international_reviewers": "1",
        "max_assignments_per_reviewer": "10",
        "scoring_scheme": "",
        "notice_days": "",
        "rule_set": "",
    }
    data.update(overrides)
    return data


# --- programs ------------------------------------------------------------------------------


def test_officer_creates_a_delegated_program_and_agency_staff_get_it(login):
    agency = AgencyFactory()
    staff = agency_staff(agency)
    response = login(officer()).post(
        reverse("programs:program_create"), program_data(agency=agency.pk)
    )
    program = Program.objects.get(code="BF27")
    assert response["Location"] == reverse("programs:program_detail", args=[program.pk])
    assert program.agency == agency
    assert list(managed_programs(staff)) == [program]
    assert "manage_program" in get_perms(agency.group, program)


def test_program_form_shows_errors_inline(login):
    ProgramFactory(code="DUP")
    response = login(officer()).post(
        reverse("programs:program_create"), program_data(code="DUP", category="nonsense")
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"code", "category"}
    assert 'id="id_code_error"' in response.content.decode()
    assert Program.objects.filter(code="DUP").count() == 1


def test_moving_the_delegation_moves_the_permission(login):
    first, second = AgencyFactory(), AgencyFactory()
    program = ProgramFactory(agency=first)
    staff_first, staff_second = agency_staff(first), agency_staff(second)
    assert list(managed_programs(staff_first)) == [program]
    login(officer()).post(
        reverse("programs:program_update", args=[program.pk]),
        program_data(code=program.code, agency=second.pk),
    )
    program.refresh_from_db()
    assert program.agency == second
    assert list(managed_programs(staff_first)) == []
    assert list(managed_programs(staff_second)) == [program]


def test_only_officers_create_or_edit_programs(login):
    agency = AgencyFactory()
    program = ProgramFactory(agency=agency)
    staff = agency_staff(agency)
    client = login(staff)
    assert client.post(reverse("programs:program_create"), program_data()).status_code == 404
    response = client.post(
        reverse("programs:program_update", args=[program.pk]), program_data(code="HIJACK")
    )
    assert response.status_code == 404
    program.refresh_from_db()
    assert program.code != "HIJACK"
    assert not Program.objects.filter(code="BF27").exists()


def test_program_list_shows_agency_staff_only_their_programs(login):
    agency = AgencyFactory()
    mine = ProgramFactory(agency=agency)
    ProgramFactory()
    response = login(agency_staff(agency)).get(reverse("programs:program_list"))
    assert [row.record for row in response.context["table"].page.object_list] == [mine]


def test_program_list_filters(login):
    ProgramFactory(code="A1", category="basic_frontier")
    talent = ProgramFactory(code="T1", category="talent_environment")
    response = login(officer()).get(
        reverse("programs:program_list"), {"category": "talent_environment"}
    )
    assert [row.record for row in response.context["table"].page.object_list] == [talent]


def test_program_pages_hidden_from_applicants(login):
    program = ProgramFactory()
    client = login(applicant())
    assert client.get(reverse("programs:program_list")).status_code == 404
    assert client.get(reverse("programs:program_detail", args=[program.pk])).status_code == 404


def test_program_list_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    client = login(officer())
    CallFactory(program=ProgramFactory(agency=AgencyFactory()))
    url = reverse("programs:program_list")
    count, _ = get_counting(client, url)
    for _i in range(29):
        CallFactory(program=ProgramFactory(agency=AgencyFactory()))
    with django_assert_num_queries(count):
        response = client.get(url)
    assert response.context["table"].paginator.count == 30


def test_program_detail_queries_do_not_grow_with_calls(login, django_assert_num_queries):
    program = ProgramFactory()
    CallFactory(program=program)
    client = login(officer())
    url = reverse("programs:program_detail", args=[program.pk])
    count, _ = get_counting(client, url)
    CallFactory.create_batch(29, program=program)
    with django_assert_num_queries(count):
        response = client.get(url)
    assert response.context["table"].paginator.count == 30


# --- calls ----------------------------------------------------------------------------------


def test_officer_creates_a_call(login):
    program = ProgramFactory()
    response = login(officer()).post(
        reverse("programs:call_create", args=[program.pk]), call_data()
    )
    call = Call.objects.get(program=program)
    assert response["Location"] == reverse("programs:call_detail", args=[call.pk])
    assert (call.max_budget, call.sum_kind, call.lump_sum) == (Decimal("400000.00"), "fixed", True)
    assert call.reviewers_per_application == 5
    assert call.is_open()


def test_call_form_shows_errors_inline(login):
    program = ProgramFactory()
    now = timezone.localtime()
    response = login(officer()).post(
        reverse("programs:call_create", args=[program.pk]),
        call_data(
            closes_at=(now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["closes_at"] == ["The call must close after it opens."]
    assert 'id="id_closes_at_error"' in response.content.decode()
    response = login(officer()).post(
        reverse("programs:call_create", args=[program.pk]),
        call_data(min_international_reviewers="9"),
    )
    errors = response.context["form"].errors
    assert errors["min_international_reviewers"] == [
        "Cannot exceed the number of reviewers per proposal."
    ]
    assert not Call.objects.exists()


def test_delegated_agency_staff_run_calls_others_get_404(login):
    agency, other = AgencyFactory(), AgencyFactory()
    program = ProgramFactory(agency=agency)
    call = CallFactory(program=program)
    ours, theirs = login(agency_staff(agency)), login(agency_staff(other))

    page = ours.get(reverse("programs:call_detail", args=[call.pk]))
    assert page.context["call"] == call
    assert page.context["may_edit"] is True
    ours.post(reverse("programs:call_update", args=[call.pk]), call_data(title="改过的指南"))
    call.refresh_from_db()
    assert call.title == "改过的指南"
    ours.post(reverse("programs:call_create", args=[program.pk]), call_data(title="第二批"))
    assert Call.objects.filter(program=program, title="第二批").exists()

    assert theirs.get(reverse("programs:call_detail", args=[call.pk])).status_code == 404
    assert theirs.get(reverse("programs:program_detail", args=[program.pk])).status_code == 404
    response = theirs.post(reverse("programs:call_update", args=[call.pk]), call_data(title="X"))
    assert response.status_code == 404
    response = theirs.post(reverse("programs:call_create", args=[program.pk]), call_data(title="Y"))
    assert response.status_code == 404
    call.refresh_from_db()
    assert call.title == "改过的指南"
    assert not Call.objects.filter(title__in=["X", "Y"]).exists()


def test_auditor_reads_calls_but_cannot_edit(login):
    call = CallFactory()
    client = login(auditor())
    page = client.get(reverse("programs:call_detail", args=[call.pk]))
    assert page.context["may_edit"] is False
    response = client.post(reverse("programs:call_update", args=[call.pk]), call_data(title="Z"))
    assert response.status_code == 404
    call.refresh_from_db()
    assert call.title != "Z"


# --- open calls -----------------------------------------------------------------------------


def test_open_calls_lists_only_open_calls_with_apply_link(login):
    now = timezone.now()
    open_call = CallFactory(sum_kind="fixed", lump_sum=True, max_budget=Decimal("200000"))
    CallFactory(opens_at=now + timedelta(days=3), closes_at=now + timedelta(days=30))
    CallFactory(opens_at=now - timedelta(days=30), closes_at=now - timedelta(days=1))
    response = login(applicant()).get(reverse("programs:open_calls"))
    assert [row.record for row in response.context["table"].page.object_list] == [open_call]
    body = response.content.decode()
    assert f"{reverse('grants:create')}?call={open_call.pk}" in body
    assert "200,000.00" in body
    assert "Fixed sum" in body


def test_open_calls_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    client = login(applicant())
    CallFactory()
    url = reverse("programs:open_calls")
    count, _ = get_counting(client, url)
    CallFactory.create_batch(29)
    with django_assert_num_queries(count):
        response = client.get(url)
    assert response.context["table"].paginator.count == 30
