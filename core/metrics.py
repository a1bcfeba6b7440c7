"""Prometheus metrics: request counts and latencies, task runs, and figures read from the database.

Counters and histograms live in this process (prometheus-client); under
gunicorn (and a Celery worker on the same machine) ``PROMETHEUS_MULTIPROC_DIR``
makes every process write them to files that ``GET /metrics`` adds up.
Figures that are the state of the database (orders and payments by state, the
ledger's verification) are read when scraped, by collectors that the domain
packages register with ``register_database_collector`` (core imports none of
them), and cached for ``METRICS_DATABASE_CACHE_SECONDS``.
"""

import functools
import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "zz_http_requests_total", "HTTP requests answered, by endpoint (route template) and status.", ["endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "zz_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_RUNS = Counter(
    "zz_task_runs_total", "Background task and job runs, by outcome (success, retry, failure).", ["task", "outcome"]
)
TASK_LATENCY = Histogram(
    "zz_task_duration_seconds",
    "Time a background task or job ran.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
RECONCILIATION_DIFFERENCES = Gauge(
    "zz_reconciliation_differences",
    "Differences the last daily reconciliation found, by gateway.",
    ["gateway"],
    multiprocess_mode="mostrecent",
)
GATEWAY_MESSAGES = Counter(
    "zz_gateway_messages_total",
    "Messages received from payment gateways (notifications and query answers), by verdict.",
    ["channel", "source", "verdict"],
)

# name -> (documentation, label names, function returning [(label values, value)], cache seconds or None)
DatabaseFigures = Callable[[], Iterable[tuple[tuple[str, ...], float]]]
_database_collectors: dict[str, tuple[str, tuple[str, ...], DatabaseFigures, float | None]] = {}
_cache: dict[str, tuple[float, list]] = {}
_cache_lock = threading.Lock()


def register_database_collector(
    name: str, documentation: str, labels: tuple[str, ...], figures: DatabaseFigures, max_age: float | None = None
):
    """A gauge family computed from the database at scrape time (idempotent by name).

    ``max_age``: seconds a reading is reused (default METRICS_DATABASE_CACHE_SECONDS).
    """
    _database_collectors[name] = (documentation, labels, figures, max_age)


def reset_database_cache() -> None:
    with _cache_lock:
        _cache.clear()


class DatabaseCollector(Collector):
    """Reads the registered database figures (within the scraping request's app context)."""

    def __init__(self, max_age: float):
        self.max_age = max_age

    def collect(self):
        from core.extensions import db

        for name, (documentation, labels, figures, max_age) in sorted(_database_collectors.items()):
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            now = time.monotonic()
            with _cache_lock:
                cached = _cache.get(name)
            if cached is not None and now - cached[0] < (self.max_age if max_age is None else max_age):
                rows = cached[1]
            else:
                try:
                    rows = list(figures())
                except Exception:  # a broken figure must not hide the others
                    log.exception("metric %s could not be read", name)
                    db.session.rollback()
                    continue
                finally:
                    db.session.rollback()  # read-only: end the transaction the figures opened
                with _cache_lock:
                    _cache[name] = (now, rows)
            for label_values, value in rows:
                family.add_metric(list(label_values), value)
            yield family


def render_metrics() -> bytes:
    """The Prometheus text of this process (or of every process sharing the multiprocess directory)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessRegistry())
    registry.register(DatabaseCollector(current_app.config.get("METRICS_DATABASE_CACHE_SECONDS", 30)))
    return generate_latest(registry)


class _ProcessRegistry(Collector):
    """The default registry's metrics (this process), re-exposed inside a per-scrape registry."""

    def collect(self):
        yield from REGISTRY.collect()


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in _LOOPBACK)


def check_metrics_access() -> None:
    """``METRICS_TOKEN`` as a bearer token when set; otherwise only loopback clients (API.md)."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise Unauthorized("需要有效的监控令牌")
    elif not _is_loopback(request.remote_addr):
        raise Forbidden("监控指标仅对本机开放（或设置 METRICS_TOKEN）")


metrics_bp = Blueprint("metrics", __name__)


@metrics_bp.get("/metrics")
def metrics():
    """Prometheus text format (see METRICS_TOKEN)."""
    check_metrics_access()
    return Response(render_metrics(), mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST)


# The labelled series of a request, looked up once per (route template, status): ``labels()`` sorted
# and validated its arguments on every request. Bounded by the app's routes and the statuses they answer.
@functools.cache
def _requests_child(endpoint: str, status: int):
    return HTTP_REQUESTS.labels(endpoint, str(status))


@functools.cache
def _latency_child(endpoint: str):
    return HTTP_LATENCY.labels(endpoint)


def register_request_metrics(app: Flask) -> None:
    """Count every answered request by endpoint and status, and time it."""

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.pop("metrics_started", None)
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        counted = _requests_child(endpoint, response.status_code)
        counted.inc()
        if started is not None:
            _latency_child(endpoint).observe(time.perf_counter() - started)
        return response


def mark_process_dead(pid: int) -> None:
    """Gunicorn's child_exit / Celery's process shutdown: drop the live gauges of a finished process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
