"""The working-day calendar of the Algemene termijnenwet, and due moments, with exact dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from mda.services import workdays
from mda.services.workdays import (
    add_working_days,
    add_working_days_at,
    compute_due,
    due_moment,
    holiday_name,
    is_working_day,
    statutory_holidays,
    working_days_between,
)
from mda.vocabulary import DueUnit

NL = ZoneInfo("Europe/Amsterdam")


def local(*args: int) -> datetime:
    """An Amsterdam wall-clock moment, as aware UTC."""
    return datetime(*args, tzinfo=NL).astimezone(UTC)


# --- the calendar -----------------------------------------------------------------------


def test_weekends_are_not_working_days():
    assert not is_working_day(date(2024, 4, 27))  # Saturday
    assert not is_working_day(date(2024, 4, 28))  # Sunday
    assert is_working_day(date(2024, 4, 2))  # Tuesday after Easter Monday
    # Friday 28 June 2024 + 1 working day: the weekend is skipped.
    assert add_working_days(date(2024, 6, 28), 1) == date(2024, 7, 1)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 1), "Nieuwjaarsdag"),
        (date(2024, 3, 29), "Goede Vrijdag"),
        (date(2024, 4, 1), "Tweede Paasdag"),
        (date(2026, 4, 27), "Koningsdag"),
        (date(2026, 5, 5), "Bevrijdingsdag"),  # not a lustrum year: a holiday all the same
        (date(2024, 5, 9), "Hemelvaartsdag"),
        (date(2024, 5, 20), "Tweede Pinksterdag"),
        (date(2026, 12, 25), "Eerste Kerstdag"),
        (date(2026, 12, 26), "Tweede Kerstdag"),
        # Days made equal to a holiday by decree, 2026-2028.
        (date(2026, 1, 2), "Dag na Nieuwjaarsdag (bij besluit)"),
        (date(2026, 5, 15), "Dag na Hemelvaartsdag (bij besluit)"),
        (date(2027, 5, 7), "Dag na Hemelvaartsdag (bij besluit)"),
        (date(2028, 4, 28), "Dag na Koningsdag (bij besluit)"),
        (date(2028, 5, 26), "Dag na Hemelvaartsdag (bij besluit)"),
    ],
)
def test_holidays_of_the_algemene_termijnenwet(day, name):
    assert holiday_name(day) == name
    assert not is_working_day(day)


def test_five_may_is_a_holiday_every_year_unlike_the_holidays_package():
    for year in (2026, 2027, 2028):  # weekdays, none a lustrum year
        day = date(year, 5, 5)
        assert day.weekday() < 5
        assert not is_working_day(day)
        assert day not in holidays.country_holidays("NL", years=year)  # why we compute our own
    # Monday 4 May 2026 + 1 working day: Tuesday 5 May is skipped.
    assert add_working_days(date(2026, 5, 4), 1) == date(2026, 5, 6)


def test_kings_day_moves_to_the_26th_when_the_27th_is_a_sunday():
    assert date(2025, 4, 27).weekday() == 6
    assert holiday_name(date(2025, 4, 26)) == "Koningsdag"
    assert holiday_name(date(2025, 4, 27)) is None
    assert holiday_name(date(2024, 4, 27)) == "Koningsdag"  # a Saturday: it stays
    assert holiday_name(date(2024, 4, 26)) is None
    # Friday 24 April 2026 + 1: the weekend and Monday 27 April (King's Day) are skipped.
    assert add_working_days(date(2026, 4, 24), 1) == date(2026, 4, 28)


def test_easter_good_friday_and_easter_monday():
    # Thursday 28 March 2024: Good Friday, the weekend and Easter Monday are skipped.
    assert add_working_days(date(2024, 3, 28), 1) == date(2024, 4, 2)
    assert add_working_days(date(2024, 3, 28), 2) == date(2024, 4, 3)
    # Backwards the same way.
    assert add_working_days(date(2024, 4, 2), -1) == date(2024, 3, 28)
    assert statutory_holidays(2027)[date(2027, 3, 26)] == "Goede Vrijdag"
    assert statutory_holidays(2027)[date(2027, 3, 29)] == "Tweede Paasdag"


def test_ascension_and_the_bridge_days_by_decree():
    # Wednesday 13 May 2026: Ascension (Thursday 14th) and the decree day (Friday 15th).
    assert add_working_days(date(2026, 5, 13), 1) == date(2026, 5, 18)
    # Tuesday 4 May 2027: 5 May, Ascension (6th), the decree day (7th), the weekend.
    assert add_working_days(date(2027, 5, 4), 1) == date(2027, 5, 10)
    # Wednesday 26 April 2028: King's Day (Thursday) and the decree day (Friday 28th).
    assert add_working_days(date(2028, 4, 26), 1) == date(2028, 5, 1)
    # Wednesday 24 May 2028: Ascension and the decree day on Friday 26th.
    assert add_working_days(date(2028, 5, 24), 1) == date(2028, 5, 29)


def test_whit_monday():
    assert add_working_days(date(2024, 5, 17), 1) == date(2024, 5, 21)
    assert holiday_name(date(2026, 5, 25)) == "Tweede Pinksterdag"


def test_christmas_and_year_ends():
    assert add_working_days(date(2024, 12, 23), 3) == date(2024, 12, 30)
    assert add_working_days(date(2024, 12, 30), -3) == date(2024, 12, 23)
    # Thursday 24 December 2026: both Christmas days (Friday, Saturday) and Sunday.
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    # Thursday 31 December 2026: New Year's Day (Friday) and the weekend.
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    # Wednesday 31 December 2025: New Year's Day and the decree day of 2 January 2026.
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)
    assert add_working_days(date(2026, 1, 5), -1) == date(2025, 12, 31)


def test_working_days_between():
    # After Friday 24 April 2026 up to and including Tuesday 28th: only the 28th.
    assert working_days_between(date(2026, 4, 24), date(2026, 4, 28)) == 1
    assert working_days_between(date(2026, 4, 28), date(2026, 4, 28)) == 0
    assert working_days_between(date(2026, 5, 1), date(2026, 5, 11)) == 5
    assert working_days_between(date(2026, 5, 11), date(2026, 5, 1)) == 0


def test_working_days_between_counts_as_the_calendar_walks():
    # Counted by arithmetic; the same answer as walking day by day over the calendar, over
    # spans of every length from every weekday, across years, holidays and decree days.
    def walked(start: date, end: date) -> int:
        days = (start + timedelta(days=n) for n in range(1, (end - start).days + 1))
        return sum(1 for day in days if is_working_day(day))

    for first in range(0, 800, 7):
        for offset in range(7):
            start = date(2024, 12, 20) + timedelta(days=first + offset)
            for length in (0, 1, 2, 3, 5, 6, 7, 8, 13, 40, 400, 1100):
                end = start + timedelta(days=length)
                assert working_days_between(start, end) == walked(start, end), (start, end)


def test_the_decree_days_are_the_table_once_read(session):
    from mda.models import CalendarDay

    session.add(CalendarDay(day=date(2029, 5, 11), name="Dag na Hemelvaartsdag (bij besluit)"))
    session.flush()
    assert is_working_day(date(2029, 5, 11))  # the shipped list, until the table is read
    workdays.refresh(session)
    assert not is_working_day(date(2029, 5, 11))
    assert not is_working_day(date(2026, 5, 15))  # loaded by load_reference_data
    session.delete(session.get(CalendarDay, date(2026, 5, 15)))
    session.flush()
    workdays.refresh(session)
    assert not is_working_day(date(2026, 5, 15))  # cached: not read again within the TTL
    workdays.invalidate()
    workdays.refresh(session)
    assert is_working_day(date(2026, 5, 15))


# --- due moments ------------------------------------------------------------------------


def test_due_moments_keep_the_local_time():
    start = datetime(2024, 3, 22, 15, 0, tzinfo=UTC)  # Friday 16:00 in Amsterdam (winter time)
    due = add_working_days_at(start, 10)
    assert due == datetime(2024, 4, 9, 14, 0, tzinfo=UTC)  # 16:00 summer time, after Easter
    assert due_moment(start, 24, DueUnit.HOURS) == datetime(2024, 3, 23, 15, 0, tzinfo=UTC)
    assert due_moment(start, 6, DueUnit.MONTHS) == datetime(2024, 9, 23, 14, 0, tzinfo=UTC)
    assert due_moment(start, 6, DueUnit.WEEKS) == datetime(2024, 5, 3, 14, 0, tzinfo=UTC)


def test_working_days_record_what_was_counted_and_skipped():
    # Friday 1 May 2026 10:00 + 5 working days: the weekends and 5 May are skipped.
    due, how = compute_due(local(2026, 5, 1, 10, 0), 5, DueUnit.WORKING_DAYS)
    assert due == local(2026, 5, 11, 10, 0)
    assert how["amount"] == 5 and how["unit"] == "working_days"
    assert how["start"] == "2026-05-01T08:00:00+00:00"
    assert how["start_date"] == "2026-05-01"
    assert how["working_days"] == [
        "2026-05-04",
        "2026-05-06",
        "2026-05-07",
        "2026-05-08",
        "2026-05-11",
    ]
    assert how["weekend_days"] == ["2026-05-02", "2026-05-03", "2026-05-09", "2026-05-10"]
    assert how["holidays"] == [{"date": "2026-05-05", "name": "Bevrijdingsdag"}]
    assert "moved_art_1" not in how
    assert how["due"] == how["term_end"] == "2026-05-11T08:00:00+00:00"


def test_weeks_ending_on_a_holiday_move_to_the_next_working_day():
    # Tuesday 24 March 2026 + 6 weeks = Tuesday 5 May 2026 (a holiday): Wednesday 6 May.
    due, how = compute_due(local(2026, 3, 24, 10, 0), 6, DueUnit.WEEKS)
    assert due == local(2026, 5, 6, 10, 0)
    assert how["term_end"] == local(2026, 5, 5, 10, 0).isoformat()
    assert how["moved_art_1"] == {
        "from": "2026-05-05",
        "to": "2026-05-06",
        "weekend_days": [],
        "holidays": [{"date": "2026-05-05", "name": "Bevrijdingsdag"}],
    }


def test_weeks_ending_on_a_saturday_move_to_monday():
    due, how = compute_due(local(2026, 1, 3, 9, 30), 1, DueUnit.WEEKS)
    assert due == local(2026, 1, 12, 9, 30)
    assert how["moved_art_1"]["weekend_days"] == ["2026-01-10", "2026-01-11"]


def test_months_ending_on_ascension_move_past_the_bridge_day_and_weekend():
    # 14 November 2025 + 6 months = Thursday 14 May 2026, Ascension; Friday 15th is a decree
    # day, then the weekend: Monday 18 May.
    due, how = compute_due(local(2025, 11, 14, 11, 0), 6, DueUnit.MONTHS)
    assert due == local(2026, 5, 18, 11, 0)
    assert how["moved_art_1"]["holidays"] == [
        {"date": "2026-05-14", "name": "Hemelvaartsdag"},
        {"date": "2026-05-15", "name": "Dag na Hemelvaartsdag (bij besluit)"},
    ]
    assert how["moved_art_1"]["weekend_days"] == ["2026-05-16", "2026-05-17"]
    # Ending on a working day, nothing moves.
    due, how = compute_due(local(2025, 11, 13, 11, 0), 6, DueUnit.MONTHS)
    assert due == local(2026, 5, 13, 11, 0) and "moved_art_1" not in how


def test_months_over_the_year_end():
    # 25 June 2026 + 6 months = Friday 25 December: Christmas, then the weekend.
    assert due_moment(local(2026, 6, 25, 9, 0), 6, DueUnit.MONTHS) == local(2026, 12, 28, 9, 0)
    # 1 July 2026 + 6 months = Friday 1 January 2027: Monday 4 January.
    assert due_moment(local(2026, 7, 1, 9, 0), 6, DueUnit.MONTHS) == local(2027, 1, 4, 9, 0)


def test_calendar_days_and_hours_are_not_moved():
    # Calendar days count every day and end where they end, even on a holiday.
    due, how = compute_due(local(2026, 4, 25, 9, 0), 10, DueUnit.DAYS)
    assert due == local(2026, 5, 5, 9, 0) and "moved_art_1" not in how
    # 24 hours is calendar time: over Christmas, and over the change to summer time.
    assert due_moment(local(2026, 12, 24, 10, 0), 24, DueUnit.HOURS) == local(2026, 12, 25, 10, 0)
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # 13:00 winter time; 29 March: summer
    assert due_moment(start, 24, DueUnit.HOURS) == datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
