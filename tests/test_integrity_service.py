"""integrity.services.check_eligibility: per action, in the period, superseding, one query."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from integrity.models import Action, CreditRecord
from integrity.services import check_eligibility, record_correct, record_create
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def today():
    return timezone.localdate()


def days(n):
    return today() + timedelta(days=n)


BAR_FLAGS = {Action.APPLY: "bars_apply", Action.REVIEW: "bars_review",
             Action.RECEIVE_FUNDS: "bars_receive_funds", Action.MANAGE: "bars_manage"}  # fmt: skip


@pytest.mark.parametrize("barred", list(Action))
def test_a_record_bars_only_the_actions_it_names(barred):
    person = f.applicant()
    record = f.CreditRecordFactory(
        subject_user=person, **{flag: action == barred for action, flag in BAR_FLAGS.items()}
    )
    for action in Action:
        result = check_eligibility(action, users=[person])
        assert result.allowed is (action != barred)
        assert bool(result) is result.allowed
        assert result.records == ([record] if action == barred else [])
        assert len(result.reasons) == (1 if action == barred else 0)


def test_action_given_as_a_string():
    person = f.applicant()
    f.CreditRecordFactory(subject_user=person, bars_apply=False, bars_review=True)
    assert not check_eligibility("review", users=[person]).allowed
    assert check_eligibility("apply", users=[person]).allowed
    with pytest.raises(ValueError):
        check_eligibility("manage_everything", users=[person])


def test_the_reason_names_subject_action_end_and_record():
    person = f.applicant(full_name="张三")
    record = f.CreditRecordFactory(subject_user=person, category="fabrication", ends_on=days(30))
    [reason] = check_eligibility(Action.APPLY, users=[person]).reasons
    assert reason == (
        f"张三 is barred from apply for funding until {days(30).isoformat()} "
        f"(record {record.pk}: Fabrication or falsification)."
    )


def test_permanent_bar_reason():
    institution = f.InstitutionFactory()
    f.CreditRecordFactory(subject_institution=institution, ends_on=None)
    [reason] = check_eligibility(Action.APPLY, institutions=[institution]).reasons
    assert str(institution) in reason and "until further notice" in reason


@pytest.mark.parametrize(
    ("starts", "ends", "on", "barred"),
    [
        (-10, 10, 0, True),
        (0, 0, 0, True),  # a one-day bar, that day
        (-10, 0, 0, True),  # the last day still bars
        (-10, -1, 0, False),  # ended yesterday: lifted by itself
        (1, 30, 0, False),  # not yet in force
        (1, 30, 1, True),  # ... but on its first day
        (-10, None, 0, True),  # permanent
        (-10, None, 3650, True),
        (-10, 10, 11, False),  # asked about a later day
        (-10, 10, -11, False),  # asked about an earlier day
    ],
)
def test_the_sanction_period(starts, ends, on, barred):
    person = f.applicant()
    f.CreditRecordFactory(
        subject_user=person, starts_on=days(starts), ends_on=None if ends is None else days(ends)
    )
    assert check_eligibility(Action.APPLY, users=[person], on=days(on)).allowed is not barred


def test_the_default_day_is_today_in_the_site_time_zone(settings):
    person = f.applicant()
    f.CreditRecordFactory(subject_user=person, starts_on=days(-5), ends_on=days(0))
    assert not check_eligibility(Action.APPLY, users=[person]).allowed


def test_a_superseded_record_no_longer_bars_and_history_stays():
    person = f.applicant()
    officer = f.integrity_officer()
    record = record_create(
        created_by=officer, subject_user=person, category="plagiarism",
        bars=[Action.APPLY, Action.REVIEW], starts_on=days(-1), ends_on=days(700),
    )  # fmt: skip
    lifted = record_correct(record=record, created_by=officer, bars=[Action.REVIEW],
                            description="Appeal upheld in part")  # fmt: skip
    assert check_eligibility(Action.APPLY, users=[person]).allowed
    review = check_eligibility(Action.REVIEW, users=[person])
    assert review.records == [lifted]
    assert lifted.supersedes == record
    assert (lifted.subject_user, lifted.category, lifted.ends_on) == (
        person,
        "plagiarism",
        days(700),
    )
    assert CreditRecord.objects.filter(subject_user=person).count() == 2


def test_a_correction_can_shorten_the_period():
    person = f.applicant()
    officer = f.integrity_officer()
    record = f.CreditRecordFactory(subject_user=person, starts_on=days(-400), ends_on=days(700))
    record_correct(record=record, created_by=officer, ends_on=days(-1))
    assert check_eligibility(Action.APPLY, users=[person]).allowed


def test_a_chain_of_corrections_only_the_last_counts():
    person = f.applicant()
    officer = f.integrity_officer()
    first = f.CreditRecordFactory(subject_user=person)
    second = record_correct(record=first, created_by=officer, bars=[])
    third = record_correct(record=second, created_by=officer, bars=[Action.APPLY])
    assert check_eligibility(Action.APPLY, users=[person]).records == [third]


def test_records_are_never_edited_or_deleted():
    record = f.CreditRecordFactory(subject_user=f.applicant())
    record.description = "changed"
    with pytest.raises(ValueError):
        record.save()
    with pytest.raises(ValueError):
        record.delete()


def test_one_query_for_many_subjects(django_assert_num_queries):
    people = [f.applicant() for _ in range(30)]
    institutions = [f.InstitutionFactory() for _ in range(5)]
    records = [
        f.CreditRecordFactory(subject_user=people[3]),
        f.CreditRecordFactory(subject_user=people[17], ends_on=None),
        f.CreditRecordFactory(subject_institution=institutions[2]),
        f.CreditRecordFactory(subject_user=people[5], ends_on=days(-1)),  # expired
    ]
    f.CreditRecordFactory(subject_user=f.applicant())  # someone not asked about
    with django_assert_num_queries(1):
        result = check_eligibility(Action.APPLY, users=people, institutions=institutions)
        reasons = list(result.reasons)
    assert not result.allowed
    assert sorted(r.pk for r in result.records) == sorted(r.pk for r in records[:3])
    assert len(reasons) == 3
    with django_assert_num_queries(1):
        assert check_eligibility(Action.APPLY, users=people[:3], institutions=[]).allowed


def test_no_subjects_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert check_eligibility(Action.APPLY).allowed
        assert check_eligibility(Action.APPLY, users=[None], institutions=[None]).allowed


def test_person_and_institution_are_separate_subjects():
    person = f.applicant()
    f.CreditRecordFactory(subject_institution=person.institution)
    assert check_eligibility(Action.APPLY, users=[person]).allowed
    assert not check_eligibility(Action.APPLY, institutions=[person.institution]).allowed
