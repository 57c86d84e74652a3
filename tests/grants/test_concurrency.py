"""Concurrent steps on PostgreSQL: row locks decide, exactly one wins, numbers stay gap-free.

Each worker thread has its own database connection (Django's are per thread) and closes it
when done; a barrier releases them together. SQLite serialises writers and ignores
``SELECT ... FOR UPDATE``, so these run on PostgreSQL only.
"""

import re
import threading

import pytest
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from grants import services
from grants.enums import ApplicationState
from grants.models import Application
from tests import factories as f

S = ApplicationState

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)"
    ),
]


def race(*calls, timeout=60):
    """Run the callables at once, one thread each; returns (results, errors) in order."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), [None] * len(calls)

    def run(i, fn):
        try:
            close_old_connections()
            barrier.wait(timeout=timeout)
            results[i] = fn()
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
    return results, errors


def fresh(application):
    return Application.objects.get(pk=application.pk)


def transitions(application):
    return [log.transition for log in TransitionLog.objects.for_object(application)]


def test_two_concurrent_endorsements_one_wins():
    application = f.ApplicationFactory()
    services.application_submit(application=application, user=application.applicant)
    admins = [f.institution_admin(application.institution) for _ in range(2)]
    results, errors = race(
        *[
            lambda admin=admin: services.application_endorse(
                application=fresh(application), user=admin
            )
            for admin in admins
        ]
    )
    [winner] = [admins[i] for i, r in enumerate(results) if r is not None]
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, WorkflowError), repr(error)
    assert error.code == "invalid_transition"
    assert fresh(application).state == S.ENDORSED
    assert transitions(application) == ["submit", "endorse"]
    [log] = TransitionLog.objects.for_object(application).filter(transition="endorse")
    assert log.actor == winner


def test_two_concurrent_submissions_of_one_draft_one_wins():
    application = f.ApplicationFactory()
    pi = application.applicant
    results, errors = race(
        *[
            lambda: services.application_submit(application=fresh(application), user=pi)
            for _ in range(2)
        ]
    )
    assert sum(r is not None for r in results) == 1
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, WorkflowError), repr(error)
    assert error.code == "invalid_transition"
    saved = fresh(application)
    assert saved.state == S.SUBMITTED
    assert saved.number == f"BF-{timezone.localtime().year}-000001"
    assert transitions(application) == ["submit"]


def test_twenty_concurrent_submissions_get_gap_free_numbers():
    call = f.CallFactory()
    applications = [f.ApplicationFactory(call=call) for _ in range(20)]
    results, errors = race(
        *[
            lambda a=a: services.application_submit(application=fresh(a), user=a.applicant)
            for a in applications
        ]
    )
    assert errors == [None] * 20
    year = timezone.localtime().year
    numbers = sorted(Application.objects.filter(call=call).values_list("number", flat=True))
    assert numbers == [f"BF-{year}-{n:06d}" for n in range(1, 21)]
    assert sorted(r.number for r in results) == numbers
    assert all(re.fullmatch(r"BF-\d{4}-\d{6}", n) for n in numbers)
    assert TransitionLog.objects.filter(transition="submit").count() == 20


def test_same_pi_three_concurrent_submissions_with_limit_two():
    pi = f.applicant()
    applications = [f.ApplicationFactory(applicant=pi) for _ in range(3)]
    results, errors = race(
        *[
            lambda a=a: services.application_submit(application=fresh(a), user=pi)
            for a in applications
        ]
    )
    assert sum(r is not None for r in results) == 2
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, WorkflowError), repr(error)
    assert error.code == "limit_exceeded"
    states = sorted(Application.objects.filter(applicant=pi).values_list("state", flat=True))
    assert states == [S.DRAFT, S.SUBMITTED, S.SUBMITTED]
    assert TransitionLog.objects.filter(transition="submit").count() == 2


def test_concurrent_endorse_and_return_one_wins():
    application = f.ApplicationFactory()
    services.application_submit(application=application, user=application.applicant)
    admin = f.institution_admin(application.institution)
    results, errors = race(
        lambda: services.application_endorse(application=fresh(application), user=admin),
        lambda: services.application_transition(
            application=fresh(application), name="return", user=admin, comment="Incomplete"
        ),
    )
    assert sum(r is not None for r in results) == 1, errors
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, WorkflowError) and error.code == "invalid_transition", repr(error)
    assert fresh(application).state in {S.ENDORSED, S.DRAFT}
    assert len(transitions(application)) == 2
