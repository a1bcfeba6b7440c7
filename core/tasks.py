"""Background work: Celery when a broker is configured, the same work in process otherwise.

Domain packages declare, in their ``tasks.py``:

- deferred work with ``background_task(name, runs=service_function)``: a
  service enqueues it with ``run_later(service_function, some_id)``, which
  hands it over only once the current transaction commits (``core.db.after_commit``);
- periodic jobs with ``periodic_job(name, schedule)``; the CLI commands call
  the same functions.

Tasks take ids, never ORM objects; each run is its own unit of work (an app
context and a session of its own, committed on success and rolled back on
error); a run that raises ``RetryLater`` (a gateway could not be reached) or
fails is retried with exponential backoff. Work must be idempotent: Celery
delivers at least once (``acks_late``: a worker killed mid-task leaves the
message to be delivered again).

Where the work runs:

- ``CELERY_BROKER_URL`` (or ``REDIS_URL``) set: on Celery (``celery -A
  celery_worker worker`` and ``… beat`` for the schedule); the request id of
  the enqueuing request travels in a message header.
- no broker: in this process, in a small thread pool (retries on timers), and
  the periodic jobs on an in-process scheduler thread that the first request
  started by ``flask run`` (``make run``) or a development server's first
  request (``IN_PROCESS_SCHEDULER``), so the demo behaves like production;
- ``TASKS_EAGER`` (tests): inline, once, in an app context (and session) of its own.
"""

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from celery import Celery
from celery.schedules import crontab, schedule
from flask import Flask, current_app

from core import metrics
from core.db import after_commit
from core.logs import bind_request_id, current_request_id, reset_request_id

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "zz_request_id"
MAX_RETRIES = 8
BACKOFF_SECONDS = 10  # first retry after ~10 s, then 20, 40, … capped at BACKOFF_MAX_SECONDS
BACKOFF_MAX_SECONDS = 600


class RetryLater(Exception):
    """The work could not be finished now (a gateway did not answer): run it again later."""


@dataclass
class TaskDefinition:
    name: str
    func: Callable  # takes ids; commits or leaves the commit to the unit of work
    max_retries: int = MAX_RETRIES
    periodic: object = None  # a celery schedule for periodic jobs


_tasks: dict[str, TaskDefinition] = {}
_by_function: dict[Callable, TaskDefinition] = {}
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tasks")


def background_task(name: str, *, runs: Callable | None = None, max_retries: int = MAX_RETRIES):
    """Declare deferred work. ``runs``: the service function that ``run_later`` is given for it."""

    def declare(func: Callable) -> Callable:
        definition = TaskDefinition(name, func, max_retries)
        _tasks[name] = definition
        _by_function[func] = definition
        if runs is not None:
            _by_function[runs] = definition
        return func

    return declare


def periodic_job(name: str, every: timedelta | crontab):
    """Declare a periodic job (``every``: an interval, or a crontab in Asia/Shanghai)."""

    def declare(func: Callable) -> Callable:
        definition = TaskDefinition(name, func, max_retries=0, periodic=every)
        _tasks[name] = definition
        _by_function[func] = definition
        return func

    return declare


def task_definitions() -> dict[str, TaskDefinition]:
    return dict(_tasks)


def periodic_jobs() -> dict[str, TaskDefinition]:
    return {name: task for name, task in _tasks.items() if task.periodic is not None}


def _definition(func_or_name) -> TaskDefinition:
    definition = _tasks.get(func_or_name) if isinstance(func_or_name, str) else _by_function.get(func_or_name)
    if definition is None:
        raise LookupError(f"{func_or_name!r} is not declared as a background task (core.tasks.background_task)")
    return definition


def backoff_seconds(retries_done: int) -> float:
    """Exponential backoff with full jitter (what Celery's retry_backoff does)."""
    return random.uniform(0, min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2**retries_done))


# -- running one unit of work ----------------------------------------------------------------


def run_unit_of_work(definition: TaskDefinition, args: tuple):
    """Run the task body once in the current app context's session: commit on success, roll back on
    error, count and time it, then close the session. Returns the body's result; raises what it raised.
    """
    from core.extensions import db
    from core.unit_of_work import unit_of_work

    started = time.perf_counter()
    outcome = "failure"
    try:
        with unit_of_work():
            result = definition.func(*args)
        outcome = "success"
        return result
    except RetryLater:
        outcome = "retry"
        raise
    finally:
        elapsed = time.perf_counter() - started
        metrics.TASK_RUNS.labels(definition.name, outcome).inc()
        metrics.TASK_LATENCY.labels(definition.name).observe(elapsed)
        log.info("task %s%s: %s in %.3f s", definition.name, list(args), outcome, elapsed)
        db.session.remove()


def _run_in_app(app: Flask, definition: TaskDefinition, args: tuple, request_id: str | None):
    """One unit of work in an app context of its own (so a session of its own)."""
    token = bind_request_id(request_id)
    try:
        with app.app_context():
            return run_unit_of_work(definition, args)
    finally:
        reset_request_id(token)


# -- Celery --------------------------------------------------------------------------------------


def broker_url(config) -> str | None:
    return config.get("CELERY_BROKER_URL") or config.get("REDIS_URL") or None


def uses_celery(app: Flask) -> bool:
    return bool(app.extensions.get("celery_enabled"))


def _transport_options(visibility_timeout: int) -> dict:
    """How long an unacknowledged task waits before it is handed out again, and how often that is checked.

    On Redis, kombu sweeps for overdue tasks every ``unacked_restore_interval`` × ``unacked_restore_throttle``
    seconds (10 × 10 by default): with a short visibility timeout a killed worker's task would still wait
    up to 100 s, so the sweep runs about five times per timeout, at most every 100 s (RabbitMQ ignores these).
    """
    interval = max(1, min(10, visibility_timeout // 5))
    throttle = max(1, min(10, visibility_timeout // (5 * interval)))
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": throttle,
    }


def init_celery(app: Flask) -> Celery:
    """Build the app's Celery instance and register every declared task and the beat schedule on it."""
    url = broker_url(app.config)
    celery = Celery(app.import_name, set_as_current=False)
    celery.conf.update(
        broker_url=url or "memory://",
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_acks_late=True,  # a message is acknowledged after the task ran: a killed worker's task is redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=app.config.get("CELERY_QUEUE", "zhuzhou"),
        timezone="Asia/Shanghai",
        enable_utc=True,
        worker_hijack_root_logger=False,
        broker_transport_options=_transport_options(app.config.get("CELERY_VISIBILITY_TIMEOUT", 3600)),
        task_time_limit=app.config.get("CELERY_TASK_TIME_LIMIT", 300),
        task_soft_time_limit=max(1, app.config.get("CELERY_TASK_TIME_LIMIT", 300) - 30),
    )
    flask_app = app

    for definition in _tasks.values():
        _register_on_celery(celery, flask_app, definition)
    celery.conf.beat_schedule = {
        name: {
            "task": name,
            "schedule": definition.periodic,
            # A beat that fell behind must not pile up runs of the same job.
            "options": {"expires": _expiry_seconds(definition.periodic)},
        }
        for name, definition in periodic_jobs().items()
    }
    app.extensions["celery"] = celery
    app.extensions["celery_enabled"] = bool(url) and not app.config.get("TASKS_EAGER")
    return celery


def _expiry_seconds(every) -> float:
    if isinstance(every, timedelta):
        return max(30.0, every.total_seconds())
    return 3600.0


def _request_id_of(request) -> str:
    """The enqueuing request's id: a message header (a worker), or ``headers`` (``apply``); else the task's."""
    found = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        REQUEST_ID_HEADER
    )
    return found or f"task-{request.id}"


def _register_on_celery(celery: Celery, flask_app: Flask, definition: TaskDefinition) -> None:
    periodic = definition.periodic is not None

    def body(self, *args):
        token = bind_request_id(_request_id_of(self.request))
        try:
            with flask_app.app_context():
                return run_unit_of_work(definition, args)
        except RetryLater as exc:
            if periodic:
                return None  # the next scheduled run tries again
            raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc
        except Exception as exc:
            if periodic or self.request.retries >= definition.max_retries:
                log.exception("task %s failed for good", definition.name)
                raise
            log.warning("task %s failed (%s); retrying", definition.name, type(exc).__name__)
            raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc
        finally:
            reset_request_id(token)

    body.__name__ = definition.name.replace(".", "_")
    celery.task(name=definition.name, bind=True, shared=False, max_retries=definition.max_retries)(body)


# -- enqueueing ----------------------------------------------------------------------------------


def run_later(task, *args) -> None:
    """Run the declared task (given by its service function or name) with ``args`` after the commit."""
    definition = _definition(task)
    app = current_app._get_current_object()
    request_id = current_request_id()

    def hand_over():
        enqueue(app, definition, args, request_id)

    after_commit(hand_over)


def enqueue(app: Flask, definition: TaskDefinition, args: tuple, request_id: str | None = None) -> None:
    """Hand the work over now: to Celery, inline (eager) or to the in-process pool."""
    if app.config.get("TASKS_EAGER"):
        try:
            _run_in_app(app, definition, args, request_id)
        except RetryLater:
            log.info("task %s asked to be retried (eager mode: left to the retry job)", definition.name)
        except Exception:
            log.exception("background task %s failed", definition.name)
    elif uses_celery(app):
        app.extensions["celery"].tasks[definition.name].apply_async(args=args, headers={REQUEST_ID_HEADER: request_id})
    else:
        _executor.submit(_run_in_process, app, definition, args, request_id, 0)


def _run_in_process(app: Flask, definition: TaskDefinition, args: tuple, request_id: str | None, retries: int):
    try:
        _run_in_app(app, definition, args, request_id)
    except Exception as exc:
        if retries >= definition.max_retries:
            log.exception("task %s failed for good", definition.name)
            return
        if not isinstance(exc, RetryLater):
            log.warning("task %s failed (%s); retrying", definition.name, type(exc).__name__)
        timer = threading.Timer(
            backoff_seconds(retries),
            lambda: _executor.submit(_run_in_process, app, definition, args, request_id, retries + 1),
        )
        timer.daemon = True
        timer.start()


# -- the in-process scheduler (no broker) --------------------------------------------------------


class InProcessScheduler:
    """Runs the periodic jobs on their schedules in a thread of this process (no Celery beat)."""

    def __init__(self, app: Flask, jobs: dict[str, TaskDefinition] | None = None, tick_seconds: float = 5.0):
        self.app = app
        self.jobs = jobs if jobs is not None else periodic_jobs()
        self.tick_seconds = tick_seconds
        celery = app.extensions["celery"]
        self.schedules = {name: self._bound(job.periodic, celery) for name, job in self.jobs.items()}
        started = datetime.now(UTC)
        self.last_run = dict.fromkeys(self.jobs, started)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _bound(every, celery: Celery):
        if isinstance(every, timedelta):
            return schedule(run_every=every, app=celery)
        every.app = celery
        return every

    def due_jobs(self, now: datetime | None = None) -> list[str]:
        now = now or datetime.now(UTC)
        due = []
        for name, entry in self.schedules.items():
            if isinstance(entry, crontab):
                is_due = entry.is_due(self.last_run[name]).is_due
            else:
                is_due = now - self.last_run[name] >= entry.run_every
            if is_due:
                due.append(name)
        return due

    def tick(self, now: datetime | None = None) -> list[str]:
        """Run every job that is due (one after the other); returns their names."""
        now = now or datetime.now(UTC)
        ran = []
        for name in self.due_jobs(now):
            self.last_run[name] = now
            self.run_job(name)
            ran.append(name)
        return ran

    def run_job(self, name: str) -> None:
        definition = self.jobs[name]
        try:
            _run_in_app(self.app, definition, (), f"job-{name}")
        except Exception:
            log.exception("periodic job %s failed; it runs again on schedule", name)

    def start(self) -> "InProcessScheduler":
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        log.info("in-process scheduler started: %s", ", ".join(sorted(self.jobs)))
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


_scheduler_lock = threading.Lock()


def _served_by_flask_run(app: Flask) -> bool:
    """This process is `flask run` serving (not its reloader's watcher, nor another command)."""
    import click

    context = click.get_current_context(silent=True)
    if context is None or context.info_name != "run":
        return False
    reloading = context.params.get("reload")
    if reloading is None:
        reloading = app.debug
    return not reloading or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def start_in_process_scheduler(app: Flask) -> InProcessScheduler:
    with _scheduler_lock:
        if app.extensions.get("scheduler") is None:
            app.extensions["scheduler"] = InProcessScheduler(app).start()
    return app.extensions["scheduler"]


def register_in_process_scheduler(app: Flask) -> None:
    """Without a broker, a development server runs the periodic jobs: `flask run` (`make run`) from its
    start, any other server (a dev gunicorn) from its first request. Other commands and tests start nothing."""
    if not app.config.get("IN_PROCESS_SCHEDULER") or uses_celery(app):
        return
    if _served_by_flask_run(app):
        start_in_process_scheduler(app)

    @app.before_request
    def start_scheduler_once():
        if app.extensions.get("scheduler") is None:
            start_in_process_scheduler(app)
