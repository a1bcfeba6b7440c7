"""Crash points for the crash-consistency tests: kill the process between two steps of a money path.

``fault_point("checkout.reserved")`` marks a place between two real steps
(checkout, payment notifications, refunds, payouts). In every configuration but
a test's it does nothing: ``FAULT_AT`` exists only on ``TestConfig`` (read from
``ZZ_FAULT_AT``), which the environment can never select, and production
refuses to start with it set. A test's subprocess built with it armed dies at the
named point with ``os._exit`` (no ``finally``, no rollback, no response): what a
``kill -9`` or a lost machine leaves behind.

``fault_after_commit(name)`` arms the point for the moment the current
transaction commits (the commit at the end of a request, before its response).
"""

import logging
import os
import sys

from flask import Flask

log = logging.getLogger(__name__)

EXIT_STATUS = 137  # what a shell reports for a process killed by SIGKILL

_armed: str | None = None  # the one point that kills this process, if any


def arm(app: Flask) -> None:
    """Arm the point the app's test configuration names (``FAULT_AT``); disarm otherwise."""
    global _armed
    _armed = (app.config.get("FAULT_AT") or None) if app.config.get("TESTING") else None


def armed() -> str | None:
    return _armed


def fault_point(name: str) -> None:
    """Die here if this is the armed point; a no-op otherwise."""
    if _armed is not None and _armed == name:
        _die(name)


def fault_after_commit(name: str) -> None:
    """Die right after the current transaction commits, if ``name`` is the armed point."""
    if _armed is not None and _armed == name:
        from core.db import after_commit

        after_commit(lambda: _die(name))


def _die(name: str) -> None:
    log.warning("fault point %s reached: the process dies now", name)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_STATUS)
