"""The demo loader: idempotent, real workflow history, refuses to run outside demo mode."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Agency, ExpertProfile, Institution, User
from accounts.roles import Role
from audit.models import TransitionLog
from grants.enums import ApplicationState
from grants.models import Application, BudgetLine, ExpertToAvoid, TeamMember
from integrity.models import Action, CreditRecord
from integrity.services import check_eligibility
from programs.models import Call, Program
from programs.permissions import can_manage_program, managed_programs

pytestmark = pytest.mark.django_db

ACCOUNTS = [
    "admin", "officer", "agency", "unit", "applicant",
    "reviewer", "reviewer_intl", "integrity", "auditor",
]  # fmt: skip
MODELS = [
    Program, Call, Institution, Agency, User, ExpertProfile, Application, TeamMember,
    BudgetLine, ExpertToAvoid, TransitionLog, CreditRecord,
]  # fmt: skip


def counts():
    return {m.__name__: m.objects.count() for m in MODELS}


def load():
    call_command("load_demo", stdout=io.StringIO())


@pytest.fixture
def demo(settings):
    settings.GRANTFLOW_DEMO = True
    load()


def test_running_twice_changes_nothing(settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.GRANTFLOW_DEMO = True
    with django_capture_on_commit_callbacks(execute=True):
        load()
    first = counts()
    numbers = dict(Application.objects.values_list("title", "number"))
    states = dict(Application.objects.values_list("title", "state"))
    # 3 submissions × 2, 2 endorsements, 1 acceptance, 5 review invitations
    assert len(mailoutbox) == 14

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load()

    assert counts() == first
    assert dict(Application.objects.values_list("title", "number")) == numbers
    assert dict(Application.objects.values_list("title", "state")) == states
    assert callbacks == []  # nothing was submitted or accepted again
    assert len(mailoutbox) == 14
    assert first["Application"] == 4
    assert first["CreditRecord"] == 1


def test_programs_and_calls_come_from_the_data_file(demo):
    assert set(Program.objects.values_list("code", flat=True)) == {
        "BR", "YF", "QM", "TS", "SI", "MP", "RD", "PS", "IV",
    }  # fmt: skip
    assert Call.objects.count() == 7
    assert all(call.is_open() for call in Call.objects.all())
    sailing = Call.objects.get(program__code="YF")
    assert (sailing.sum_kind, sailing.lump_sum, sailing.max_budget) == (
        Call.SumKind.FIXED, True, Decimal("200000.00"),
    )  # fmt: skip
    major = Call.objects.get(program__code="MP")
    assert (major.max_budget, major.reviewers_per_application) == (Decimal("30000000.00"), 7)
    assert major.min_international_reviewers == 2
    assert major.scoring_scheme == "eu"


def test_accounts_log_in_with_the_demo_password(demo):
    for username in ACCOUNTS:
        client = Client()
        client.post(reverse("accounts:login"), {"username": username, "password": "demo"})
        assert client.session.get("_auth_user_id"), username
    roles = {u.username: u.role_names for u in User.objects.filter(username__in=ACCOUNTS)}
    assert roles["officer"] == {Role.PROGRAM_OFFICER}
    assert roles["unit"] == {Role.INSTITUTION_ADMIN}
    assert roles["agency"] == {Role.AGENCY_STAFF}
    assert roles["integrity"] == {Role.INTEGRITY_OFFICER}
    assert roles["auditor"] == {Role.AUDITOR}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    applicant = User.objects.get(username="applicant")
    assert applicant.orcid == "0000-0002-1825-0097"
    assert applicant.institution.name == "上海示范大学"
    intl = User.objects.get(username="reviewer_intl")
    assert (intl.country.code, intl.language) == ("DE", "en")
    assert intl.expert_profile.expertise
    assert User.objects.get(username="reviewer").expert_profile.expertise


def test_institutions_and_agency(demo):
    assert set(Institution.objects.values_list("name_en", flat=True)) >= {
        "Shanghai Demo University", "Pujiang Institute",
    }  # fmt: skip
    for institution in Institution.objects.all():
        institution.full_clean()  # the credit codes are valid
    agency_user = User.objects.get(username="agency")
    assert list(managed_programs(agency_user).values_list("code", flat=True)) == ["SI"]
    assert not can_manage_program(agency_user, Program.objects.get(code="BR"))


def test_proposals_went_through_the_real_workflow(demo):
    by_title = {a.title: a for a in Application.objects.all()}
    states = sorted(a.state for a in by_title.values())
    assert states == sorted(
        [
            ApplicationState.DRAFT,
            ApplicationState.SUBMITTED,
            ApplicationState.ENDORSED,
            ApplicationState.UNDER_REVIEW,
        ]
    )
    staffed = Application.objects.get(state=ApplicationState.UNDER_REVIEW)
    log = list(TransitionLog.objects.for_object(staffed).select_related("actor"))
    assert [(e.transition, e.source, e.target) for e in log] == [
        ("submit", "draft", "submitted"),
        ("endorse", "submitted", "endorsed"),
        ("accept", "endorsed", "accepted"),
        ("start_review", "accepted", "under_review"),
    ]
    assert [e.actor.username for e in log] == ["applicant2", "unit", "agency", "agency"]
    draft = Application.objects.get(state=ApplicationState.DRAFT)
    assert draft.number is None
    assert draft.budget_lines.count() == 4  # indirect line computed at its cap
    assert draft.experts_to_avoid.count() == 1
    for application in Application.objects.exclude(state=ApplicationState.DRAFT):
        assert application.number and application.submitted_at


def test_a_non_demo_person_is_barred_from_applying(demo):
    record = CreditRecord.objects.get()
    assert record.subject_user.username not in ACCOUNTS
    assert not record.subject_user.has_usable_password()
    assert not check_eligibility(Action.APPLY, users=[record.subject_user]).allowed
    assert check_eligibility(Action.REVIEW, users=[record.subject_user]).allowed
    applicant = User.objects.get(username="applicant")
    assert check_eligibility(Action.APPLY, users=[applicant]).allowed


def test_refuses_outside_demo_mode(settings):
    settings.GRANTFLOW_DEMO = False

    with pytest.raises(CommandError, match="GRANTFLOW_DEMO"):
        load()

    assert counts() == {**{m.__name__: 0 for m in MODELS}}


def test_rerun_long_after_reopens_closed_demo_calls(demo):
    past = timezone.now() - timedelta(days=100)
    Call.objects.update(opens_at=past, closes_at=past + timedelta(days=30))

    load()

    assert all(call.is_open() for call in Call.objects.all())
    assert Call.objects.count() == 7


def test_the_delegated_call_is_staffed_and_the_demo_reviewers_are_invited(demo):
    from review.models import ReviewAssignment

    staffed = Application.objects.get(state=ApplicationState.UNDER_REVIEW)
    assignments = ReviewAssignment.objects.filter(application=staffed).select_related("reviewer")
    assert assignments.count() == staffed.call.reviewers_per_application
    assert {a.state for a in assignments} == {"invited"}
    usernames = {a.reviewer.username for a in assignments}
    assert {"reviewer", "reviewer_intl"} <= usernames
    assert sum(a.is_international for a in assignments) >= staffed.call.min_international_reviewers
