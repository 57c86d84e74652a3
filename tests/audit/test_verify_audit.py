"""``manage.py verify_audit``: intact on an untouched database; after an UPDATE or a DELETE
made with raw SQL behind the application's back it names the first broken entry and exits 1.
Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from audit import chain
from audit.models import ChainHead, TransitionLog
from grants import services
from tests import factories as f

pytestmark = pytest.mark.django_db

TABLE = TransitionLog._meta.db_table


def run():
    """(exit code, stdout, stderr) of ``verify_audit``."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", "--chunk-size", "4", stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def history():
    """Ten entries: transitions of three proposals and events between them."""
    officer = f.officer()
    for _ in range(3):
        application = f.ApplicationFactory()
        pi = application.applicant
        services.budget_set(
            application=application,
            lines={"equipment": "1000", "business": "2000", "labor": "1000"},
            by=pi,
        )
        services.application_submit(application=application, user=pi)
        services.application_endorse(
            application=application, user=f.institution_admin(application.institution)
        )
    chain.record("test.note", application, officer, {"amount": "12.50", "说明": "拨款"})
    entries = list(TransitionLog.entries.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, 11))
    return entries


def test_an_untouched_database_passes(history):
    code, out, err = run()
    assert (code, err) == (0, "")
    assert "Audit chain intact: 10 entries, last seq 10" in out
    assert history[-1].hash in out


def test_an_empty_database_passes():
    code, out, _err = run()
    assert code == 0
    assert "0 entries" in out


def test_an_update_names_the_changed_entry(history):
    victim = history[4]
    sql(f"UPDATE {TABLE} SET comment = %s WHERE id = %s", ["backdated approval", victim.pk])  # noqa: S608
    code, out, err = run()
    assert code == 1 and out == ""
    assert f"BROKEN at seq {victim.seq} (id {victim.pk}): content changed" in err
    assert "4 entries before it are intact" in err


def test_an_update_of_the_actor_or_the_time_is_caught(history):
    victim = history[7]
    sql(f"UPDATE {TABLE} SET actor_id = NULL WHERE id = %s", [victim.pk])  # noqa: S608
    assert f"seq {victim.seq} (id {victim.pk}): content changed" in run()[2]


def test_an_update_of_event_data_is_caught(history):
    victim = history[-1]
    assert victim.kind == "event"
    sql(f"UPDATE {TABLE} SET data = %s WHERE id = %s", ['{"amount": "99.00"}', victim.pk])  # noqa: S608
    code, _out, err = run()
    assert code == 1
    assert f"seq {victim.seq} (id {victim.pk}): content changed" in err


def test_a_delete_names_the_missing_entry_and_the_one_after(history):
    gone, after = history[5], history[6]
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [gone.pk])  # noqa: S608
    code, _out, err = run()
    assert code == 1
    assert f"BROKEN at seq {gone.seq} (id {after.pk}): entry missing" in err
    assert f"entry seq {gone.seq} is missing" in err
    assert f"comes seq {after.seq} (id {after.pk})" in err


def test_deleting_the_first_entry_is_caught(history):
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [history[0].pk])  # noqa: S608
    code, _out, err = run()
    assert code == 1
    assert "BROKEN at seq 1" in err and "entry missing" in err


def test_cutting_off_the_end_is_caught(history):
    sql(f"DELETE FROM {TABLE} WHERE seq >= %s", [9])  # noqa: S608
    code, _out, err = run()
    assert code == 1
    assert "BROKEN at seq 9: entry missing" in err
    assert "seq 9–10 are missing at the end" in err


def test_a_renumbered_delete_breaks_the_link(history):
    """Delete an entry and renumber the rest to hide the gap: the next link is broken."""
    gone, after = history[3], history[4]
    sql(f"DELETE FROM {TABLE} WHERE id = %s", [gone.pk])  # noqa: S608
    for entry in history[4:]:
        sql(f"UPDATE {TABLE} SET seq = seq - 1 WHERE id = %s", [entry.pk])  # noqa: S608
    code, _out, err = run()
    assert code == 1
    assert f"BROKEN at seq {gone.seq} (id {after.pk}): content changed" in err


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(history):
    """A forger who recomputes the changed entry's own hash is caught at the next entry."""
    victim, following = history[2], history[3]
    sql(f"UPDATE {TABLE} SET comment = %s WHERE id = %s", ["forged", victim.pk])  # noqa: S608
    forged = TransitionLog.entries.get(pk=victim.pk)
    sql(f"UPDATE {TABLE} SET hash = %s WHERE id = %s", [chain.entry_hash(forged), victim.pk])  # noqa: S608
    code, _out, err = run()
    assert code == 1
    assert f"BROKEN at seq {following.seq} (id {following.pk}): link broken" in err


def test_a_moved_head_is_caught(history):
    ChainHead.objects.update(hash="f" * 64)
    code, _out, err = run()
    assert code == 1
    assert "head mismatch" in err


def test_an_anchor_catches_a_chain_rewritten_from_there_on(history):
    out = io.StringIO()
    anchor = f"5:{history[4].hash}"
    call_command("verify_audit", "--anchor", anchor, stdout=out)
    assert "intact" in out.getvalue()
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit", "--anchor", f"5:{'a' * 64}", stderr=err)
    assert exc.value.code == 1
    assert "BROKEN at seq 5: anchor mismatch" in err.getvalue()


def test_entries_appended_after_a_break_do_not_hide_it(history):
    victim = history[1]
    sql(f"UPDATE {TABLE} SET object_repr = %s WHERE id = %s", ["someone else", victim.pk])  # noqa: S608
    chain.record("test.later", f.InstitutionFactory())
    assert f"BROKEN at seq 2 (id {victim.pk}): content changed" in run()[2]
