"""Every request has an id: in its log lines (JSON, as production writes them), in the
X-Request-ID response header, and in the log lines of the Celery tasks it enqueued."""

import json
import logging
import time
import uuid

import pytest
import structlog
from django.conf import settings
from django.test import Client

from config.celery_app import app


class Lines(logging.Handler):
    """The root logger's lines, formatted by the production JSON formatter."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        spec = dict(settings.LOGGING["formatters"]["json"])
        self.setFormatter(spec.pop("()")(**spec))
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))

    def events(self, name):
        return [line for line in self.lines if line.get("event") == name]


@pytest.fixture
def log_lines():
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.mark.django_db
def test_the_proxys_request_id_is_logged_and_returned(log_lines):
    response = Client().get("/notices/", headers={"x-request-id": "lb-7f3a9c21"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-7f3a9c21"
    [finished] = log_lines.events("request_finished")
    assert finished["request_id"] == "lb-7f3a9c21"
    assert finished["request"] == "GET /notices/"
    assert finished["code"] == 200
    assert finished["level"] == "info"


@pytest.mark.django_db
@pytest.mark.parametrize("sent", [None, "short", "bad id with spaces and\nnewline-0123"])
def test_a_missing_or_malformed_request_id_is_replaced(log_lines, sent):
    headers = {"x-request-id": sent} if sent else {}
    response = Client().get("/notices/", headers=headers)
    request_id = response["X-Request-ID"]
    assert str(uuid.UUID(request_id)) == request_id
    [finished] = log_lines.events("request_finished")
    assert finished["request_id"] == request_id


@app.task(name="tests.ops.say_hello")
def say_hello():
    logging.getLogger("tests.ops").info("hello from the worker")
    return "hello"


@pytest.mark.django_db(transaction=True)
def test_the_request_id_reaches_the_tasks_log_lines(redis_broker, log_lines):
    from celery.contrib.testing.worker import start_worker

    changed = {"task_always_eager": False, "worker_hijack_root_logger": False}
    saved = {key: app.conf[key] for key in changed}
    app.conf.update(changed)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            root = logging.getLogger()
            if log_lines not in root.handlers:  # the worker's logging setup replaced them
                root.addHandler(log_lines)
            structlog.contextvars.bind_contextvars(request_id="lb-task-0001")
            try:
                say_hello.delay()
            finally:
                structlog.contextvars.clear_contextvars()
            deadline = time.monotonic() + 30
            while not log_lines.events("hello from the worker") and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        app.conf.update(saved)
    [hello] = log_lines.events("hello from the worker")
    assert hello["request_id"] == "lb-task-0001"
    assert hello["logger"] == "tests.ops"
    [started] = [e for e in log_lines.events("task_started") if e["task"] == "tests.ops.say_hello"]
    assert started["request_id"] == "lb-task-0001"
