"""Transaction boundaries for work that is not a plain request, and for calls to the outside world.

The norm (``core.app``): one commit per request, at its end, rolled back on
any error; services only ``add``/``flush`` and never commit.

Background steps and CLI jobs have no request around them. Each step runs in
``unit_of_work()``: it commits when the step ends and rolls back if it raises,
so one failing item never undoes (or leaves half-done) the items before it
(Warehouse ``tasks.py`` gives each task its own transaction manager the same
way). The task runner runs every task body in one (``core.tasks``); a long job
is a loop of such steps, and ``run_in_batches`` is that loop for a service that
handles one batch at a time, so a crash loses one batch at most.

No row lock is held across a call to a payment gateway or the WeChat API (a
slow gateway would keep the rows, and a database connection, for its whole
timeout). Work that must call one is cut in three: record the intent and
commit (``commit_intent``); call with no transaction open; then lock again,
re-check the state, and apply the answer idempotently. A request that must do
this (opening a payment, refreshing a pending one) is the one documented
exception to "one commit per request": it commits its intent first, and the
request's own commit at the end applies the answer.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.extensions import db


@contextmanager
def unit_of_work() -> Iterator[None]:
    """One step of a job: commit when the block ends, roll back (and re-raise) if it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def run_in_batches(batch: Callable[..., int], batch_size: int) -> int:
    """Run ``batch(batch_size=…)`` (returns how many it handled), each in a unit of work, until one comes back short."""
    total = 0
    while True:
        with unit_of_work():
            done = batch(batch_size=batch_size)
        total += done
        if done < batch_size:
            return total


def commit_intent() -> None:
    """Commit what is recorded so far, so that nothing (no row lock, no connection) is held across an outside call."""
    db.session.commit()
