"""Statistics periods: a month (``2026-10``) or a half year (``2026-H2``), in Dutch time.

A period runs from the Europe/Amsterdam midnight of its first day up to (not including) the
Amsterdam midnight after its last day; as UTC moments for event times and as dates for the
domain's calendar dates (``referred_on``, ``measured_on``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from mda.services.clock import NL, today_nl
from mda.vocabulary import PeriodType

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
_HALF = re.compile(r"([0-9]{4})-H([12])", re.ASCII)


class PeriodError(ValueError):
    """Not a period: the message says what one looks like."""


@dataclass(frozen=True, order=True)
class Period:
    """A month or half year. ``index`` is the month (1-12) or the half (1-2)."""

    year: int
    kind: PeriodType
    index: int

    @classmethod
    def parse(cls, text: str) -> Period:
        if isinstance(text, str):
            match = _MONTH.fullmatch(text)
            if match:
                return cls(int(match.group(1)), PeriodType.MONTH, int(match.group(2)))
            match = _HALF.fullmatch(text)
            if match:
                return cls(int(match.group(1)), PeriodType.HALF_YEAR, int(match.group(2)))
        raise PeriodError(f"A period looks like 2026-10 (a month) or 2026-H2, not {text!r}.")

    def __str__(self) -> str:
        if self.kind is PeriodType.MONTH:
            return f"{self.year:04d}-{self.index:02d}"
        return f"{self.year:04d}-H{self.index}"

    @property
    def first_day(self) -> date:
        month = self.index if self.kind is PeriodType.MONTH else 6 * (self.index - 1) + 1
        return date(self.year, month, 1)

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        return self.next().first_day

    @property
    def start(self) -> datetime:
        """The period's first moment (UTC): Amsterdam midnight of its first day."""
        return _midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """The moment the period ends (UTC, exclusive)."""
        return _midnight(self.end_day)

    def next(self) -> Period:
        size = 12 if self.kind is PeriodType.MONTH else 2
        if self.index == size:
            return Period(self.year + 1, self.kind, 1)
        return Period(self.year, self.kind, self.index + 1)

    def previous(self) -> Period:
        size = 12 if self.kind is PeriodType.MONTH else 2
        if self.index == 1:
            return Period(self.year - 1, self.kind, size)
        return Period(self.year, self.kind, self.index - 1)

    def half_year(self) -> Period:
        """The half year a month lies in (a half year is its own)."""
        if self.kind is PeriodType.HALF_YEAR:
            return self
        return Period(self.year, PeriodType.HALF_YEAR, 1 if self.index <= 6 else 2)

    def months(self) -> list[Period]:
        """The months of a half year (a month: itself)."""
        if self.kind is PeriodType.MONTH:
            return [self]
        first = 6 * (self.index - 1) + 1
        return [Period(self.year, PeriodType.MONTH, m) for m in range(first, first + 6)]

    def is_closed(self, now: datetime) -> bool:
        """Whether the period has ended at ``now`` (by the Dutch date)."""
        return today_nl(now) >= self.end_day


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=NL).astimezone(UTC)


def last_closed(kind: PeriodType, now: datetime) -> Period:
    """The most recent month or half year that has ended at ``now``."""
    today = today_nl(now)
    if kind is PeriodType.MONTH:
        current = Period(today.year, kind, today.month)
    else:
        current = Period(today.year, kind, 1 if today.month <= 6 else 2)
    return current.previous()
