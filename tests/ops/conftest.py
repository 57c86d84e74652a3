"""Runtime tests against the real services: PostgreSQL, a Redis database of their own
(OPS_TEST_REDIS_URL, default redis://127.0.0.1:6379/13) and closed ports for the outages."""

import os
import socket

import pytest
import redis
from django.db import connection

from config.celery_app import app

REDIS_URL = os.environ.get("OPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def redis_answers():
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def closed_port():
    """A local port nothing listens on: connecting is refused at once, as when a server is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_connections():
    from kombu import pools

    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def broker_at():
    """``broker_at(url)`` points the Celery app at ``url`` for one test."""
    saved = app.conf.broker_url

    def point(url):
        _reset_connections()
        app.conf.broker_url = url
        return app

    yield point
    _reset_connections()
    app.conf.broker_url = saved


@pytest.fixture
def redis_broker(broker_at):
    if not redis_answers():
        pytest.skip(f"no Redis at {REDIS_URL}")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield broker_at(REDIS_URL)
    app.conf.task_always_eager = eager
    client.flushdb()


class DatabaseSwitch:
    """Takes the default connection to a port that refuses, as while PostgreSQL restarts,
    and brings it back; always back after the test so the test database can be flushed."""

    def __init__(self, closed_port):
        self.closed_port = closed_port
        self.port = connection.settings_dict["PORT"]

    def take_down(self):
        connection.close()
        connection.settings_dict["PORT"] = self.closed_port

    def bring_back(self):
        connection.close()
        connection.settings_dict["PORT"] = self.port


@pytest.fixture
def database_down(closed_port):
    switch = DatabaseSwitch(closed_port)
    yield switch
    switch.bring_back()
