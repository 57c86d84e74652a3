"""The contract (任务书): signatures in order by the right people, each a logged transition
with the PDF's hash; the integrity gate at signing; frozen after the first signature; the
funder's signature starts the project; the PDF holds the Chinese title and the total."""

import hashlib
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from finance.models import Contract, ContractState
from finance.pdf import render_contract_pdf
from finance.projects import (
    budget_approve,
    contract_for,
    contract_transition,
    kpis_set,
    milestones_set,
)
from grants.models import ProjectState
from tests import factories as f

from . import test_projects as tp

pytestmark = pytest.mark.django_db
S = ContractState


def pdf_text(data):
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def ready(**kw):
    """An awarded project with its budget approved, and the people who sign."""
    officer = f.officer()
    project = tp.awarded_project(**kw)
    budget_approve(project=project, user=officer, lines={})
    milestones_set(
        project=project, user=officer, milestones=[{"title": "中期", "due_on": "2027-12-31"}]
    )
    pi = project.application.applicant
    admin = f.institution_admin(project.application.institution)
    return project, contract_for(project), pi, admin, officer


def test_pdf_text_holds_the_chinese_title_and_the_budget_total():
    project, contract, *_ = ready()
    text = pdf_text(render_contract_pdf(contract, language="zh-hans"))
    compact = text.replace(" ", "").replace("\n", "")
    assert project.application.title.replace(" ", "") in compact
    assert "850,000.00" in compact
    assert "510,000.00" in compact  # first instalment: 60 %


def test_signatures_in_order_with_logs_hashes_and_the_project_started():
    project, contract, pi, admin, officer = ready()
    # Out of order or by the wrong person: refused, nothing changes.
    for name, user in [
        ("sign_institution", admin),
        ("sign_officer", officer),
        ("sign_pi", admin),
        ("sign_pi", officer),
    ]:
        with pytest.raises(WorkflowError) as exc:
            contract_transition(contract=contract, name=name, user=user)
        assert exc.value.code == "invalid_transition"
    contract = contract_transition(contract=contract, name="sign_pi", user=pi)
    assert contract.state == S.SIGNED_BY_PI
    with pytest.raises(WorkflowError):
        contract_transition(contract=contract, name="sign_institution", user=pi)
    contract = contract_transition(contract=contract, name="sign_institution", user=admin)
    assert contract.state == S.SIGNED_BY_INSTITUTION
    with pytest.raises(WorkflowError):
        contract_transition(contract=contract, name="sign_officer", user=admin)
    contract = contract_transition(contract=contract, name="sign_officer", user=officer)

    contract = Contract.objects.get(pk=contract.pk)
    assert contract.state == S.SIGNED
    assert (contract.pi_signed_by, contract.institution_signed_by, contract.officer_signed_by) == (
        pi,
        admin,
        officer,
    )
    assert len({contract.pi_sha256, contract.institution_sha256, contract.officer_sha256}) == 3
    stored = contract.pdf.read()
    assert hashlib.sha256(stored).hexdigest() == contract.officer_sha256
    text = pdf_text(stored).replace(" ", "")
    assert pi.display_name in text and officer.display_name in text
    logs = TransitionLog.entries.filter(object_id=contract.pk, transition__startswith="sign_")
    assert [(e.transition, e.actor, e.data.get("sha256")) for e in logs.order_by("seq")] == [
        ("sign_pi", pi, contract.pi_sha256),
        ("sign_institution", admin, contract.institution_sha256),
        ("sign_officer", officer, contract.officer_sha256),
    ]
    project.refresh_from_db()
    assert project.state == ProjectState.ACTIVE
    assert TransitionLog.entries.filter(
        object_id=project.pk, transition="sign", actor=officer
    ).exists()


def test_the_budget_must_be_approved_before_signing():
    project = tp.awarded_project()
    with pytest.raises(WorkflowError) as exc:
        contract_transition(
            contract=contract_for(project), name="sign_pi", user=project.application.applicant
        )
    assert exc.value.code == "invalid_transition"
    assert contract_for(project).state == S.DRAFT


def test_frozen_after_the_first_signature():
    project, contract, pi, admin, officer = ready()
    contract_transition(contract=contract, name="sign_pi", user=pi)
    for change in (
        lambda: budget_approve(project=project, user=officer, lines={}),
        lambda: milestones_set(project=project, user=officer, milestones=[]),
        lambda: kpis_set(project=project, user=officer, kpis=[]),
    ):
        with pytest.raises(WorkflowError) as exc:
            change()
        assert exc.value.code == "invalid_transition"
    assert project.milestones.count() == 1


def test_integrity_bar_on_receiving_funds_blocks_signing():
    project, contract, pi, admin, officer = ready()
    f.CreditRecordFactory(subject_user=pi, bars_receive_funds=True)
    with pytest.raises(WorkflowError) as exc:
        contract_transition(contract=contract, name="sign_pi", user=pi)
    assert exc.value.code == "integrity_block"
    assert Contract.objects.get(pk=contract.pk).state == S.DRAFT
    assert not TransitionLog.entries.filter(object_id=contract.pk, transition="sign_pi").exists()


def test_institution_barred_blocks_the_institutions_signature():
    project, contract, pi, admin, officer = ready()
    contract_transition(contract=contract, name="sign_pi", user=pi)
    f.CreditRecordFactory(
        subject_institution=project.application.institution, bars_receive_funds=True
    )
    with pytest.raises(WorkflowError) as exc:
        contract_transition(contract=contract, name="sign_institution", user=admin)
    assert exc.value.code == "integrity_block"
    assert Contract.objects.get(pk=contract.pk).state == S.SIGNED_BY_PI


def test_agency_staff_of_another_agency_cannot_sign():
    agency_a, agency_b = f.AgencyFactory(), f.AgencyFactory()
    project, contract, pi, admin, _officer = ready(
        call=f.CallFactory(program=f.ProgramFactory(agency=agency_a))
    )
    contract_transition(contract=contract, name="sign_pi", user=pi)
    contract_transition(contract=contract, name="sign_institution", user=admin)
    with pytest.raises(WorkflowError):
        contract_transition(contract=contract, name="sign_officer", user=f.agency_staff(agency_b))
    contract = contract_transition(
        contract=contract, name="sign_officer", user=f.agency_staff(agency_a)
    )
    assert contract.state == S.SIGNED
    assert Decimal(project.approved_budget) == Decimal("850000.00")
