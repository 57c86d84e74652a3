"""Records: subjects as given, the sanction catalogue and what it bars, lifting of bars."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from integrity import exchange, services
from integrity.lifts import lift_expired_bars
from integrity.models import SANCTION_BARS, Action, BarLift, CreditRecord, Sanction
from integrity.tasks import lift_expired_bars as lift_task
from tests.factories import AgencyFactory, UserFactory, integrity_officer

from .identities import row

pytestmark = pytest.mark.django_db
today = timezone.localdate


def record(**kw):
    values = {
        "created_by": None,
        "category": "plagiarism",
        "starts_on": today() - timedelta(days=30),
        "ends_on": today() + timedelta(days=30),
        "decision": "d",
        "deciding_body": "b",
    }
    values.update(kw)
    return services.record_create(**values)


def test_every_sanction_of_domain_md_is_in_the_catalogue_with_what_it_bars():
    assert len(Sanction.values) == 13 and set(SANCTION_BARS) == set(Sanction.values)
    assert SANCTION_BARS[Sanction.WARNING] == frozenset()
    assert SANCTION_BARS[Sanction.BAR_MANAGE] == {Action.MANAGE}
    assert SANCTION_BARS[Sanction.PERMANENT_BAR] == set(Action.values)
    assert "manage" in Action.values


def test_several_sanctions_add_up_their_bars():
    r = record(
        subject_user=UserFactory(), sanctions=["public_criticism", "bar_review", "bar_manage"]
    )
    assert r.bars == ["review", "manage"] and not r.serious_dishonesty
    assert r.sanction_labels[0] == "Public criticism"


def test_the_catalogue_checks_the_period():
    with pytest.raises(ValidationError) as exc:
        record(subject_user=UserFactory(), sanctions=["permanent_bar"])
    assert "sanctions" in exc.value.message_dict
    with pytest.raises(ValidationError):
        record(subject_user=UserFactory(), sanctions=["bar_apply"], ends_on=None)
    with pytest.raises(ValidationError):
        record(subject_user=UserFactory(), sanctions=["banishment"])


def test_a_manage_bar_stops_agency_staff():
    staff = UserFactory(agency=AgencyFactory())
    r = record(subject_user=staff, sanctions=["bar_manage"])
    assert r.subject_kind == "agency_staff"
    assert not services.check_eligibility("manage", users=[staff])
    assert services.check_eligibility("apply", users=[staff])


def test_a_record_about_an_agency_names_it():
    agency = AgencyFactory()
    r = record(subject_agency=agency, bars=["manage"])
    assert (r.subject, r.subject_kind) == (agency, "agency")


def test_a_correction_of_an_imported_record_supersedes_it_and_keeps_the_key_with_the_original():
    officer = integrity_officer()
    result = exchange.import_records([row(name="孙七")], source="市教委", created_by=officer)
    original = CreditRecord.objects.get(import_batch=result.batch)
    fixed = services.record_correct(record=original, created_by=officer, ends_on=today())
    assert fixed.import_key is None and fixed.subject_name == "孙七"
    assert CreditRecord.objects.in_force().filter(subject_name="孙七").get() == fixed
    # The list comes again: the original row is known, nothing new.
    again = exchange.import_records([row(name="孙七")], source="市教委", created_by=officer)
    assert (again.created, again.duplicates) == (0, 1)


def test_a_bar_that_ended_yesterday_no_longer_blocks_and_the_night_notes_it_once():
    person = UserFactory(email="p@example.org")
    ended = record(subject_user=person, bars=["apply"], ends_on=today() - timedelta(days=1))
    record(subject_user=UserFactory(), bars=["apply"])  # still running
    record(subject_user=UserFactory(), sanctions=["warning"], ends_on=today() - timedelta(days=3))
    assert services.check_eligibility("apply", users=[person])  # before any task ran

    mail.outbox.clear()
    assert lift_task.delay().get() == 1
    lift = BarLift.objects.get()
    assert (lift.record, lift.lifted_on) == (ended, today())
    assert lift_expired_bars() == []  # once


def test_the_lift_mail_goes_after_commit(django_capture_on_commit_callbacks):
    person = UserFactory(email="p@example.org", language="en")
    ended = record(subject_user=person, bars=["review"], ends_on=today() - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert lift_expired_bars() == [ended.pk]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["p@example.org"]
    assert f"credit record {ended.pk}" in mail.outbox[0].subject
    assert BarLift.objects.get().notified
