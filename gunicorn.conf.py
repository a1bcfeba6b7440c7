"""Gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app`` (see docs/deploy.md).

Every value can be overridden on the command line or by the environment
variable named next to it.
"""

import multiprocessing
import os
import tempfile

# Where nginx (or the load balancer) reaches this instance.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Workers from the CPU count (2 per core + 1, at most 12), threads for requests waiting on gateways.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 12))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
# The production checks (core/config.py) refuse several workers without REDIS_URL: they read this.
os.environ["WEB_CONCURRENCY"] = str(workers)

# A request may wait on one gateway call (PAYMENT_HTTP_TIMEOUT, 10 s) and the database; 30 s is ample,
# and a stuck worker is replaced. Workers are recycled now and then to bound slow leaks: every 20,000
# requests or so (at 2,000 a busy worker was replaced every second or two, each time a pause while the
# master forks its successor, which starts with a cold pool; the bench finds RSS flat over 10,000).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
keepalive = 5  # nginx keeps upstream connections open (keepalive in the upstream block)
max_requests = 20000
max_requests_jitter = 2000

# Access log on stdout, one JSON object per line: the path without its query string (a query can carry
# personal data: search words, login codes), no client address, no user agent; the request id ties it to
# the application's log lines.
accesslog = "-"
access_log_format = (
    '{"logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Load the app once in the master: a bad setting stops the start with the production checks' message,
# and workers share the code's memory. Safe with the database pool because the app opens no connection
# at import (create_app connects to nothing) and post_fork drops any pooled connection a worker inherited.
preload_app = True

# Prometheus multiprocess mode: every worker (and a Celery worker on this machine given the same
# directory) writes its counters to files that GET /metrics adds up. Set it before prometheus_client loads.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="zz-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def post_fork(server, worker):
    """A forked worker must not share the master's pooled connections (there should be none)."""
    from core.extensions import db

    app = server.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # an app without the database: the bench's bare Flask route, served with these settings
    with app.app_context():
        db.engine.dispose(close=False)


def child_exit(server, worker):
    """Drop the live gauges of a finished worker (its counters stay in the totals)."""
    from core.metrics import mark_process_dead

    mark_process_dead(worker.pid)
