"""Settlement jobs and payouts, declared for Celery (or the in-process runner); the CLI calls the same functions.

A payout's transfer is never sent or queried under its row lock
(``payments.ledger.payouts.execute_payout``): retry_payouts is a loop of steps
that commit on their own (``core.unit_of_work``).
"""

import time
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa

from core.extensions import db
from core.metrics import register_database_collector
from core.tasks import RetryLater, background_task, periodic_job
from core.unit_of_work import run_in_batches, unit_of_work
from payments.ledger.models import OPEN_PAYOUT_STATUSES, Payout
from payments.ledger.payouts import execute_payout, unfinished_payouts
from payments.ledger.settlement import release_held_funds
from payments.ledger.verify import verify_ledger


@background_task("settlements.execute_payout", runs=execute_payout)
def send_payout(payout_id: int) -> None:
    """Send (or check) one payout's transfer; retried with backoff until the gateway settles it.

    Safe to repeat: a payout that may have been sent is queried by ``out_biz_no``
    and resent only if the gateway never saw it.
    """
    execute_payout(payout_id)
    if db.session.scalar(sa.select(Payout.status).where(Payout.id == payout_id)) in OPEN_PAYOUT_STATUSES:
        raise RetryLater(f"payout {payout_id} not settled yet")


def release_all(now: datetime | None = None, batch_size: int = 200) -> int:
    """Release every line past its hold, committing per batch (a crash loses one batch at most)."""
    return run_in_batches(partial(release_held_funds, now), batch_size)


@periodic_job("settlements.release", every=timedelta(hours=1))
def release_holds(batch_size: int = 200) -> int:
    """Make money available for lines whose hold has ended (SKIP LOCKED: safe in parallel)."""
    return release_all(None, batch_size)


@periodic_job("settlements.retry_payouts", every=timedelta(minutes=10))
def retry_payouts() -> int:
    """Query, then if needed resend, every payout the gateway has not settled."""
    with unit_of_work():
        ids = unfinished_payouts()
    for payout_id in ids:
        execute_payout(payout_id)
    return len(ids)


def _ledger_verification():
    started = time.perf_counter()
    problems = verify_ledger()
    return [
        (("ok",), 0 if problems else 1),
        (("problems",), len(problems)),
        (("checked_at",), time.time()),
        (("duration_seconds",), time.perf_counter() - started),
    ]


register_database_collector(
    "zz_ledger_verification",
    "Ledger verification (flask ledger verify) at scrape time: ok is 1 when the books balance.",
    ("figure",),
    _ledger_verification,
    max_age=300,
)
