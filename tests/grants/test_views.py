"""The proposal pages, driven as a person would: create, edit in sections, submit,
endorse, return, accept. Assertions are on what the database and the outbox hold."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from audit.models import TransitionLog
from grants.enums import ApplicationState
from grants.models import Application, BudgetLine, ExpertToAvoid, TeamMember
from tests import factories as f

S = ApplicationState
D = Decimal

pytestmark = pytest.mark.django_db


@pytest.fixture
def call():
    return f.CallFactory(max_budget=D("1000000.00"))


@pytest.fixture
def pi():
    return f.applicant(username="zhang", email="zhang@example.org")


def edit_url(application, section):
    return reverse("grants:edit", args=[application.pk, section])


def create_draft(client, call, title="新型钙钛矿太阳能电池的稳定性研究"):
    response = client.post(reverse("grants:create"), {"call": call.pk, "title": title})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Application.objects.get(title=title)


def fill_draft(client, application, team_user=None):
    response = client.post(
        edit_url(application, "content"),
        {
            "title": application.title,
            "abstract": "研究钙钛矿电池在湿热环境下的衰减机理。",
            "keywords": "钙钛矿、太阳能电池，稳定性",
            "discipline": "E",
            "title_en": "Stability of perovskite solar cells",
            "abstract_en": "We study degradation under damp heat.",
            "keywords_en": "perovskite, solar cells",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    if team_user is not None:
        response = client.post(
            edit_url(application, "team"),
            {
                "team-TOTAL_FORMS": "2",
                "team-INITIAL_FORMS": "0",
                "team-MIN_NUM_FORMS": "0",
                "team-MAX_NUM_FORMS": "30",
                "team-0-member": team_user.email.upper(),
                "team-0-role": "co_pi",
                "team-1-member": "",
                "team-1-role": "member",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    response = client.post(
        edit_url(application, "budget"),
        {"equipment": "100000", "business": "300000", "labor": "200000"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]


def test_applicant_creates_edits_and_submits(login, pi, call, django_capture_on_commit_callbacks):
    member = f.applicant(username="li", email="li@example.org")
    client = login(pi)
    application = create_draft(client, call)
    assert application.state == S.DRAFT
    assert application.applicant == pi
    assert application.institution == pi.institution

    fill_draft(client, application, team_user=member)
    application.refresh_from_db()
    assert application.keywords == ["钙钛矿", "太阳能电池", "稳定性"]
    assert application.keywords_en == ["perovskite", "solar cells"]
    assert application.discipline == "E"
    assert list(TeamMember.objects.filter(application=application).values_list("user", "role")) == [
        (member.pk, "co_pi")
    ]
    lines = dict(
        BudgetLine.objects.filter(application=application).values_list("category", "amount")
    )
    # Indirect is computed at the cap: 30 % of (600,000 − 100,000).
    assert lines == {
        "equipment": D("100000.00"),
        "business": D("300000.00"),
        "labor": D("200000.00"),
        "indirect": D("150000.00"),
    }

    page = client.get(reverse("grants:detail", args=[application.pk]))
    html = page.content.decode()
    assert "750,000.00" in html  # total in the budget table
    assert reverse("grants:transition", args=[application.pk, "submit"]) in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("grants:transition", args=[application.pk, "submit"]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.SUBMITTED
    assert application.number.startswith("BF-")
    assert application.submitted_at is not None
    assert [m.to for m in mail.outbox] == [[pi.email]]
    assert application.number in mail.outbox[0].subject
    assert TransitionLog.objects.for_object(application).get().transition == "submit"


def test_content_errors_show_inline_and_keep_what_was_typed(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    response = client.post(
        edit_url(application, "content"),
        {
            "title": "",
            "abstract": "一段很长的摘要，不能丢。",
            "keywords": "甲、乙",
            "discipline": "Z",
            "keywords_en": "alpha",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"title", "discipline"}
    html = response.content.decode()
    assert 'id="id_title_error"' in html
    assert "一段很长的摘要，不能丢。" in html
    assert 'value="甲、乙"' in html
    application.refresh_from_db()
    assert application.abstract == ""  # nothing was saved


def test_team_member_must_be_registered(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    response = client.post(
        edit_url(application, "team"),
        {
            "team-TOTAL_FORMS": "1",
            "team-INITIAL_FORMS": "0",
            "team-MIN_NUM_FORMS": "0",
            "team-MAX_NUM_FORMS": "30",
            "team-0-member": "nobody@example.org",
            "team-0-role": "member",
        },
    )
    assert response.status_code == 400
    assert "member" in response.context["formset"].forms[0].errors
    assert 'value="nobody@example.org"' in response.content.decode()
    assert not TeamMember.objects.filter(application=application).exists()


def test_budget_over_cap_is_refused_with_the_message(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    response = client.post(
        edit_url(application, "budget"),
        {"equipment": "100000", "business": "700000", "labor": "200000"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "exceeds the call&#x27;s cap of 1,000,000.00 CNY" in html
    assert 'value="700000"' in html
    assert not BudgetLine.objects.filter(application=application).exists()


def test_budget_page_shows_the_computed_indirect_cap(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    client.post(
        edit_url(application, "budget"), {"equipment": "0", "business": "100000", "labor": ""}
    )
    response = client.get(edit_url(application, "budget"))
    assert response.context["indirect_cap"] == D("30000.00")
    assert 'name="indirect"' not in response.content.decode()


def test_lump_sum_call_takes_one_amount(login, pi):
    call = f.CallFactory(lump_sum=True, max_budget=D("400000.00"))
    client = login(pi)
    application = create_draft(client, call)
    response = client.get(edit_url(application, "budget"))
    assert list(response.context["form"].fields) == ["lump_sum"]
    response = client.post(edit_url(application, "budget"), {"lump_sum": "380000"})
    assert response.status_code == 302
    assert dict(application.budget_lines.values_list("category", "amount")) == {
        "lump_sum": D("380000.00")
    }


def test_experts_to_avoid_need_a_reason_and_at_most_three(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    base = {
        "experts-TOTAL_FORMS": "3",
        "experts-INITIAL_FORMS": "0",
        "experts-MIN_NUM_FORMS": "0",
        "experts-MAX_NUM_FORMS": "3",
    }
    response = client.post(
        edit_url(application, "experts"),
        {
            **base,
            "experts-0-name": "王五",
            "experts-0-institution": "某大学",
            "experts-0-reason": "",
        },
    )
    assert response.status_code == 400
    assert "reason" in response.context["formset"].forms[0].errors
    assert 'value="王五"' in response.content.decode()
    response = client.post(
        edit_url(application, "experts"),
        {**base, "experts-0-name": "王五", "experts-0-reason": "长期竞争关系"},
    )
    assert response.status_code == 302
    assert list(
        ExpertToAvoid.objects.filter(application=application).values_list("name", "reason")
    ) == [("王五", "长期竞争关系")]
    four = {**base, "experts-TOTAL_FORMS": "4"}
    for i in range(4):
        four[f"experts-{i}-name"] = f"专家{i}"
        four[f"experts-{i}-reason"] = "合作者"
    response = client.post(edit_url(application, "experts"), four)
    assert response.status_code == 400
    assert ExpertToAvoid.objects.filter(application=application).count() == 1


def test_incomplete_proposal_submit_shows_what_is_missing(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    response = client.post(reverse("grants:transition", args=[application.pk, "submit"]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "An abstract is required." in html
    assert "A budget is required." in html
    application.refresh_from_db()
    assert application.state == S.DRAFT and application.number is None


def test_institution_admin_endorses(login, django_capture_on_commit_callbacks):
    application = f.ApplicationFactory()
    f.set_state(application, S.SUBMITTED, number="BF-2026-000001")
    admin = f.institution_admin(application.institution)
    client = login(admin)
    page = client.get(reverse("grants:detail", args=[application.pk]))
    assert [info.name for info, _form in page.context["transitions"]] == ["endorse", "return"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("grants:transition", args=[application.pk, "endorse"]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.ENDORSED
    log = TransitionLog.objects.for_object(application).get()
    assert (log.transition, log.actor) == ("endorse", admin)
    assert [m.to for m in mail.outbox] == [[application.applicant.email]]


def test_return_needs_a_reason_and_keeps_it_on_error(login):
    application = f.ApplicationFactory()
    f.set_state(application, S.SUBMITTED, number="BF-2026-000002")
    admin = f.institution_admin(application.institution)
    client = login(admin)
    url = reverse("grants:transition", args=[application.pk, "return"])
    response = client.post(url, {"t-return-comment": "   "})
    assert response.status_code == 400
    forms = {info.name: form for info, form in response.context["transitions"]}
    assert list(forms["return"].errors) == ["comment"]
    assert 'id="id_t-return-comment_error"' in response.content.decode()
    too_long = "请补充" * 1400
    response = client.post(url, {"t-return-comment": too_long})
    assert response.status_code == 400
    assert too_long in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.SUBMITTED
    assert not TransitionLog.objects.for_object(application).exists()

    response = client.post(url, {"t-return-comment": "预算说明不完整，请补充。"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.DRAFT
    log = TransitionLog.objects.for_object(application).get()
    assert (log.transition, log.comment) == ("return", "预算说明不完整，请补充。")


def test_refused_step_shows_the_reason(login):
    application = f.ApplicationFactory()
    f.set_state(application, S.SUBMITTED, number="BF-2026-000003")
    client = login(application.applicant)
    response = client.post(reverse("grants:transition", args=[application.pk, "endorse"]))
    assert response.status_code == 409
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and "endorse" in messages[0]
    application.refresh_from_db()
    assert application.state == S.SUBMITTED


def test_officer_accepts_after_formal_check(login):
    application = f.ApplicationFactory()
    f.set_state(application, S.ENDORSED, number="BF-2026-000004")
    officer = f.officer()
    client = login(officer)
    page = client.get(reverse("grants:detail", args=[application.pk]))
    assert {info.name for info, _form in page.context["transitions"]} == {
        "accept", "reject_ineligible", "return",
    }  # fmt: skip
    response = client.post(reverse("grants:transition", args=[application.pk, "accept"]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.ACCEPTED
    assert TransitionLog.objects.for_object(application).get().actor == officer


def test_agency_staff_sees_and_checks_only_delegated_programs(login):
    agency = f.AgencyFactory()
    delegated = f.ApplicationFactory(call__program__agency=agency)
    other = f.ApplicationFactory()
    for i, app in enumerate([delegated, other]):
        f.set_state(app, S.ENDORSED, number=f"BF-2026-00010{i}")
    staff = f.agency_staff(agency)
    client = login(staff)
    queue = client.get(reverse("grants:formal_check_queue"))
    assert [row.record.pk for row in queue.context["table"].paginated_rows] == [delegated.pk]
    assert client.get(reverse("grants:detail", args=[other.pk])).status_code == 404
    response = client.post(reverse("grants:transition", args=[other.pk, "accept"]))
    assert response.status_code == 404
    response = client.post(reverse("grants:transition", args=[delegated.pk, "accept"]))
    assert response.status_code == 302
    delegated.refresh_from_db()
    other.refresh_from_db()
    assert (delegated.state, other.state) == (S.ACCEPTED, S.ENDORSED)


def test_only_a_draft_is_edited(login):
    application = f.ApplicationFactory()
    f.set_state(application, S.SUBMITTED, number="BF-2026-000005")
    client = login(application.applicant)
    response = client.post(edit_url(application, "content"), {"title": "改过的题目"})
    assert response.status_code == 302
    assert response.url == reverse("grants:detail", args=[application.pk])
    application.refresh_from_db()
    assert application.title != "改过的题目"


def test_team_refusal_from_the_service_is_shown_and_rows_kept(login, pi, call):
    client = login(pi)
    application = create_draft(client, call)
    response = client.post(
        edit_url(application, "team"),
        {
            "team-TOTAL_FORMS": "1",
            "team-INITIAL_FORMS": "0",
            "team-MIN_NUM_FORMS": "0",
            "team-MAX_NUM_FORMS": "30",
            "team-0-member": pi.username,
            "team-0-role": "co_pi",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The PI leads the proposal and is not listed." in html
    assert f'value="{pi.username}"' in html
    assert not TeamMember.objects.filter(application=application).exists()
