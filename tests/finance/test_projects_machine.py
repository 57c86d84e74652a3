"""The project machine: for every transition, who may take it (officer, agency staff of the
program, agency staff of another program, the PI, a team member, the institution admin, an
auditor) and the state it reaches."""

import pytest

from audit import workflow
from audit.models import TransitionLog
from audit.workflow import WorkflowError
from finance.projects import project_transition
from grants.models import Project, ProjectState
from tests import factories as f

from . import test_projects as tp

pytestmark = pytest.mark.django_db
P = ProjectState

# name: (source, target, who may)
MACHINE = {
    "submit_midterm": (P.ACTIVE, P.MIDTERM_REVIEW, {"pi"}),
    "pass_midterm": (P.MIDTERM_REVIEW, P.ACTIVE, {"officer", "staff"}),
    "submit_final": (P.ACTIVE, P.FINAL_REVIEW, {"pi"}),
    "accept": (P.FINAL_REVIEW, P.COMPLETED, {"officer", "staff"}),
    "fail": (P.FINAL_REVIEW, P.FAILED, {"officer", "staff"}),
    "close": (P.FINAL_REVIEW, P.CLOSED, {"officer", "staff"}),
    "terminate": (P.ACTIVE, P.TERMINATED, {"officer", "staff"}),
}
#: Steps whose target needs more than permission (documents of the evaluation part).
NEEDS_INPUTS = {"submit_final"}
PEOPLE = ["officer", "staff", "other_staff", "pi", "member", "admin", "auditor"]


def people(project, agency):
    return {
        "officer": f.officer(),
        "staff": f.agency_staff(agency),
        "other_staff": f.agency_staff(f.AgencyFactory()),
        "pi": project.application.applicant,
        "member": project.application.team.get().user,
        "admin": f.institution_admin(project.application.institution),
        "auditor": f.auditor(),
    }


@pytest.mark.parametrize("name", list(MACHINE))
def test_permission_matrix(name):
    source, target, allowed = MACHINE[name]
    agency = f.AgencyFactory()
    project = tp.awarded_project(
        call=f.CallFactory(program=f.ProgramFactory(agency=agency)), team=[f.applicant()]
    )
    who = people(project, agency)
    for person in PEOPLE:
        Project.objects.filter(pk=project.pk).update(state=source)
        project.refresh_from_db()
        user = who[person]
        assert (name in workflow.available_names(project, user)) == (person in allowed), person
        if person in allowed and name in NEEDS_INPUTS:
            continue  # reaching the target needs the evaluation's inputs (finance.evaluation)
        if person in allowed:
            project_transition(project=project, name=name, user=user, comment="reason")
            project.refresh_from_db()
            assert project.state == target, person
            assert TransitionLog.entries.filter(
                object_id=project.pk, transition=name, actor=user
            ).exists()
        else:
            with pytest.raises(WorkflowError) as exc:
                project_transition(project=project, name=name, user=user, comment="reason")
            assert exc.value.code == "invalid_transition", person
            project.refresh_from_db()
            assert project.state == source, person


def test_terminate_from_each_open_state_and_not_after():
    officer = f.officer()
    project = tp.awarded_project()
    for state in (P.CONTRACTING, P.ACTIVE, P.MIDTERM_REVIEW):
        Project.objects.filter(pk=project.pk).update(state=state)
        project_transition(project=project, name="terminate", user=officer, comment="misconduct")
        project.refresh_from_db()
        assert project.state == P.TERMINATED
    for state in (P.FINAL_REVIEW, P.COMPLETED, P.TERMINATED):
        Project.objects.filter(pk=project.pk).update(state=state)
        with pytest.raises(WorkflowError):
            project_transition(project=project, name="terminate", user=officer, comment="x")


def test_sign_only_through_the_contract():
    project = tp.awarded_project()
    with pytest.raises(WorkflowError) as exc:
        project_transition(project=project, name="sign", user=f.officer())
    assert exc.value.code == "invalid_transition"
    project.refresh_from_db()
    assert project.state == P.CONTRACTING
