"""Beijing time: the one time zone dates, periods and bills are read in."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def beijing_now() -> datetime:
    """The current time in Asia/Shanghai, whatever TZ the server runs in."""
    return datetime.now(BEIJING)


def beijing_today() -> date:
    """Today's date in Asia/Shanghai."""
    return beijing_now().date()
