"""A PostgreSQL restart: pages answer a clear 503 while the database is away and work again
as soon as it is back, in the same process.

Requests go through Django's real WSGI handler (not the test client, which switches off the
connection housekeeping of request_started/request_finished), with persistent connections
and health checks as in production. The outage is real: the server ends our backend
(pg_terminate_backend, what a restart does to open connections), then the connection points
at a port that refuses, as while PostgreSQL is down.
"""

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory

handler = WSGIHandler()


def get(path, language="en"):
    environ = RequestFactory().get(path, headers={"accept-language": language}).environ
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)

    body = handler(environ, start_response)
    try:
        answer["body"] = b"".join(body).decode()
    finally:
        body.close()  # request_finished: what a WSGI server does after each response
    return answer


@pytest.fixture
def persistent_connections():
    saved = {k: connection.settings_dict[k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    yield
    connection.close()
    connection.settings_dict.update(saved)


def terminate(backend_pid):
    """Ends a backend from a connection of its own, as the server does when it restarts."""
    params = connection.get_connection_params()
    other = psycopg2.connect(
        **{k: params[k] for k in ("dbname", "user", "host", "port") if params.get(k)}
    )
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_pages_survive_a_postgresql_restart(persistent_connections, database_down):
    assert get("/notices/")["status"] == 200
    first_backend = connection.connection.get_backend_pid()

    terminate(first_backend)
    # The health check at the start of the next request finds the connection dead and
    # opens a new one: no error page at all.
    assert get("/notices/")["status"] == 200
    assert connection.connection.get_backend_pid() != first_backend


@pytest.mark.django_db(transaction=True)
def test_database_down_gives_a_503_page_then_recovers(persistent_connections, database_down):
    assert get("/notices/")["status"] == 200
    database_down.take_down()

    page = get("/notices/")
    assert page["status"] == 503
    assert page["headers"]["Retry-After"] == "60"
    assert "Service temporarily unavailable" in page["body"]
    assert "try again in a minute" in page["body"]
    chinese = get("/notices/", language="zh-hans")
    assert chinese["status"] == 503
    assert 'lang="zh-Hans"' in chinese["body"]

    database_down.bring_back()  # the same process serves again
    page = get("/notices/")
    assert page["status"] == 200
    assert "Service temporarily unavailable" not in page["body"]
