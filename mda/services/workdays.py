"""Working days of the Algemene termijnenwet, and due moments (DESIGN.md section 4).

A working day is Monday to Friday and not one of the holidays of art. 3 of the Algemene
termijnenwet: New Year's Day, Good Friday, Easter Monday, King's Day (27 April, the 26th when
the 27th is a Sunday), 5 May (every year, not only in lustrum years), Ascension Day, Whit
Monday and both Christmas days; nor a day made equal to a holiday by decree (a bridge day such
as 15 May 2026). The statutory holidays are computed here (Easter by :func:`dateutil.easter`);
the decree days are data in the ``calendar_days`` table, which an admin extends.

The decree days are cached per process: :func:`refresh` (called by the deadline services with
their session) reloads them when the cache is older than :data:`CACHE_SECONDS`, and
:func:`invalidate` drops the cache at once (the admin service calls it after a change).
Until a process has read the table it uses the days shipped in :mod:`mda.reference`.

Due moments are computed on the Amsterdam calendar: "10 working days" after a referral at
16:00 on a Friday is 16:00 local time ten working days later, whatever the UTC offset then.
A term in weeks or months that ends on a non-working day ends on the next working day
(art. 1 of the Algemene termijnenwet); terms in hours and calendar days are not moved.
:func:`compute_due` returns, with the due moment, how it was computed (kept on the deadline
row so the pages can explain it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dateutil.easter import easter
from dateutil.relativedelta import relativedelta

from mda.vocabulary import DueUnit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LOCAL = ZoneInfo("Europe/Amsterdam")
#: How long a process trusts its copy of ``calendar_days`` before reading the table again.
CACHE_SECONDS = 300.0

#: Units whose end moves to the next working day under art. 1.
ART_1_UNITS = frozenset({DueUnit.WEEKS, DueUnit.MONTHS})


@lru_cache(maxsize=128)
def statutory_holidays(year: int) -> dict[date, str]:
    """The holidays of art. 3 of the Algemene termijnenwet in ``year`` that can fall on a weekday.

    (Easter Sunday and Whit Sunday are holidays too, but always Sundays.) Names are Dutch, as
    the law has them; two holidays on one day (5 May and Ascension in 2016) share it.
    """
    easter_sunday = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day = date(year, 4, 26)
    days: dict[date, str] = {}
    for day, name in (
        (date(year, 1, 1), "Nieuwjaarsdag"),
        (easter_sunday - timedelta(days=2), "Goede Vrijdag"),
        (easter_sunday + timedelta(days=1), "Tweede Paasdag"),
        (kings_day, "Koningsdag"),
        (date(year, 5, 5), "Bevrijdingsdag"),
        (easter_sunday + timedelta(days=39), "Hemelvaartsdag"),
        (easter_sunday + timedelta(days=50), "Tweede Pinksterdag"),
        (date(year, 12, 25), "Eerste Kerstdag"),
        (date(year, 12, 26), "Tweede Kerstdag"),
    ):
        days[day] = f"{days[day]} / {name}" if day in days else name
    return days


# --- the decree days, cached per process -----------------------------------------------


@dataclass
class _Cache:
    days: dict[date, str] | None = None
    loaded_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache = _Cache()


def _shipped_days() -> dict[date, str]:
    from mda.reference import DECREE_DAYS

    return dict(DECREE_DAYS)


def decree_days() -> Mapping[date, str]:
    """The days made equal to a holiday, as this process last read them."""
    days = _cache.days
    return _shipped_days() if days is None else days


def set_decree_days(days: Mapping[date, str]) -> None:
    """Use ``days`` as the decree days from now on (what :func:`refresh` read)."""
    with _cache.lock:
        _cache.days = dict(days)
        _cache.loaded_at = time.monotonic()


def invalidate() -> None:
    """Forget the cached decree days: the next :func:`refresh` reads the table again."""
    with _cache.lock:
        _cache.days = None
        _cache.loaded_at = 0.0


def refresh(session: Session, *, force: bool = False) -> None:
    """Read ``calendar_days`` when this process's copy is missing or stale."""
    if (
        not force
        and _cache.days is not None
        and time.monotonic() - _cache.loaded_at < CACHE_SECONDS
    ):
        return
    from sqlalchemy import select

    from mda.models import CalendarDay

    rows = session.execute(select(CalendarDay.day, CalendarDay.name)).all()
    set_decree_days({day: name for day, name in rows})


# --- the calendar -----------------------------------------------------------------------


def holiday_name(day: date) -> str | None:
    """The holiday (statutory or by decree) on ``day``, or ``None``."""
    return statutory_holidays(day.year).get(day) or decree_days().get(day)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a holiday of the Algemene termijnenwet."""
    return day.weekday() < 5 and holiday_name(day) is None


@dataclass
class _Walk:
    """What a walk over the calendar passed: working days counted, days skipped."""

    counted: list[date] = field(default_factory=list)
    weekend: list[date] = field(default_factory=list)
    holidays: list[tuple[date, str]] = field(default_factory=list)

    def visit(self, day: date) -> bool:
        if day.weekday() >= 5:
            self.weekend.append(day)
            return False
        name = holiday_name(day)
        if name is not None:
            self.holidays.append((day, name))
            return False
        self.counted.append(day)
        return True


def _walk(day: date, count: int, walk: _Walk | None = None) -> date:
    walk = _Walk() if walk is None else walk
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if walk.visit(day):
            remaining -= 1
    return day


def add_working_days(day: date, count: int) -> date:
    """The date ``count`` working days after (or, negative, before) ``day``."""
    return _walk(day, count)


def _weekdays_through(day: date) -> int:
    """Mondays to Fridays from 1 January of year 1 (a Monday) up to and including ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return 5 * weeks + min(rest, 5)


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after ``start`` up to and including ``end`` (0 if none).

    Counted, not walked: the weekdays of the span by arithmetic, less the holidays (statutory
    or by decree) on a weekday inside it, so a deadline overdue for years costs no more than
    one due yesterday (the worklist shows this for every row).
    """
    if end <= start:
        return 0
    holidays = set(decree_days())
    for year in range(start.year, end.year + 1):
        holidays.update(statutory_holidays(year))
    skipped = sum(1 for day in holidays if start < day <= end and day.weekday() < 5)
    return _weekdays_through(end) - _weekdays_through(start) - skipped


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


def _shift_local(moment: datetime, new_day: date) -> datetime:
    local = moment.astimezone(LOCAL)
    moved = datetime.combine(new_day, local.time().replace(tzinfo=None), tzinfo=LOCAL)
    return moved.astimezone(UTC)


def add_working_days_at(moment: datetime, count: int) -> datetime:
    """``moment`` moved ``count`` working days on the Amsterdam calendar (same local time)."""
    return _shift_local(moment, add_working_days(local_date(moment), count))


def _add_calendar(start: datetime, amount: int, unit: DueUnit) -> datetime:
    if unit is DueUnit.HOURS:
        return start + timedelta(hours=amount)
    if unit is DueUnit.DAYS:
        delta = relativedelta(days=amount)
    elif unit is DueUnit.WEEKS:
        delta = relativedelta(weeks=amount)
    else:
        delta = relativedelta(months=amount)
    # Calendar arithmetic on the local wall clock, so "6 months" does not drift by an hour
    # across a change to or from summer time.
    naive = start.astimezone(LOCAL).replace(tzinfo=None) + delta
    return naive.replace(tzinfo=LOCAL).astimezone(UTC)


def _days(walk: _Walk) -> dict[str, Any]:
    return {
        "weekend_days": [d.isoformat() for d in walk.weekend],
        "holidays": [{"date": d.isoformat(), "name": name} for d, name in walk.holidays],
    }


def apply_art_1(term_end: datetime) -> tuple[datetime, dict[str, Any] | None]:
    """A term ending on a non-working day ends on the next working day (art. 1).

    Returns the due moment and, when it moved, what was skipped (else ``None``).
    """
    end_day = local_date(term_end)
    if is_working_day(end_day):
        return term_end, None
    walk = _Walk()
    day = end_day
    while not walk.visit(day):
        day += timedelta(days=1)
    return _shift_local(term_end, day), {"from": end_day.isoformat(), "to": day.isoformat()} | (
        _days(walk)
    )


def compute_due(start: datetime, amount: int, unit: DueUnit | str) -> tuple[datetime, dict]:
    """When a deadline of ``amount`` ``unit`` started at ``start`` (aware) falls due, and how.

    The second value is the computation, JSON-ready: ``amount``, ``unit``, ``start``,
    ``term_end`` (before art. 1), ``due``; for working days the days counted and the weekend
    days and holidays skipped; ``moved_art_1`` when art. 1 moved the end.
    """
    unit = DueUnit(unit)
    computation: dict[str, Any] = {
        "amount": amount,
        "unit": unit.value,
        "start": start.astimezone(UTC).isoformat(),
        "start_date": local_date(start).isoformat(),
    }
    if unit is DueUnit.WORKING_DAYS:
        walk = _Walk()
        due = _shift_local(start, _walk(local_date(start), amount, walk))
        computation["working_days"] = [d.isoformat() for d in walk.counted]
        computation |= _days(walk)
        term_end = due
    else:
        term_end = _add_calendar(start, amount, unit)
        due = term_end
        if unit in ART_1_UNITS:
            due, moved = apply_art_1(term_end)
            if moved is not None:
                computation["moved_art_1"] = moved
    computation["term_end"] = term_end.astimezone(UTC).isoformat()
    computation["due"] = due.astimezone(UTC).isoformat()
    return due, computation


def due_moment(start: datetime, amount: int, unit: DueUnit | str) -> datetime:
    """When a deadline of ``amount`` ``unit`` started at ``start`` (aware) falls due."""
    return compute_due(start, amount, unit)[0]
