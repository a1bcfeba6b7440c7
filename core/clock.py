"""The process's clock, read in Beijing time: the one time zone dates, periods and bills are read in.

Every "now" of the domain (``core.db.utcnow``, ``beijing_now``) comes from here,
so a script can set the clock back: ``travel_to`` is how the demo seed places a
year of orders, payments, payouts and reports in the months they belong to, through
the same services (and the gateway simulator, which reads the same clock). The
shift is process-wide and for scripts only; protocol timestamps (signatures,
replay windows) keep reading the real clock.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

_shift = timedelta(0)  # how far the clock is set back (negative) or ahead of the real time


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC) + _shift


def beijing_now() -> datetime:
    """The current time in Asia/Shanghai, whatever TZ the server runs in."""
    return utcnow().astimezone(BEIJING)


def beijing_today() -> date:
    """Today's date in Asia/Shanghai."""
    return beijing_now().date()


@contextmanager
def travel_to(moment: datetime) -> Iterator[None]:
    """Run the block with the clock reading ``moment`` (timezone-aware) and ticking on from there."""
    global _shift
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use a timezone-aware one")
    before = _shift
    _shift = moment - datetime.now(UTC)
    try:
        yield
    finally:
        _shift = before
