"""An in-process background queue for side effects that must not hold up a request.

Work is handed over only after the request's transaction commits
(``core.db.after_commit``) and runs in a small thread pool with its own app
context. ``TASKS_EAGER`` (tests) runs it inline instead. Failures are logged,
never raised into the request.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

from core.db import after_commit

log = logging.getLogger(__name__)
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tasks")


def _run(app, task, args, kwargs) -> None:
    with app.app_context():
        try:
            task(*args, **kwargs)
        except Exception:
            log.exception("background task %s failed", getattr(task, "__name__", task))


def run_later(task, *args, **kwargs) -> None:
    """Run ``task(*args, **kwargs)`` after the current transaction commits."""
    app = current_app._get_current_object()

    def submit():
        if app.config.get("TASKS_EAGER"):
            _run(app, task, args, kwargs)
        else:
            _executor.submit(_run, app, task, args, kwargs)

    after_commit(submit)
