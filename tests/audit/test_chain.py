"""The audit chain: one gapless sequence, each entry linked to its predecessor by hash,
events of money, decisions and records in the same chain as the transitions."""

import threading
from datetime import date
from decimal import Decimal
from importlib import import_module

import pytest
from django.db import close_old_connections, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from audit import chain
from audit.models import ChainHead, TransitionLog
from audit.selectors import timeline
from grants import services
from integrity.models import Action
from integrity.services import record_correct, record_create
from tests import factories as f

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def assert_chain_intact():
    """Seq 1..n without a gap, every prev_hash the predecessor's hash, every hash right,
    the head on the last entry; returns the entries in order."""
    entries = list(TransitionLog.entries.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    previous = chain.GENESIS
    for entry in entries:
        assert entry.prev_hash == previous, entry.seq
        assert chain.entry_hash(entry) == entry.hash, entry.seq
        previous = entry.hash
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (len(entries), previous)
    assert chain.verify(chunk_size=3).intact
    return entries


def test_many_operations_make_one_unbroken_chain():
    officer, integrity = f.officer(), f.integrity_officer()
    applications = [f.ApplicationFactory() for _ in range(3)]
    for application in applications:
        pi = application.applicant
        services.budget_set(
            application=application,
            lines={"equipment": "100000", "business": "200000", "labor": "100000"},
            by=pi,
        )
        services.application_submit(application=application, user=pi)
        admin = f.institution_admin(application.institution)
        services.application_endorse(application=application, user=admin, comment="好")
        services.application_transition(application=application, name="accept", user=officer)
    record = record_create(
        created_by=integrity,
        bars=[Action.APPLY],
        subject_user=applications[0].applicant,
        category="plagiarism",
        starts_on=date(2026, 1, 1),
        ends_on=date(2028, 12, 31),
        decision="取消申报资格三年",
    )
    record_correct(record=record, created_by=integrity, bars=[Action.REVIEW])

    entries = assert_chain_intact()
    assert [(e.kind, e.transition) for e in entries[:4]] == [
        ("event", "grants.budget_set"),
        ("transition", "submit"),
        ("transition", "endorse"),
        ("transition", "accept"),
    ]
    assert [e.transition for e in entries[-2:]] == [
        "integrity.record_created",
        "integrity.record_corrected",
    ]
    assert len(entries) == 3 * 4 + 2


def test_events_carry_what_changed_and_stay_out_of_timelines():
    application = f.ApplicationFactory()
    pi = application.applicant
    lines = services.budget_set(
        application=application,
        lines={"equipment": "100000.50", "business": "200000", "labor": "100000"},
        by=pi,
    )
    services.application_submit(application=application, user=pi)
    event = TransitionLog.entries.events().get()
    assert (event.transition, event.actor, event.actor_roles) == (
        "grants.budget_set",
        pi,
        ["applicant"],
    )
    assert (event.source, event.target) == ("", "")
    assert event.data["lines"]["equipment"] == "100000.50"
    assert event.data["total"] == str(sum(lines.values()))
    # Timelines and step counts see the transition only.
    assert [e.transition for e in timeline(application)] == ["submit"]
    assert TransitionLog.objects.for_object(application).count() == 1
    assert TransitionLog.entries.count() == 2


def test_credit_record_events_snapshot_the_record():
    integrity = f.integrity_officer()
    person = f.applicant()
    record = record_create(
        created_by=integrity,
        bars=[Action.APPLY, Action.REVIEW],
        subject_user=person,
        category="fabrication",
        starts_on=date(2026, 3, 1),
        ends_on=date(2029, 2, 28),
        decision="撤销项目",
    )
    corrected = record_correct(record=record, created_by=integrity, ends_on=date(2027, 2, 28))
    created, correction = TransitionLog.entries.events().order_by("seq")
    assert created.transition == "integrity.record_created"
    assert created.object_id == record.pk and created.actor == integrity
    assert created.data["subject_user_id"] == person.pk
    assert (created.data["bars_apply"], created.data["bars_review"]) == (True, True)
    assert created.data["ends_on"] == "2029-02-28"
    assert correction.transition == "integrity.record_corrected"
    assert correction.object_id == corrected.pk
    assert (correction.data["supersedes_id"], correction.data["ends_on"]) == (
        record.pk,
        "2027-02-28",
    )
    assert_chain_intact()


def test_review_submission_and_flag_are_chained():
    from datetime import timedelta

    from django.utils import timezone

    from grants.enums import ApplicationState
    from review import decisions
    from review import services as review_services
    from review.models import Review

    application = f.set_state(
        f.ApplicationFactory(call=f.CallFactory(scoring_scheme="eu")),
        ApplicationState.UNDER_REVIEW,
        number="BF-2027-000001",
    )
    assignment = f.ReviewAssignmentFactory(
        application=application,
        reviewer=f.reviewer(language="en"),
        state="invited",
        respond_by=timezone.localdate() + timedelta(days=5),
    )
    expert = assignment.reviewer
    review_services.pledge_sign(reviewer=expert, call=application.call)
    assignment = review_services.assignment_accept(assignment=assignment, user=expert)
    review_services.review_submit(
        assignment=assignment,
        user=expert,
        scores={"excellence": 4.5, "impact": 4, "implementation": 3.5},
        recommendation="fund",
        comment="Sound plan.",
        confidential_comment="Ambitious.",
    )
    stored = Review.objects.get()
    officer = f.officer()
    decisions.review_flag(review=stored, user=officer, kind="bias", note="偏低")
    submitted, flagged = TransitionLog.entries.events().order_by("seq")
    assert (submitted.transition, submitted.actor, submitted.object_id) == (
        "review.submitted",
        expert,
        stored.pk,
    )
    assert Decimal(submitted.data["total"]) == stored.total
    assert submitted.data["recommendation"] == "fund"
    assert submitted.data["content_sha256"] == chain.fingerprint(
        [
            stored.scores,
            stored.total,
            stored.recommendation,
            stored.comment,
            stored.confidential_comment,
        ]
    )
    assert "Ambitious." not in str(submitted.data)
    assert (flagged.transition, flagged.actor, flagged.data) == (
        "review.flagged",
        officer,
        {"flag": "bias: 偏低"},
    )
    # The assignment's own steps are transitions, in the same chain.
    steps = [e.transition for e in TransitionLog.objects.for_object(assignment)]
    assert steps == ["accept", "submit"]
    assert_chain_intact()


def test_a_rolled_back_change_leaves_no_entry_and_no_gap():
    application = f.ApplicationFactory()
    chain.record("test.first", application)
    with pytest.raises(Boom), transaction.atomic():
        chain.record("test.lost", application)
        services.application_submit(application=application, user=application.applicant)
        raise Boom
    chain.record("test.second", application)
    entries = assert_chain_intact()
    assert [e.transition for e in entries] == ["test.first", "test.second"]


def test_bulk_create_links_every_row():
    institution = f.InstitutionFactory()
    chain.record("test.before", institution)
    chain.record_many(
        "test.imported",
        [f.InstitutionFactory() for _ in range(7)],
        data=lambda obj: {"name": obj.name, "amount": Decimal("1.10"), "ratio": 2.0},
    )
    entries = assert_chain_intact()
    assert len(entries) == 8
    assert entries[-1].data["amount"] == "1.10" and entries[-1].data["ratio"] == 2


def test_entries_stay_append_only():
    entry = chain.record("test.event", f.InstitutionFactory())
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        TransitionLog.entries.all().delete()
    with pytest.raises(ValueError, match="append-only"):
        TransitionLog.entries.bulk_update([entry], ["comment"])
    with pytest.raises(ValueError, match="append-only"):
        TransitionLog.entries.bulk_create([entry])


def test_the_head_is_rebuilt_from_the_last_entry_when_missing():
    institution = f.InstitutionFactory()
    chain.record("test.one", institution)
    chain.record("test.two", institution)
    ChainHead.objects.all().delete()
    chain.record("test.three", institution)
    assert [e.seq for e in assert_chain_intact()] == [1, 2, 3]


def test_the_migration_links_rows_written_before_the_chain():
    """The data migration orders old rows by time and id and chains them."""
    applications = [f.ApplicationFactory() for _ in range(3)]
    for application in applications:
        services.application_submit(application=application, user=application.applicant)
    table = TransitionLog._meta.db_table
    with connection.cursor() as cursor:  # as the rows were before the chain existed
        cursor.execute(f"UPDATE {table} SET seq = seq + 100, prev_hash = '', hash = ''")  # noqa: S608
    ChainHead.objects.all().delete()
    assert not chain.verify().intact

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    state = MigrationExecutor(connection).loader.project_state(("audit", "0002_chain"))
    import_module("audit.migrations.0002_chain").link_existing(state.apps, editor)
    entries = assert_chain_intact()
    assert [e.object_id for e in entries] == [a.pk for a in applications]


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


def race(*calls, timeout=60):
    barrier = threading.Barrier(len(calls))
    errors = [None] * len(calls)

    def run(i, fn):
        try:
            close_old_connections()
            barrier.wait(timeout=timeout)
            fn()
        except Exception as exc:  # noqa: BLE001 — the test inspects every outcome
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
)
def test_concurrent_appends_never_fork_the_chain():
    """Eight workers append at once, each in its own transactions, starting with no head
    row at all (the flush removed it): the head is created once and every append waits
    its turn."""
    institution = f.InstitutionFactory()
    applications = [f.ApplicationFactory() for _ in range(4)]
    ChainHead.objects.all().delete()
    assert not TransitionLog.entries.exists()

    def appender(worker):
        def run():
            for i in range(15):
                with transaction.atomic():
                    chain.record("test.concurrent", institution, data={"w": worker, "i": i})

        return run

    def submitter(application):
        return lambda: services.application_submit(
            application=type(application).objects.get(pk=application.pk),
            user=application.applicant,
        )

    errors = race(*[appender(w) for w in range(8)], *[submitter(a) for a in applications])
    assert errors == [None] * 12
    entries = assert_chain_intact()
    assert len(entries) == 8 * 15 + 4
    assert len({e.prev_hash for e in entries}) == len(entries)  # no two share a parent
    per_worker = {}
    for e in entries:
        if e.kind == "event":
            per_worker.setdefault(e.data["w"], []).append(e.data["i"])
    assert per_worker == {w: list(range(15)) for w in range(8)}
