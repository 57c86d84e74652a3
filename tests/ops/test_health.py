"""/healthz says the process answers and nothing more; /readyz checks the database and the
broker for real and names what failed."""

import time

import pytest


def test_healthz_answers_without_touching_the_database(client):
    """No django_db mark: any database access in this test raises."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_endpoints_skip_the_host_check_and_https_redirect(client, settings):
    """Load balancers probe by IP over plain HTTP."""
    settings.ALLOWED_HOSTS = ["grantflow.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400


@pytest.mark.django_db
def test_readyz_with_database_and_redis_up(client, redis_broker):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok"},
        "failed": [],
    }
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_reports_the_broker_down(client, broker_at, closed_port):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "error: OperationalError"


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_the_database_down_then_recovers(client, redis_broker, database_down):
    database_down.take_down()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"] == {"database": "error: OperationalError", "broker": "ok"}

    database_down.bring_back()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["failed"] == []
