"""The rules of ``grants.services.application_submit`` (domain.md, "Eligibility at submission").

Window, completeness, budget caps, limit on concurrent work, integrity bars, numbering and
the confirmation mail. Every refusal leaves the draft a draft, without number or log row.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from grants import services
from grants.enums import ApplicationState
from grants.models import Application, NumberSequence
from integrity.services import record_correct
from programs.models import CATEGORY_PREFIX, Call, RuleSet
from tests import factories as f

S = ApplicationState
D = Decimal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Assertions read English messages, whatever translations exist."""
    with translation.override("en"):
        yield


def submit(application, user=None):
    return services.application_submit(application=application, user=user or application.applicant)


def assert_still_draft(application):
    fresh = Application.objects.get(pk=application.pk)
    assert fresh.state == S.DRAFT
    assert fresh.number is None
    assert fresh.submitted_at is None
    assert not TransitionLog.objects.for_object(application).exists()


def refused(application, code):
    with pytest.raises(WorkflowError) as exc:
        submit(application)
    assert exc.value.code == code
    assert_still_draft(application)
    return exc.value


def invalid(application):
    with pytest.raises(ValidationError) as exc:
        submit(application)
    assert_still_draft(application)
    return exc.value.message_dict


def this_year():
    return timezone.localtime().year


def test_a_complete_draft_is_submitted_numbered_and_logged():
    application = f.ApplicationFactory()
    before = timezone.now()
    result = submit(application)
    fresh = Application.objects.get(pk=application.pk)
    assert result.state == fresh.state == S.SUBMITTED
    assert fresh.number == f"BF-{this_year()}-000001"
    assert before <= fresh.submitted_at <= timezone.now()
    [log] = TransitionLog.objects.for_object(application)
    assert (log.transition, log.source, log.target, log.actor) == (
        "submit", S.DRAFT, S.SUBMITTED, application.applicant,
    )  # fmt: skip
    assert log.data == {"number": fresh.number}


# --- the call's window ---------------------------------------------------------------------


def test_call_not_yet_open():
    now = timezone.now()
    call = f.CallFactory(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=30))
    refused(f.ApplicationFactory(call=call), "call_closed")


def test_call_already_closed():
    now = timezone.now()
    call = f.CallFactory(opens_at=now - timedelta(days=30), closes_at=now - timedelta(seconds=1))
    refused(f.ApplicationFactory(call=call), "call_closed")


def test_window_bounds_open_inclusive_close_exclusive():
    now = timezone.now()
    call = f.CallFactory(opens_at=now, closes_at=now + timedelta(days=1))
    assert call.is_open(now)
    assert not call.is_open(now - timedelta(microseconds=1))
    assert not call.is_open(call.closes_at)
    assert list(Call.objects.open_at(now)) == [call]
    assert list(Call.objects.open_at(call.closes_at)) == []


# --- completeness --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("title", {"title": "   "}),
        ("abstract", {"abstract": ""}),
        ("keywords", {"keywords": []}),
        ("budget", {"budget": False}),
        ("budget", {"budget": {"business": D("0")}}),
    ],
)
def test_incomplete_draft_names_the_missing_field(field, values):
    errors = invalid(f.ApplicationFactory(**values))
    assert list(errors) == [field]


def test_every_missing_field_is_reported_at_once():
    application = f.ApplicationFactory(title="", abstract="", keywords=[], budget=False)
    assert sorted(invalid(application)) == ["abstract", "budget", "keywords", "title"]


# --- budget caps ---------------------------------------------------------------------------

BIG = D("20000000.00")
# direct − equipment = 8,000,000 + 4,000,000 = 12,000,000
DIRECT_12M = {"equipment": D("1000000"), "business": D("8000000"), "labor": D("4000000")}
CAP_2021 = D("5000000") * D("0.30") + D("5000000") * D("0.25") + D("2000000") * D("0.20")
CAP_2016 = D("5000000") * D("0.20") + D("5000000") * D("0.15") + D("2000000") * D("0.13")


def big_call(**kw):
    return f.CallFactory(max_budget=BIG, **kw)


def test_indirect_cap_tiers_of_the_2021_rule_set():
    assert CAP_2021 == D("3150000")
    application = f.ApplicationFactory(call=big_call(), budget=False)
    lines = services.budget_set(application=application, lines=DIRECT_12M)
    assert lines["indirect"] == CAP_2021
    assert services.indirect_cap(application, DIRECT_12M) == CAP_2021
    assert {b.category: b.amount for b in application.budget_lines.all()}["indirect"] == CAP_2021
    assert submit(application).state == S.SUBMITTED


def test_indirect_one_cent_over_the_cap_is_refused():
    application = f.ApplicationFactory(
        call=big_call(), budget={**DIRECT_12M, "indirect": CAP_2021 + D("0.01")}
    )
    assert list(invalid(application)) == ["budget"]
    with pytest.raises(ValidationError):
        services.budget_set(
            application=application, lines={**DIRECT_12M, "indirect": CAP_2021 + D("0.01")}
        )


def test_indirect_cap_under_rule_set_2016_on_the_call():
    call = big_call(rule_set=RuleSet.objects.get(code="2016"))
    application = f.ApplicationFactory(call=call, budget={**DIRECT_12M, "indirect": CAP_2016})
    assert CAP_2016 == D("2010000")
    assert services.indirect_cap(application, DIRECT_12M) == CAP_2016
    assert submit(application).state == S.SUBMITTED
    over = f.ApplicationFactory(call=call, budget={**DIRECT_12M, "indirect": CAP_2021})
    assert list(invalid(over)) == ["budget"]


def test_rule_set_of_the_program_applies_unless_the_call_overrides_it():
    program = f.ProgramFactory(rule_set=RuleSet.objects.get(code="2016"))
    inherited = f.ApplicationFactory(call=big_call(program=program), budget=False)
    assert services.indirect_cap(inherited, DIRECT_12M) == CAP_2016
    overridden = f.ApplicationFactory(
        call=big_call(program=program, rule_set=RuleSet.objects.get(code="2021")), budget=False
    )
    assert services.indirect_cap(overridden, DIRECT_12M) == CAP_2021


def test_pure_theory_indirect_share_is_60_percent():
    call = f.CallFactory(max_budget=D("30000000"), pure_theory=True)
    application = f.ApplicationFactory(call=call, budget=False)
    lines = services.budget_set(application=application, lines=DIRECT_12M)
    assert lines["indirect"] == D("7200000.00")
    assert submit(application).state == S.SUBMITTED


def test_total_over_the_call_cap():
    call = f.CallFactory(max_budget=D("800000"))
    application = f.ApplicationFactory(call=call)  # 850,000 in all
    [message] = invalid(application)["budget"]
    assert "800,000.00" in message


def test_total_exactly_at_the_call_cap_is_accepted():
    call = f.CallFactory(max_budget=D("850000"))
    assert submit(f.ApplicationFactory(call=call)).state == S.SUBMITTED


def test_fixed_sum_call_needs_exactly_the_sum():
    call = f.CallFactory(max_budget=D("400000"), sum_kind=Call.SumKind.FIXED)
    short = {"business": D("200000"), "labor": D("100000"), "indirect": D("50000")}
    assert list(invalid(f.ApplicationFactory(call=call, budget=short))) == ["budget"]
    exact = {"business": D("200000"), "labor": D("150000"), "indirect": D("50000")}
    assert submit(f.ApplicationFactory(call=call, budget=exact)).state == S.SUBMITTED


def test_lump_sum_call_takes_one_lump_sum_line():
    call = f.CallFactory(max_budget=D("400000"), lump_sum=True, sum_kind=Call.SumKind.FIXED)
    ok = f.ApplicationFactory(call=call, budget={"lump_sum": D("400000")})
    assert submit(ok).state == S.SUBMITTED
    line_items = f.ApplicationFactory(
        call=call, budget={"business": D("300000"), "indirect": D("100000")}
    )
    assert list(invalid(line_items)) == ["budget"]


def test_lump_sum_line_on_a_line_item_call_is_refused():
    application = f.ApplicationFactory(budget={"lump_sum": D("500000")})
    assert list(invalid(application)) == ["budget"]


def test_budget_set_on_a_lump_sum_call_adds_no_indirect_line():
    call = f.CallFactory(max_budget=D("400000"), lump_sum=True)
    application = f.ApplicationFactory(call=call, budget=False)
    assert services.budget_set(application=application, lines={"lump_sum": "300000"}) == {
        "lump_sum": D("300000")
    }


# --- limit on concurrent work ---------------------------------------------------------------


def pi_with(*states, **call_kw):
    pi = f.applicant()
    for state in states:
        f.set_state(f.ApplicationFactory(applicant=pi, **call_kw), state)
    return pi


@pytest.mark.parametrize(
    "states",
    [
        (S.SUBMITTED, S.UNDER_REVIEW),
        (S.ENDORSED, S.AWARDED),
        (S.IN_NOTICE, S.ACCEPTED),
        (S.REVIEWED, S.AWARDED, S.SUBMITTED),
    ],
)
def test_two_pending_or_running_reach_the_limit(states):
    pi = pi_with(*states)
    exc = refused(f.ApplicationFactory(applicant=pi), "limit_exceeded")
    assert str(len(states)) in exc.detail


def test_closed_and_draft_proposals_do_not_count():
    pi = pi_with(S.SUBMITTED, S.WITHDRAWN, S.REJECTED, S.INELIGIBLE, S.DRAFT)
    assert submit(f.ApplicationFactory(applicant=pi)).state == S.SUBMITTED


def test_the_limit_comes_from_the_rule_set():
    rule_set = RuleSet.objects.create(code="t3", name="three", data={"max_active_projects": 3})
    pi = pi_with(S.SUBMITTED, S.AWARDED)
    call = f.CallFactory(rule_set=rule_set)
    assert submit(f.ApplicationFactory(applicant=pi, call=call)).state == S.SUBMITTED
    refused(f.ApplicationFactory(applicant=pi, call=call), "limit_exceeded")


def test_a_limit_typed_as_a_string_in_the_rule_set_works():
    rule_set = RuleSet.objects.create(code="t1", name="one", data={"max_active_projects": "1"})
    pi = pi_with(S.SUBMITTED)
    refused(f.ApplicationFactory(applicant=pi, call=f.CallFactory(rule_set=rule_set)),
            "limit_exceeded")  # fmt: skip


def test_one_proposal_per_pi_when_the_call_says_so():
    call = f.CallFactory(one_proposal_per_pi=True)
    pi = f.applicant()
    submit(f.ApplicationFactory(applicant=pi, call=call))
    exc = refused(f.ApplicationFactory(applicant=pi, call=call), "limit_exceeded")
    assert "one proposal" in exc.detail
    # Another PI, or the same PI in another call, is not affected.
    assert submit(f.ApplicationFactory(call=call)).state == S.SUBMITTED
    assert submit(f.ApplicationFactory(applicant=pi)).state == S.SUBMITTED


def test_one_proposal_per_pi_ignores_a_withdrawn_one():
    call = f.CallFactory(one_proposal_per_pi=True)
    pi = f.applicant()
    f.set_state(f.ApplicationFactory(applicant=pi, call=call), S.WITHDRAWN)
    assert submit(f.ApplicationFactory(applicant=pi, call=call)).state == S.SUBMITTED


# --- integrity bars ------------------------------------------------------------------------


def bar(**subject):
    return f.CreditRecordFactory(**subject)


def assert_names(detail, record):
    """The PI reads their own record in full (issue 4: own records only)."""
    assert f"record {record.pk}" in detail
    assert str(record.get_category_display()) in detail


def assert_only_part(detail, record, part):
    """Someone else's record: named by their part, without the record's details."""
    assert part in detail
    assert f"record {record.pk}" not in detail
    assert str(record.subject) not in detail


def test_bar_on_the_pi():
    application = f.ApplicationFactory()
    record = bar(subject_user=application.applicant)
    detail = refused(application, "integrity_block").detail
    assert_names(detail, record)
    assert detail.startswith("You may not apply for funding")


def test_bar_on_a_team_member():
    member = f.applicant()
    application = f.ApplicationFactory(team=[member])
    record = bar(subject_user=member, category="fabrication")
    assert_only_part(refused(application, "integrity_block").detail, record, "A team member")


def test_bar_on_the_institution():
    application = f.ApplicationFactory()
    record = bar(subject_institution=application.institution)
    assert_only_part(refused(application, "integrity_block").detail, record, "Your institution")


def test_every_barring_record_is_named():
    member = f.applicant()
    application = f.ApplicationFactory(team=[member])
    records = [bar(subject_user=member), bar(subject_institution=application.institution)]
    detail = refused(application, "integrity_block").detail
    assert_only_part(detail, records[0], "A team member")
    assert_only_part(detail, records[1], "Your institution")


def test_permanent_bar_blocks():
    application = f.ApplicationFactory()
    bar(subject_user=application.applicant, ends_on=None)
    refused(application, "integrity_block")


def test_an_expired_bar_does_not_block():
    application = f.ApplicationFactory()
    today = timezone.localdate()
    bar(subject_user=application.applicant, starts_on=today - timedelta(days=800),
        ends_on=today - timedelta(days=1))  # fmt: skip
    assert submit(application).state == S.SUBMITTED


def test_a_bar_not_yet_in_force_does_not_block():
    application = f.ApplicationFactory()
    bar(subject_user=application.applicant, starts_on=timezone.localdate() + timedelta(days=1))
    assert submit(application).state == S.SUBMITTED


def test_a_superseded_bar_does_not_block():
    application = f.ApplicationFactory()
    record = bar(subject_user=application.applicant)
    record_correct(record=record, created_by=f.integrity_officer(), bars=[])
    assert submit(application).state == S.SUBMITTED


def test_a_correction_that_keeps_the_bar_still_blocks():
    application = f.ApplicationFactory()
    record = bar(subject_user=application.applicant)
    correction = record_correct(record=record, created_by=f.integrity_officer(),
                                description="Period corrected")  # fmt: skip
    assert_names(refused(application, "integrity_block").detail, correction)


def test_a_bar_on_reviewing_only_does_not_block_applying():
    application = f.ApplicationFactory()
    bar(subject_user=application.applicant, bars_apply=False, bars_review=True)
    assert submit(application).state == S.SUBMITTED


def test_endorse_re_checks_integrity():
    application = f.ApplicationFactory()
    admin = f.institution_admin(application.institution)
    submit(application)
    record = bar(subject_institution=application.institution)
    with pytest.raises(WorkflowError) as exc:
        services.application_endorse(application=application, user=admin)
    assert exc.value.code == "integrity_block"
    assert_names(exc.value.detail, record)
    assert Application.objects.get(pk=application.pk).state == S.SUBMITTED
    assert [log.transition for log in TransitionLog.objects.for_object(application)] == ["submit"]


def test_endorse_by_someone_else_is_invalid_before_integrity_is_asked():
    application = f.ApplicationFactory()
    submit(application)
    bar(subject_user=application.applicant)
    with pytest.raises(WorkflowError) as exc:
        services.application_endorse(application=application, user=f.auditor())
    assert exc.value.code == "invalid_transition"


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "prefix"), list(CATEGORY_PREFIX.items()))
def test_number_prefix_per_category(category, prefix):
    call = f.CallFactory(program=f.ProgramFactory(category=category))
    application = submit(f.ApplicationFactory(call=call))
    assert re.fullmatch(r"[A-Z]{2}-\d{4}-\d{6}", application.number)
    assert application.number == f"{prefix}-{this_year()}-000001"


def test_each_prefix_counts_on_its_own():
    bf = f.CallFactory()
    mp = f.CallFactory(program=f.ProgramFactory(category="major_project"))
    numbers = [submit(f.ApplicationFactory(call=call)).number for call in (bf, mp, bf, bf, mp)]
    year = this_year()
    assert numbers == [
        f"BF-{year}-000001", f"MP-{year}-000001", f"BF-{year}-000002",
        f"BF-{year}-000003", f"MP-{year}-000002",
    ]  # fmt: skip
    assert NumberSequence.objects.get(prefix="BF", year=year).last == 3


def test_number_is_kept_when_returned_and_resubmitted():
    application = f.ApplicationFactory()
    admin = f.institution_admin(application.institution)
    number = submit(application).number
    services.application_transition(
        application=application, name="return", user=admin, comment="Add the ethics approval."
    )
    returned = Application.objects.get(pk=application.pk)
    assert (returned.state, returned.number) == (S.DRAFT, number)
    again = submit(returned)
    assert (again.state, again.number) == (S.SUBMITTED, number)
    assert NumberSequence.objects.get().last == 1
    logs = list(TransitionLog.objects.for_object(application))
    assert [(log.transition, log.data.get("number")) for log in logs] == [
        ("submit", number), ("return", None), ("submit", number),
    ]  # fmt: skip


def test_a_number_is_never_reused():
    first = submit(f.ApplicationFactory())
    services.application_transition(application=first, name="withdraw", user=first.applicant)
    second = submit(f.ApplicationFactory())
    year = this_year()
    assert (first.number, second.number) == (f"BF-{year}-000001", f"BF-{year}-000002")
    assert Application.objects.get(pk=first.pk).number == f"BF-{year}-000001"


def test_a_refused_submission_uses_no_number():
    application = f.ApplicationFactory()
    bar(subject_user=application.applicant)
    refused(application, "integrity_block")
    assert submit(f.ApplicationFactory()).number == f"BF-{this_year()}-000001"


# --- mail ----------------------------------------------------------------------------------


def test_submission_mails_the_pi_and_the_institution_admins(django_capture_on_commit_callbacks):
    pi = f.applicant(language="en")
    application = f.ApplicationFactory(applicant=pi)
    admins = [f.institution_admin(pi.institution, language="en") for _ in range(2)]
    f.institution_admin(f.InstitutionFactory(), language="en")  # another institution's
    f.applicant(institution=pi.institution, language="en")  # a colleague, not an admin
    with django_capture_on_commit_callbacks(execute=True):
        application = submit(application)
    subject = f"Proposal {application.number} submitted"
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        (p.email, subject) for p in [pi, *admins]
    )
    assert all(len(m.to) == 1 for m in mail.outbox)
    by_recipient = {m.to[0]: m.body for m in mail.outbox}
    assert application.number in by_recipient[pi.email]
    assert "waiting for your institution's endorsement" in by_recipient[admins[0].email]
    assert "waiting for your institution's endorsement" not in by_recipient[pi.email]


def test_nothing_is_mailed_before_the_commit(django_capture_on_commit_callbacks):
    application = f.ApplicationFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(application)
    assert mail.outbox == []
    assert len(callbacks) == 1


def test_a_refused_submission_mails_nobody(django_capture_on_commit_callbacks):
    application = f.ApplicationFactory(abstract="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            submit(application)
    assert callbacks == []
    assert mail.outbox == []


def test_mail_is_in_the_recipients_language(django_capture_on_commit_callbacks):
    pi = f.applicant(language="zh-hans")
    application = f.ApplicationFactory(applicant=pi)
    admin = f.institution_admin(pi.institution, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        application = submit(application)
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects[admin.email] == f"Proposal {application.number} submitted"
    with translation.override("zh-hans"):
        zh = translation.gettext("Proposal %(number)s submitted")
    if zh == "Proposal %(number)s submitted":
        pytest.skip("no zh-hans translation of the mail yet")
    assert subjects[pi.email] == zh % {"number": application.number}


def test_endorsement_mails_the_pi(django_capture_on_commit_callbacks):
    pi = f.applicant(language="en")
    application = f.ApplicationFactory(applicant=pi)
    admin = f.institution_admin(pi.institution, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        application = submit(application)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.application_endorse(application=application, user=admin)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([pi.email], f"Proposal {application.number} endorsed by your institution")
    ]
