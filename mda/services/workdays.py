"""Working days: weekends and Dutch public holidays skipped (DESIGN.md section 4).

Holidays come from the ``holidays`` library (Netherlands), so Koningsdag moving to the 26th
when the 27th is a Sunday, and Easter and Ascension, are right without a table of our own.
Due moments are computed on the Amsterdam calendar: "10 working days" after a referral at
16:00 on a Friday is 16:00 local time ten working days later, whatever the UTC offset then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

from mda.vocabulary import DueUnit

LOCAL = ZoneInfo("Europe/Amsterdam")


@lru_cache(maxsize=64)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Dutch public holiday."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(day: date, count: int) -> date:
    """The date ``count`` working days after (or, negative, before) ``day``."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def _shift_local(moment: datetime, new_day: date) -> datetime:
    local = moment.astimezone(LOCAL)
    moved = datetime.combine(new_day, local.time().replace(tzinfo=None), tzinfo=LOCAL)
    return moved.astimezone(UTC)


def add_working_days_at(moment: datetime, count: int) -> datetime:
    """``moment`` moved ``count`` working days on the Amsterdam calendar (same local time)."""
    return _shift_local(moment, add_working_days(moment.astimezone(LOCAL).date(), count))


def due_moment(start: datetime, amount: int, unit: DueUnit | str) -> datetime:
    """When a deadline of ``amount`` ``unit`` started at ``start`` (aware) falls due."""
    unit = DueUnit(unit)
    if unit is DueUnit.WORKING_DAYS:
        return add_working_days_at(start, amount)
    if unit is DueUnit.HOURS:
        return start + timedelta(hours=amount)
    local = start.astimezone(LOCAL)
    if unit is DueUnit.DAYS:
        delta = relativedelta(days=amount)
    elif unit is DueUnit.WEEKS:
        delta = relativedelta(weeks=amount)
    else:
        delta = relativedelta(months=amount)
    # Calendar arithmetic on the local wall clock, so "6 months" does not drift by an hour
    # across a change to or from summer time.
    naive = local.replace(tzinfo=None) + delta
    return naive.replace(tzinfo=LOCAL).astimezone(UTC)
