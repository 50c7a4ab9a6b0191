"""Working days with Dutch public holidays, and due moments."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mda.services.workdays import add_working_days, add_working_days_at, due_moment, is_working_day
from mda.vocabulary import DueUnit


def test_weekends_and_dutch_holidays_are_skipped():
    assert not is_working_day(date(2024, 4, 27))  # Saturday
    assert not is_working_day(date(2025, 4, 26))  # Koningsdag moved: 27 April 2025 is a Sunday
    assert not is_working_day(date(2024, 4, 1))  # Easter Monday
    assert not is_working_day(date(2024, 12, 25)) and not is_working_day(date(2024, 12, 26))
    assert not is_working_day(date(2024, 5, 9))  # Ascension Day
    assert is_working_day(date(2024, 4, 2))


def test_add_working_days():
    # Thursday 28 March 2024: Good Friday (as the holidays library lists it), the weekend and
    # Easter Monday are skipped.
    assert add_working_days(date(2024, 3, 28), 1) == date(2024, 4, 2)
    assert add_working_days(date(2024, 3, 28), 2) == date(2024, 4, 3)
    assert add_working_days(date(2024, 12, 23), 3) == date(2024, 12, 30)
    assert add_working_days(date(2024, 12, 30), -3) == date(2024, 12, 23)


def test_due_moments_keep_the_local_time():
    start = datetime(2024, 3, 22, 15, 0, tzinfo=UTC)  # Friday 16:00 in Amsterdam (winter time)
    due = add_working_days_at(start, 10)
    assert due == datetime(2024, 4, 9, 14, 0, tzinfo=UTC)  # 16:00 summer time, after Easter
    assert due_moment(start, 24, DueUnit.HOURS) == datetime(2024, 3, 23, 15, 0, tzinfo=UTC)
    assert due_moment(start, 6, DueUnit.MONTHS) == datetime(2024, 9, 22, 14, 0, tzinfo=UTC)
    assert due_moment(start, 6, DueUnit.WEEKS) == datetime(2024, 5, 3, 14, 0, tzinfo=UTC)
