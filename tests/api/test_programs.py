"""Programs and calls: who reads, who writes, effective defaults (api.md, Resources)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs.models import Call, Program, RuleSet
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

PROGRAM_FIELDS = {"id", "code", "name", "category", "funding_mode", "agency"}
CALL_FIELDS = {
    "id", "program", "title", "opens_at", "closes_at", "max_budget",
    "reviewers_per_application", "min_international_reviewers",
    "max_assignments_per_reviewer", "scoring_scheme", "notice_days",
}  # fmt: skip


def call_payload(program, **kw):
    now = timezone.now()
    return {
        "program": program.pk,
        "title": "2027年度基础研究项目申报指南",
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=30)).isoformat(),
        "max_budget": "400000.00",
        **kw,
    }


# --- programs ------------------------------------------------------------------------------


def test_program_fields(api):
    agency = AgencyFactory()
    program = ProgramFactory(code="BF1", name="基础前沿", agency=agency)
    data = api(applicant()).get(f"/api/v1/programs/{program.pk}/").json()
    assert PROGRAM_FIELDS <= set(data)
    assert {k: data[k] for k in PROGRAM_FIELDS} == {
        "id": program.pk,
        "code": "BF1",
        "name": "基础前沿",
        "category": "basic_frontier",
        "funding_mode": "competitive",
        "agency": agency.pk,
    }


def test_agency_staff_see_only_delegated_programs(api):
    agency = AgencyFactory()
    mine = ProgramFactory(agency=agency)
    other = ProgramFactory(agency=AgencyFactory())
    commission = ProgramFactory()
    staff = agency_staff(agency)

    listing = api(staff).get("/api/v1/programs/").json()

    assert [p["id"] for p in listing["results"]] == [mine.pk]
    assert api(staff).get(f"/api/v1/programs/{other.pk}/").status_code == 404
    everyone = api(applicant()).get("/api/v1/programs/").json()
    assert sorted(p["id"] for p in everyone["results"]) == sorted(
        [mine.pk, other.pk, commission.pk]
    )


def test_officer_creates_and_delegates_a_program(api):
    agency = AgencyFactory()
    staff = agency_staff(agency)
    response = api(officer()).post(
        "/api/v1/programs/",
        {
            "code": "TE9",
            "name": "青年科技人才",
            "category": "talent_environment",
            "funding_mode": "competitive",
            "agency": agency.pk,
        },
    )
    assert response.status_code == 201, response.json()
    program = Program.objects.get(code="TE9")
    # Delegation gives the agency's staff the program (django-guardian grant).
    assert [p["id"] for p in api(staff).get("/api/v1/programs/").json()["results"]] == [program.pk]
    # Taking it back removes the grant.
    patched = api(officer()).patch(
        f"/api/v1/programs/{program.pk}/", {"agency": None}, format="json"
    )
    assert patched.json()["agency"] is None
    assert api(staff).get("/api/v1/programs/").json()["count"] == 0


@pytest.mark.parametrize("maker", [applicant, auditor])
def test_only_officers_write_programs(api, maker):
    response = api(maker()).post(
        "/api/v1/programs/", {"code": "X", "name": "X", "category": "basic_frontier"}
    )
    assert response.status_code == 403
    assert not Program.objects.filter(code="X").exists()


def test_agency_staff_may_not_write_programs(api):
    agency = AgencyFactory()
    program = ProgramFactory(agency=agency)
    response = api(agency_staff(agency)).patch(f"/api/v1/programs/{program.pk}/", {"name": "改名"})
    assert response.status_code == 403
    program.refresh_from_db()
    assert program.name != "改名"


def test_bad_category_is_400(api):
    response = api(officer()).post(
        "/api/v1/programs/", {"code": "X", "name": "X", "category": "space"}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["category"]


# --- calls ---------------------------------------------------------------------------------


def test_call_fields_with_effective_defaults(api):
    program = ProgramFactory(default_scoring_scheme="eu")
    call = CallFactory(program=program, max_budget=Decimal("1500000"))

    data = api(applicant()).get(f"/api/v1/calls/{call.pk}/").json()

    assert CALL_FIELDS <= set(data)
    assert data["program"] == program.pk
    assert data["max_budget"] == "1500000.00"
    assert data["scoring_scheme"] == "eu"  # the program's default
    assert data["notice_days"] == 7  # the rule-set default
    assert data["reviewers_per_application"] == 3
    assert data["is_open"] is True


def test_call_notice_days_from_the_rule_set(api):
    rules = RuleSet.objects.create(code="r", name="r", data={"notice_days": 10})
    call = CallFactory(program=ProgramFactory(rule_set=rules))
    assert api(applicant()).get(f"/api/v1/calls/{call.pk}/").json()["notice_days"] == 10


def test_officer_creates_call_defaults_and_explicit_values(api):
    program = ProgramFactory(default_scoring_scheme="nsfc")
    client = api(officer())

    default = client.post("/api/v1/calls/", call_payload(program), format="json")
    explicit = client.post(
        "/api/v1/calls/",
        call_payload(program, scoring_scheme="eu", notice_days=0, lump_sum=True),
        format="json",
    )

    assert default.status_code == 201, default.json()
    assert (default.json()["scoring_scheme"], default.json()["notice_days"]) == ("nsfc", 7)
    stored = Call.objects.get(pk=default.json()["id"])
    assert (stored.scoring_scheme, stored.notice_days) == ("", None)  # follows the defaults
    assert explicit.status_code == 201, explicit.json()
    assert (explicit.json()["scoring_scheme"], explicit.json()["notice_days"]) == ("eu", 0)
    assert Call.objects.get(pk=explicit.json()["id"]).lump_sum is True


def test_call_model_rules_are_400(api):
    program = ProgramFactory()
    now = timezone.now()
    response = api(officer()).post(
        "/api/v1/calls/",
        call_payload(
            program,
            opens_at=now.isoformat(),
            closes_at=(now - timedelta(days=1)).isoformat(),
            reviewers_per_application=3,
            min_international_reviewers=4,
            scoring_scheme="vibes",
        ),
        format="json",
    )
    assert response.status_code == 400
    assert {"closes_at", "scoring_scheme"} <= set(response.json())
    assert not Call.objects.exists()


def test_agency_staff_manage_only_calls_of_their_programs(api):
    agency = AgencyFactory()
    staff = agency_staff(agency)
    mine = ProgramFactory(agency=agency)
    other_program = ProgramFactory()
    other_call = CallFactory(program=other_program)
    client = api(staff)

    created = client.post("/api/v1/calls/", call_payload(mine), format="json")
    elsewhere = client.post("/api/v1/calls/", call_payload(other_program), format="json")
    patched = client.patch(f"/api/v1/calls/{other_call.pk}/", {"title": "x"}, format="json")

    assert created.status_code == 201, created.json()
    assert Call.objects.get(pk=created.json()["id"]).program == mine
    assert elsewhere.status_code == 400
    assert list(elsewhere.json()) == ["program"]
    assert patched.status_code == 404
    other_call.refresh_from_db()
    assert other_call.title != "x"
    assert [c["id"] for c in client.get("/api/v1/calls/").json()["results"]] == [
        created.json()["id"]
    ]


def test_agency_staff_edit_their_call(api):
    agency = AgencyFactory()
    call = CallFactory(program=ProgramFactory(agency=agency))
    response = api(agency_staff(agency)).patch(
        f"/api/v1/calls/{call.pk}/", {"max_budget": "200000.00"}, format="json"
    )
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.max_budget == Decimal("200000.00")


@pytest.mark.parametrize("maker", [applicant, auditor])
def test_others_read_all_calls_but_write_none(api, maker):
    calls = [CallFactory(), CallFactory(program=ProgramFactory(agency=AgencyFactory()))]
    client = api(maker())
    listing = client.get("/api/v1/calls/").json()
    assert sorted(c["id"] for c in listing["results"]) == sorted(c.pk for c in calls)
    response = client.post("/api/v1/calls/", call_payload(calls[0].program), format="json")
    assert response.status_code == 403
    assert Call.objects.count() == 2


def test_program_and_call_lists_queries_do_not_grow(same_queries):
    agency = AgencyFactory()
    staff = agency_staff(agency)
    rules = RuleSet.objects.create(code="r", name="r")
    program = ProgramFactory(agency=agency, rule_set=rules)
    CallFactory(program=program)
    ProgramFactory()  # not delegated: never in the agency's lists

    def add_calls():
        for i in range(29):
            CallFactory(program=ProgramFactory(agency=agency) if i % 2 else program)

    response = same_queries(staff, "/api/v1/calls/", add_calls)
    assert {c["notice_days"] for c in response.json()["results"]} == {7}


def test_program_list_queries_do_not_grow(same_queries):
    agency = AgencyFactory()
    ProgramFactory(agency=agency)

    def add_programs():
        for _i in range(29):
            ProgramFactory(agency=agency)

    same_queries(agency_staff(agency), "/api/v1/programs/", add_programs)
