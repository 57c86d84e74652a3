"""/metrics: django-prometheus's request counts and latency histograms, and the depth of the
Celery queues read from the broker at scrape time.

Several gunicorn workers each count their own requests; with PROMETHEUS_MULTIPROC_DIR set
(deploy/gunicorn.conf.py) prometheus_client writes them to files there and a scrape, answered
by any one worker, adds them up.
"""

import ipaddress
import logging
import os
import secrets

import prometheus_client
from django.conf import settings
from django.http import HttpResponse
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


class QueueDepthCollector:
    """Messages waiting in each Celery queue (LLEN of the Redis lists, priorities summed)."""

    def collect(self):
        from config.celery_app import app

        depth = GaugeMetricFamily(
            "grantflow_celery_queue_length",
            "Messages waiting in the Celery queue, read from the broker.",
            labels=["queue"],
        )
        up = GaugeMetricFamily(
            "grantflow_celery_broker_up", "1 when the broker answered this scrape, else 0."
        )
        if not app.conf.broker_url:
            return
        try:
            timeout = settings.GRANTFLOW_READY_TIMEOUT
            with app.connection_for_read(connect_timeout=timeout) as connection:
                connection.ensure_connection(max_retries=0, timeout=timeout)
                channel = connection.default_channel
                for queue in sorted(app.amqp.queues):
                    depth.add_metric([queue], self._length(channel, queue))
        except Exception:
            logger.warning("queue depth: broker unreachable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield depth

    @staticmethod
    def _length(channel, queue):
        from kombu.exceptions import ChannelError

        try:
            return channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # never declared: nothing was ever sent to it
            return 0


def registry():
    """This process's metrics, or every gunicorn worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return prometheus_client.REGISTRY


def allowed(request):
    token = settings.GRANTFLOW_METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and secrets.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        client in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.GRANTFLOW_METRICS_ALLOWED_IPS
    )


def view(request):
    if not allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    queues = prometheus_client.CollectorRegistry()
    queues.register(QueueDepthCollector())
    body = prometheus_client.generate_latest(registry()) + prometheus_client.generate_latest(queues)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
