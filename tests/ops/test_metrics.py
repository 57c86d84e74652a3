"""/metrics: request latency histograms and counts, and the Celery queue depth read from a
real Redis at scrape time; only for allowed addresses or the bearer token."""

import re

import pytest
from django.test import Client


def sample(text, name, **labels):
    """The value of one sample in Prometheus text format, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match[1] != name:
            continue
        found = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
        if found == want:
            return float(match[3])
    return None


def scrape(client=None, **extra):
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.mark.django_db
def test_a_request_shows_in_the_latency_histogram():
    name = "django_http_requests_latency_seconds_by_view_method_count"
    before = sample(scrape(), name, method="GET", view="notices:list") or 0
    assert Client().get("/notices/").status_code == 200
    text = scrape()
    assert sample(text, name, method="GET", view="notices:list") == before + 1
    assert (
        sample(
            text,
            "django_http_requests_latency_seconds_by_view_method_bucket",
            le="+Inf",
            method="GET",
            view="notices:list",
        )
        == before + 1
    )
    assert "django_http_responses_total_by_status_total" in text


def test_metrics_refuses_other_addresses_without_the_token(settings):
    settings.GRANTFLOW_METRICS_TOKEN = "s3cret-scrape-token"
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert Client().get("/metrics", **outside).status_code == 403
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **outside)
    assert wrong.status_code == 403
    scrape(HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", **outside)


def test_metrics_allows_a_network(settings):
    settings.GRANTFLOW_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    scrape(REMOTE_ADDR="10.1.2.3")
    assert Client().get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed


def test_queue_depth_counts_the_messages_waiting_in_redis(redis_broker):
    app = redis_broker
    assert sample(scrape(), "grantflow_celery_broker_up") == 1
    assert sample(scrape(), "grantflow_celery_queue_length", queue="celery") == 0
    for _ in range(3):  # no worker listens on this Redis database: they stay queued
        app.send_task("grantflow.ops.nothing", queue="celery")
    assert sample(scrape(), "grantflow_celery_queue_length", queue="celery") == 3


def test_queue_depth_reports_the_broker_down(broker_at, closed_port):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    text = scrape()
    assert sample(text, "grantflow_celery_broker_up") == 0
    assert sample(text, "grantflow_celery_queue_length", queue="celery") is None
