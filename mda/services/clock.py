"""The domain's calendar: every calendar date is the Europe/Amsterdam date (DESIGN.md section 4).

Moments are stored as UTC, but "today" is the Dutch date: between midnight and 01:00 (winter)
or 02:00 (summer) Amsterdam time UTC is still on the previous day. A use case takes one ``now``
(injectable, so tests can set the clock) and asks :func:`today_nl` for the date it means.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

NL = ZoneInfo("Europe/Amsterdam")


def utcnow() -> datetime:
    """The current moment, timezone-aware UTC."""
    return datetime.now(UTC)


def today_nl(now: datetime | None = None) -> date:
    """The Europe/Amsterdam calendar date at ``now`` (default: this moment)."""
    moment = utcnow() if now is None else now
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; give a timezone-aware moment")
    return moment.astimezone(NL).date()


def half_year_nl(now: datetime | None = None) -> tuple[int, int]:
    """The Dutch calendar's current half year at ``now``: ``(year, 1 or 2)``."""
    today = today_nl(now)
    return today.year, 1 if today.month <= 6 else 2
