"""Proposals through the API: fields, visibility, editing, the workflow and its refusals."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import TransitionLog
from grants.enums import ApplicationState as S
from grants.models import Application, TeamMember
from programs.models import Call
from tests.factories import (
    AgencyFactory,
    ApplicationFactory,
    CallFactory,
    CreditRecordFactory,
    InstitutionFactory,
    agency_staff,
    applicant,
    auditor,
    institution_admin,
    integrity_officer,
    officer,
    reviewer,
    set_state,
)

pytestmark = pytest.mark.django_db

APPLICATION_FIELDS = {
    "id", "number", "call", "title", "abstract", "keywords", "title_en", "abstract_en",
    "keywords_en", "applicant", "institution", "team", "budget", "total_budget", "state",
    "available_transitions",
}  # fmt: skip
EXTRA_FIELDS = {"discipline", "submitted_at", "created_at", "updated_at"}


def url(application, suffix=""):
    return f"/api/v1/applications/{application.pk}/{suffix}"


def step(client, application, name, comment=""):
    return client.post(
        url(application, f"transitions/{name}/"), {"comment": comment}, format="json"
    )


def logs(application):
    return list(
        TransitionLog.objects.for_object(application).values_list(
            "transition", "source", "target", "actor_id", "comment"
        )
    )


# --- fields --------------------------------------------------------------------------------


def test_application_fields(api, world):
    app = ApplicationFactory(
        call=world.call, applicant=world.pi, team=[world.member], keywords_en=["quantum"]
    )
    data = api(world.pi).get(url(app)).json()

    assert set(data) == APPLICATION_FIELDS | EXTRA_FIELDS
    assert data["number"] is None
    assert data["call"] == world.call.pk
    assert data["applicant"] == world.pi.pk
    assert data["institution"] == world.institution.pk
    assert data["team"] == [world.member.pk]
    assert data["keywords"] == ["量子材料", "拓扑相变"]
    assert data["keywords_en"] == ["quantum"]
    assert data["budget"] == [
        {"category": "equipment", "amount": "200000.00"},
        {"category": "business", "amount": "300000.00"},
        {"category": "labor", "amount": "200000.00"},
        {"category": "indirect", "amount": "150000.00"},
    ]
    assert data["total_budget"] == "850000.00"
    assert data["state"] == "draft"
    assert sorted(data["available_transitions"]) == ["submit", "withdraw"]


# --- the whole path: create, submit, endorse, accept --------------------------------------


def test_create_submit_endorse_accept(api, world, django_capture_on_commit_callbacks):
    pi = api(world.pi)
    created = pi.post(
        "/api/v1/applications/",
        {
            "call": world.call.pk,
            "title": "拓扑量子材料",
            "abstract": "研究拓扑相变。",
            "keywords": ["拓扑", "量子"],
            "title_en": "Topological quantum materials",
            "team": [world.member.pk],
            "budget": [
                {"category": "equipment", "amount": "100000.00"},
                {"category": "business", "amount": "300000.00"},
                {"category": "labor", "amount": "100000"},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    app = Application.objects.get(pk=body["id"])
    assert (app.applicant, app.institution, app.state) == (world.pi, world.institution, S.DRAFT)
    assert list(app.team.values_list("user_id", flat=True)) == [world.member.pk]
    # The indirect line is set to its cap: 30 % of (direct − equipment) = 30 % of 400,000.
    assert {b["category"]: b["amount"] for b in body["budget"]}["indirect"] == "120000.00"
    assert body["total_budget"] == "620000.00"

    with django_capture_on_commit_callbacks(execute=True):
        submitted = step(pi, app, "submit", "请审核")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "submitted"
    year = timezone.localdate().year
    assert re.fullmatch(rf"BF-{year}-\d{{6}}", submitted.json()["number"])
    assert submitted.json()["available_transitions"] == ["withdraw"]
    # After the commit, the PI and the research office hear of it.
    assert sorted(to for m in mail.outbox for to in m.to) == sorted(
        [world.pi.email, world.inst_admin.email]
    )

    admin = api(world.inst_admin)
    assert sorted(admin.get(url(app)).json()["available_transitions"]) == ["endorse", "return"]
    endorsed = step(admin, app, "endorse")
    assert endorsed.json()["state"] == "endorsed"

    accepted = step(api(world.staff), app, "accept", "形式审查通过")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["state"] == "accepted"

    app.refresh_from_db()
    assert app.state == S.ACCEPTED
    assert logs(app) == [
        ("submit", "draft", "submitted", world.pi.pk, "请审核"),
        ("endorse", "submitted", "endorsed", world.inst_admin.pk, ""),
        ("accept", "endorsed", "accepted", world.staff.pk, "形式审查通过"),
    ]


def test_return_needs_a_reason_and_goes_back_to_draft(api, world):
    app = set_state(ApplicationFactory(call=world.call, applicant=world.pi), S.SUBMITTED,
                    number="BF-2027-000009")  # fmt: skip
    admin = api(world.inst_admin)

    missing = step(admin, app, "return")
    returned = step(admin, app, "return", "预算说明不清")

    assert missing.status_code == 400
    assert list(missing.json()) == ["comment"]
    assert returned.json()["state"] == "draft"
    assert logs(app) == [("return", "submitted", "draft", world.inst_admin.pk, "预算说明不清")]


def test_create_on_a_closed_call_is_409_call_closed(api, world):
    closed = CallFactory(
        program=world.program,
        opens_at=timezone.now() - timedelta(days=30),
        closes_at=timezone.now() - timedelta(days=1),
    )
    response = api(world.pi).post(
        "/api/v1/applications/", {"call": closed.pk, "title": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "call_closed"
    assert not Application.objects.exists()


def test_create_without_an_institution_is_400(api, world):
    response = api(applicant(institution=None)).post(
        "/api/v1/applications/", {"call": world.call.pk, "title": "x"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["institution"]
    assert not Application.objects.exists()


@pytest.mark.parametrize("maker", [reviewer, officer, auditor])
def test_only_applicants_create(api, world, maker):
    response = api(maker()).post(
        "/api/v1/applications/", {"call": world.call.pk, "title": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Application.objects.exists()


def test_create_with_bad_budget_creates_nothing(api, world):
    response = api(world.pi).post(
        "/api/v1/applications/",
        {
            "call": world.call.pk,
            "title": "x",
            "budget": [{"category": "business", "amount": "5000000.00"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["budget"]
    assert not Application.objects.exists()


# --- editing -------------------------------------------------------------------------------


def test_pi_edits_the_draft(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi, team=[world.member])
    other = applicant(institution=world.institution)
    TeamMember.objects.filter(application=app).update(role="co_pi")

    response = api(world.pi).patch(
        url(app),
        {
            "title": "新题目",
            "team": [world.member.pk, other.pk],
            "budget": [{"category": "business", "amount": "100000.00"}],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    app.refresh_from_db()
    assert app.title == "新题目"
    assert dict(app.team.values_list("user_id", "role")) == {
        world.member.pk: "co_pi",  # kept
        other.pk: "member",
    }
    assert {line.category: line.amount for line in app.budget_lines.all()} == {
        "business": Decimal("100000.00"),
        "indirect": Decimal("30000.00"),
    }
    assert response.json()["total_budget"] == "130000.00"


def test_put_replaces_content(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    response = api(world.pi).put(
        url(app),
        {"call": world.call.pk, "title": "全部替换", "abstract": "新摘要", "keywords": ["新"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    app.refresh_from_db()
    assert (app.title, app.abstract, app.keywords) == ("全部替换", "新摘要", ["新"])


def test_the_call_of_a_proposal_cannot_change(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    response = api(world.pi).patch(url(app), {"call": CallFactory().pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["call"]
    app.refresh_from_db()
    assert app.call == world.call


def test_only_a_draft_can_be_changed(api, world):
    app = set_state(ApplicationFactory(call=world.call, applicant=world.pi), S.SUBMITTED,
                    number="BF-2027-000001")  # fmt: skip
    for body in ({"title": "改"}, {"budget": [{"category": "business", "amount": "1.00"}]}):
        response = api(world.pi).patch(url(app), body, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
    app.refresh_from_db()
    assert app.title != "改"
    assert app.total_budget == Decimal("850000.00")


def test_team_member_sees_but_may_not_edit(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi, team=[world.member])
    client = api(world.member)
    assert client.get(url(app)).json()["available_transitions"] == []
    response = client.patch(url(app), {"title": "改"}, format="json")
    assert response.status_code == 403
    app.refresh_from_db()
    assert app.title != "改"


def test_proposals_are_not_deleted(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    assert api(world.pi).delete(url(app)).status_code == 405
    assert Application.objects.filter(pk=app.pk).exists()


# --- visibility ----------------------------------------------------------------------------


@pytest.fixture
def submitted(world):
    app = ApplicationFactory(call=world.call, applicant=world.pi, team=[world.member])
    return set_state(app, S.SUBMITTED, number="BF-2027-000042")


OUTSIDERS = {
    "reviewer": lambda w: reviewer(),
    "another applicant": lambda w: applicant(institution=w.institution),
    "another institution's admin": lambda w: institution_admin(InstitutionFactory()),
    "staff of another agency": lambda w: agency_staff(AgencyFactory()),
}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_and_empty_lists(api, world, submitted, who):
    client = api(OUTSIDERS[who](world))

    assert client.get("/api/v1/applications/").json()["count"] == 0
    assert client.get(url(submitted)).status_code == 404
    assert client.patch(url(submitted), {"title": "x"}, format="json").status_code == 404
    assert step(client, submitted, "endorse").status_code == 404
    assert step(client, submitted, "withdraw").status_code == 404
    assert client.get(url(submitted, "pdf/")).status_code == 404
    submitted.refresh_from_db()
    assert submitted.state == S.SUBMITTED
    assert logs(submitted) == []


INSIDERS = {
    "pi": lambda w: w.pi,
    "team member": lambda w: w.member,
    "own institution's admin": lambda w: w.inst_admin,
    "the program's agency staff": lambda w: w.staff,
    "officer": lambda w: w.officer,
    "auditor": lambda w: auditor(),
    "integrity officer": lambda w: integrity_officer(),
}


@pytest.mark.parametrize("who", INSIDERS)
def test_insiders_see_it(api, world, submitted, who):
    client = api(INSIDERS[who](world))
    listing = client.get("/api/v1/applications/").json()
    assert [a["id"] for a in listing["results"]] == [submitted.pk]
    assert client.get(url(submitted)).json()["number"] == "BF-2027-000042"


def test_institution_admin_does_not_see_drafts(api, world):
    draft = ApplicationFactory(call=world.call, applicant=world.pi)
    client = api(world.inst_admin)
    assert client.get("/api/v1/applications/").json()["count"] == 0
    assert client.get(url(draft)).status_code == 404


def test_list_filters(api, world):
    draft = ApplicationFactory(call=world.call, applicant=world.pi)
    sent = set_state(ApplicationFactory(call=CallFactory(), applicant=world.pi), S.SUBMITTED,
                     number="BF-2027-000077")  # fmt: skip
    client = api(world.pi)
    by_state = client.get("/api/v1/applications/?state=submitted").json()
    by_call = client.get(f"/api/v1/applications/?call={world.call.pk}").json()
    assert [a["id"] for a in by_state["results"]] == [sent.pk]
    assert [a["id"] for a in by_call["results"]] == [draft.pk]


def test_officers_do_not_see_drafts_never_submitted(api, world):
    draft = ApplicationFactory(call=world.call, applicant=world.pi)
    sent = set_state(ApplicationFactory(call=world.call, applicant=world.pi), S.SUBMITTED,
                     number="BF-2027-000078")  # fmt: skip
    client = api(world.officer)
    assert [a["id"] for a in client.get("/api/v1/applications/").json()["results"]] == [sent.pk]
    assert client.get(url(draft)).status_code == 404
    assert api(auditor()).get(url(draft)).json()["id"] == draft.pk


# --- refusals of submit (api.md) -----------------------------------------------------------


def assert_refused(response, app, status, code=None):
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["code"] == code
        assert response.json()["detail"]
    app.refresh_from_db()
    assert app.state == S.DRAFT
    assert app.number is None
    assert logs(app) == []


def test_submit_outside_the_window_is_call_closed(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    Call.objects.filter(pk=world.call.pk).update(closes_at=timezone.now() - timedelta(hours=1))
    assert_refused(step(api(world.pi), app, "submit"), app, 409, "call_closed")


@pytest.mark.parametrize("subject", ["pi", "member", "institution"])
def test_submit_with_a_bar_is_integrity_block(api, world, subject):
    app = ApplicationFactory(call=world.call, applicant=world.pi, team=[world.member])
    if subject == "institution":
        CreditRecordFactory(subject_institution=world.institution)
    else:
        CreditRecordFactory(subject_user=getattr(world, subject))
    response = step(api(world.pi), app, "submit")
    assert_refused(response, app, 409, "integrity_block")


def test_a_bar_on_reviewing_does_not_block_applying(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    CreditRecordFactory(subject_user=world.pi, bars_apply=False, bars_review=True)
    assert step(api(world.pi), app, "submit").json()["state"] == "submitted"


def test_submit_past_the_limit_is_limit_exceeded(api, world):
    for n in (1, 2):
        set_state(ApplicationFactory(call=CallFactory(), applicant=world.pi), S.ACCEPTED,
                  number=f"BF-2027-00010{n}")  # fmt: skip
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    assert_refused(step(api(world.pi), app, "submit"), app, 409, "limit_exceeded")


def test_submit_incomplete_is_400_with_field_errors(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi, abstract="", keywords=[])
    response = step(api(world.pi), app, "submit")
    assert_refused(response, app, 400)
    assert set(response.json()) == {"abstract", "keywords"}


def test_submit_without_budget_is_400(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi, budget=False)
    response = step(api(world.pi), app, "submit")
    assert_refused(response, app, 400)
    assert list(response.json()) == ["budget"]


def test_submit_over_the_call_cap_is_400(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    Call.objects.filter(pk=world.call.pk).update(max_budget=Decimal("500000.00"))
    response = step(api(world.pi), app, "submit")
    assert_refused(response, app, 400)
    assert list(response.json()) == ["budget"]
    assert "500,000.00" in response.json()["budget"][0]


def test_submit_over_the_indirect_cap_is_400(api, world):
    app = ApplicationFactory(
        call=world.call,
        applicant=world.pi,
        budget={"business": Decimal("100000"), "indirect": Decimal("90000")},
    )
    response = step(api(world.pi), app, "submit")
    assert_refused(response, app, 400)
    assert list(response.json()) == ["budget"]


def test_submit_twice_is_invalid_transition(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    client = api(world.pi)
    assert step(client, app, "submit").status_code == 200
    again = step(client, app, "submit")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert [row[0] for row in logs(app)] == ["submit"]


def test_submit_by_someone_who_sees_but_is_not_the_pi_is_invalid_transition(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi, team=[world.member])
    assert_refused(step(api(world.member), app, "submit"), app, 409, "invalid_transition")
    # A draft that was never submitted is not the officer's to see at all.
    assert_refused(step(api(world.officer), app, "submit"), app, 404, None)


def test_unknown_transition_is_invalid_transition(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    assert_refused(step(api(world.pi), app, "frobnicate"), app, 409, "invalid_transition")


def test_endorse_refused_when_the_institution_is_barred(api, world, submitted):
    CreditRecordFactory(subject_institution=world.institution)
    response = step(api(world.inst_admin), submitted, "endorse")
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_block"
    submitted.refresh_from_db()
    assert submitted.state == S.SUBMITTED


def test_withdraw(api, world, submitted):
    response = step(api(world.pi), submitted, "withdraw", "另有安排")
    assert response.json()["state"] == "withdrawn"
    assert response.json()["available_transitions"] == []
    assert logs(submitted) == [("withdraw", "submitted", "withdrawn", world.pi.pk, "另有安排")]


# --- PDF -----------------------------------------------------------------------------------


def test_pdf(api, world):
    app = ApplicationFactory(call=world.call, applicant=world.pi)
    response = api(world.pi).get(url(app, "pdf/"), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f"draft-{app.pk}.pdf" in response["Content-Disposition"]


# --- N+1 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "pi", "inst_admin", "staff"])
def test_list_queries_do_not_grow(world, same_queries, who):
    def make():
        app = ApplicationFactory(
            call=CallFactory(program=world.program), applicant=world.pi, team=[world.member]
        )
        return set_state(app, S.SUBMITTED, number=f"BF-2027-{app.pk:06d}")

    make()
    response = same_queries(
        getattr(world, who), "/api/v1/applications/", lambda: [make() for _ in range(29)]
    )
    rows = response.json()["results"]
    expected = {
        "officer": [],
        "pi": ["withdraw"],
        "inst_admin": ["endorse", "return"],
        "staff": [],
    }[who]
    assert {tuple(sorted(r["available_transitions"])) for r in rows} == {tuple(expected)}
