"""Who may take which step of a proposal: every role × every Application transition.

Each case starts the proposal in the transition's source state and asks
``grants.services.application_transition`` (the one entry point of views and API) to run it.
Allowed: the target state is saved and one TransitionLog row names actor, from, to, the
public transition name and the comment. Refused: ``WorkflowError('invalid_transition')``, the
state is unchanged and nothing is logged.
"""

from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.roles import Role
from audit import workflow
from audit.models import TransitionLog
from audit.workflow import WorkflowError
from grants.enums import WITHDRAWABLE_STATES, ApplicationState
from grants.models import Application
from grants.services import application_transition
from tests import factories as f

S = ApplicationState

ROLES = [
    "pi",
    "other_applicant",
    "team_member",
    "institution_admin",
    "other_institution_admin",
    "program_officer",
    "delegated_agency_staff",
    "other_agency_staff",
    "reviewer",
    "integrity_officer",
    "auditor",
]


@pytest.fixture(autouse=True)
def _english():
    """Assertions read English messages, whatever translations exist."""
    with translation.override("en"):
        yield


MANAGERS = {"program_officer", "delegated_agency_staff"}


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    source: str
    target: str
    allowed: frozenset
    needs_comment: bool = False


CASES = [
    Case("submit", "submit", S.DRAFT, S.SUBMITTED, frozenset({"pi"})),
    Case("endorse", "endorse", S.SUBMITTED, S.ENDORSED, frozenset({"institution_admin"})),
    Case(
        "return-from-submitted", "return", S.SUBMITTED, S.DRAFT,
        frozenset({"institution_admin"}), needs_comment=True,
    ),
    Case(
        "return-from-endorsed", "return", S.ENDORSED, S.DRAFT, frozenset(MANAGERS),
        needs_comment=True,
    ),
    Case("accept", "accept", S.ENDORSED, S.ACCEPTED, frozenset(MANAGERS)),
    Case(
        "reject_ineligible", "reject_ineligible", S.ENDORSED, S.INELIGIBLE, frozenset(MANAGERS),
        needs_comment=True,
    ),
    *[
        Case(f"withdraw-from-{state}", "withdraw", state, S.WITHDRAWN, frozenset({"pi"}))
        for state in WITHDRAWABLE_STATES
    ],
]  # fmt: skip


@pytest.fixture
def world(db):
    """One proposal and one person in every role around it."""
    inst = f.InstitutionFactory()
    other_inst = f.InstitutionFactory()
    agency, other_agency = f.AgencyFactory(), f.AgencyFactory()
    call = f.CallFactory(program=f.ProgramFactory(agency=agency))
    pi = f.applicant(institution=inst)
    member = f.applicant(institution=inst)
    application = f.ApplicationFactory(call=call, applicant=pi, team=[member])
    people = {
        "pi": pi,
        "other_applicant": f.applicant(institution=inst),
        "team_member": member,
        "institution_admin": f.institution_admin(inst),
        "other_institution_admin": f.institution_admin(other_inst),
        "program_officer": f.officer(),
        "delegated_agency_staff": f.agency_staff(agency),
        "other_agency_staff": f.agency_staff(other_agency),
        "reviewer": f.reviewer(institution=other_inst),
        "integrity_officer": f.integrity_officer(),
        "auditor": f.auditor(),
    }
    return application, people


def start_in(application, state):
    fields = {} if state == S.DRAFT else {"number": f"BF-2099-{application.pk:06d}"}
    return f.set_state(application, state, **fields)


def logs(application):
    return list(TransitionLog.objects.for_object(application))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_transition_permission_matrix(world, case, role):
    application, people = world
    application = start_in(application, case.source)
    actor = people[role]
    comment = f"Reason given by {role}"

    if role in case.allowed:
        assert case.name in workflow.available_names(application, actor)
        result = application_transition(
            application=application, name=case.name, user=actor, comment=comment
        )
        assert result.state == case.target
        assert Application.objects.get(pk=application.pk).state == case.target
        [log] = logs(application)
        assert (log.actor, log.source, log.target, log.transition, log.comment) == (
            actor, case.source, case.target, case.name, comment,
        )  # fmt: skip
        assert log.actor_roles == sorted(actor.role_names)
    else:
        assert case.name not in workflow.available_names(application, actor)
        with pytest.raises(WorkflowError) as exc:
            application_transition(
                application=application, name=case.name, user=actor, comment=comment
            )
        assert exc.value.code == "invalid_transition"
        assert Application.objects.get(pk=application.pk).state == case.source
        assert logs(application) == []


@pytest.mark.django_db
@pytest.mark.parametrize("blank", ["", "   \n"])
@pytest.mark.parametrize("case", [c for c in CASES if c.needs_comment], ids=lambda c: c.id)
def test_a_reason_is_required(world, case, blank):
    application, people = world
    application = start_in(application, case.source)
    for role in sorted(case.allowed):
        with pytest.raises(ValidationError) as exc:
            application_transition(
                application=application, name=case.name, user=people[role], comment=blank
            )
        assert "comment" in exc.value.message_dict
        assert Application.objects.get(pk=application.pk).state == case.source
        assert logs(application) == []


@pytest.mark.django_db
@pytest.mark.parametrize("state", [S.IN_NOTICE, S.AWARDED, S.REJECTED, S.WITHDRAWN, S.INELIGIBLE])
def test_the_pi_cannot_withdraw_once_in_notice_or_closed(world, state):
    application, people = world
    application = start_in(application, state)
    with pytest.raises(WorkflowError) as exc:
        application_transition(application=application, name="withdraw", user=people["pi"])
    assert exc.value.code == "invalid_transition"
    assert Application.objects.get(pk=application.pk).state == state
    assert logs(application) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        (S.DRAFT, "pi", ["submit", "withdraw"]),
        (S.SUBMITTED, "pi", ["withdraw"]),
        (S.SUBMITTED, "institution_admin", ["endorse", "return"]),
        (S.ENDORSED, "program_officer", ["return", "accept", "reject_ineligible"]),
        (S.ENDORSED, "delegated_agency_staff", ["return", "accept", "reject_ineligible"]),
        (S.ENDORSED, "other_agency_staff", []),
        (S.ENDORSED, "auditor", []),
    ],
)
def test_available_transitions_by_public_name(world, state, role, expected):
    application, people = world
    application = start_in(application, state)
    assert sorted(workflow.available_names(application, people[role])) == sorted(expected)


@pytest.mark.django_db
def test_unknown_transition_name_is_invalid(world):
    application, people = world
    with pytest.raises(WorkflowError) as exc:
        application_transition(application=application, name="award_now", user=people["pi"])
    assert exc.value.code == "invalid_transition"
    assert Application.objects.get(pk=application.pk).state == S.DRAFT


@pytest.mark.django_db
def test_a_stale_object_cannot_take_a_second_step(world):
    """The runner re-reads the row: an object loaded before another's step is refused."""
    application, people = world
    application = start_in(application, S.SUBMITTED)
    stale = Application.objects.get(pk=application.pk)
    application_transition(
        application=application, name="endorse", user=people["institution_admin"]
    )
    with pytest.raises(WorkflowError) as exc:
        application_transition(
            application=stale, name="return", user=people["institution_admin"], comment="Fix it"
        )
    assert exc.value.code == "invalid_transition"
    assert Application.objects.get(pk=application.pk).state == S.ENDORSED
    assert [log.transition for log in logs(application)] == ["endorse"]


@pytest.mark.django_db
def test_a_stale_locked_object_is_refused_by_the_optimistic_check(world):
    """``perform(locked=True)`` on an object whose row changed underneath: refused, no log."""
    application, people = world
    application = start_in(application, S.ENDORSED)
    stale = Application.objects.get(pk=application.pk)
    Application.objects.filter(pk=application.pk).update(state=S.ACCEPTED)
    with pytest.raises(WorkflowError) as exc:
        workflow.perform(stale, "reject_ineligible", user=people["program_officer"],
                         comment="Out of scope", locked=True)  # fmt: skip
    assert exc.value.code == "invalid_transition"
    assert Application.objects.get(pk=application.pk).state == S.ACCEPTED
    assert logs(application) == []


# --- delegation changes move the right to act ------------------------------------------------


def managers_of(application, people):
    fresh = Application.objects.select_related("call").get(pk=application.pk)
    return {
        role
        for role in ("delegated_agency_staff", "other_agency_staff")
        if "accept" in workflow.available_names(fresh, _reloaded(people[role]))
    }


def _reloaded(user):
    """A new user object: role and program caches are per object (per request)."""
    return type(user).objects.get(pk=user.pk)


@pytest.mark.django_db
def test_redelegating_a_program_moves_the_right_to_the_new_agency(world):
    from programs.permissions import sync_delegation
    from programs.services import program_update

    application, people = world
    application = start_in(application, S.ENDORSED)
    program = application.call.program
    old_agency, new_agency = program.agency, people["other_agency_staff"].agency
    assert managers_of(application, people) == {"delegated_agency_staff"}

    program_update(program=program, agency=new_agency)
    assert managers_of(application, people) == {"other_agency_staff"}

    # Even when the caller does not say where the program came from.
    program.refresh_from_db()
    program.agency = old_agency
    program.save()
    sync_delegation(program)
    assert managers_of(application, people) == {"delegated_agency_staff"}

    program.agency = None
    program.save()
    sync_delegation(program)
    assert managers_of(application, people) == set()


@pytest.mark.django_db
def test_staff_moved_to_another_agency_lose_the_old_agencys_programs(world):
    from accounts.roles import Role
    from accounts.services import set_roles
    from programs.permissions import add_agency_staff

    application, people = world
    application = start_in(application, S.ENDORSED)
    staff = people["delegated_agency_staff"]
    other_agency = people["other_agency_staff"].agency

    add_agency_staff(staff, other_agency)
    assert managers_of(application, people) == set()

    # The same through the account service: the user's agency changes, roles are set again.
    back = people["delegated_agency_staff"]
    back.agency = application.call.program.agency
    back.save()
    set_roles(user=back, roles=[Role.AGENCY_STAFF])
    assert managers_of(application, people) == {"delegated_agency_staff"}
    back.agency = other_agency
    back.save()
    set_roles(user=back, roles=[Role.AGENCY_STAFF])
    assert managers_of(application, people) == set()


@pytest.mark.django_db
def test_no_one_vouches_for_or_judges_their_own_proposal():
    """An institution admin or officer who is the PI or on the team cannot take the
    institution's or the funder's step on that proposal."""
    from grants import services

    available_names = workflow.available_names
    institution = f.InstitutionFactory()
    admin_pi = f.UserFactory(
        roles=[Role.APPLICANT, Role.INSTITUTION_ADMIN], institution=institution
    )
    app = services.application_submit(
        application=f.ApplicationFactory(applicant=admin_pi), user=admin_pi
    )
    assert "endorse" not in available_names(app, admin_pi)
    with pytest.raises(WorkflowError) as refused:
        services.application_endorse(application=app, user=admin_pi)
    assert refused.value.code == "invalid_transition"

    officer_member = f.UserFactory(roles=[Role.PROGRAM_OFFICER], institution=institution)
    other = f.applicant(institution=institution)
    app2 = f.ApplicationFactory(applicant=other, team=[officer_member])
    f.set_state(app2, "endorsed", number="BF-2026-900001")
    assert "accept" not in available_names(app2, officer_member)
    assert "accept" in available_names(app2, f.officer())
