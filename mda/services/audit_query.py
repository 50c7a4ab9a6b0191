"""Reading the access log: the auditor's search and export.

Only an auditor reads the log. Exporting it is itself an access worth logging, so every export
writes an ``export`` entry with the filters used.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mda.models import AccessLogEntry
from mda.services.audit import log_access
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import ValidationError
from mda.services.messages import Text, fields_listed, msg
from mda.services.text import text_problem
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction, Role

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
CSV_COLUMNS = (
    "id",
    "at",
    "username",
    "on_behalf_of",
    "action",
    "object_type",
    "object_id",
    "trajectory_id",
    "channel",
    "remote_addr",
    "details",
)


@dataclass(frozen=True)
class AccessLogFilter:
    """Filters from the auditor's form; dates are calendar days in Dutch time, inclusive."""

    username: str | None = None
    trajectory_id: int | None = None
    action: AccessAction | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(
        cls,
        username: str | None = None,
        trajectory_id: str | None = None,
        action: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> AccessLogFilter:
        """From strings (a query string): every bad value is named in one error."""
        errors: dict[str, Text] = {}
        traj = None
        if trajectory_id and trajectory_id.strip():
            raw_id = trajectory_id.strip()
            # ASCII digits only ("²".isdigit() is true) and within the id column's range.
            if raw_id.isascii() and raw_id.isdigit() and int(raw_id) <= 2**31 - 1:
                traj = int(raw_id)
            else:
                errors["trajectory_id"] = msg("a whole number")
        if username and (problem := text_problem(username)):
            errors["username"] = problem
        act = None
        if action:
            try:
                act = AccessAction(action)
            except ValueError:
                errors["action"] = msg(
                    "one of %(known)s", known=", ".join(a.value for a in AccessAction)
                )
        days: dict[str, date | None] = {}
        for name, raw in (("date_from", date_from), ("date_to", date_to)):
            days[name] = None
            if raw and raw.strip():
                try:
                    days[name] = date.fromisoformat(raw.strip())
                except ValueError:
                    errors[name] = msg("a date as YYYY-MM-DD")
        if days["date_from"] and days["date_to"] and days["date_from"] > days["date_to"]:
            errors["date_to"] = msg("on or after the start date")
        if errors:
            raise ValidationError(
                msg("The filter is not valid: %(listed)s.", listed=fields_listed(errors)),
                dict(errors),
            )
        return cls(
            username=(username or "").strip().lower() or None,
            trajectory_id=traj,
            action=act,
            date_from=days["date_from"],
            date_to=days["date_to"],
        )

    def as_details(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items() if v is not None}

    def apply(self, query: Select) -> Select:
        if self.username:
            query = query.where(AccessLogEntry.username == self.username)
        if self.trajectory_id is not None:
            query = query.where(AccessLogEntry.trajectory_id == self.trajectory_id)
        if self.action is not None:
            query = query.where(AccessLogEntry.action == self.action)
        if self.date_from:
            start = datetime.combine(self.date_from, time.min, LOCAL_TZ)
            query = query.where(AccessLogEntry.at >= start)
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, LOCAL_TZ)
            query = query.where(AccessLogEntry.at < end)
        return query


@dataclass(frozen=True)
class AccessLogPage:
    entries: list[AccessLogEntry]
    total: int
    page: int
    pages: int


def search_access_log(
    session: Session, actor: Actor, filters: AccessLogFilter, page: int = 1
) -> AccessLogPage:
    """A page of matching entries, newest first."""
    require_role(actor, Role.AUDITOR)
    total = session.scalar(filters.apply(select(func.count(AccessLogEntry.id)))) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    query = (
        filters.apply(select(AccessLogEntry))
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return AccessLogPage(list(session.scalars(query)), total, page, pages)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell starting with one of these as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def export_access_log(session: Session, actor: Actor, filters: AccessLogFilter) -> str:
    """The matching entries as CSV (oldest first); the export itself is logged."""
    with unit_of_work(session):
        require_role(actor, Role.AUDITOR)
        total = session.scalar(filters.apply(select(func.count(AccessLogEntry.id)))) or 0
        if total > EXPORT_LIMIT:
            raise ValidationError(
                msg(
                    "%(total)d entries match; narrow the filter to at most %(limit)d to export.",
                    total=total,
                    limit=EXPORT_LIMIT,
                ),
                {"filter": "too wide"},
            )
        rows = session.scalars(
            filters.apply(select(AccessLogEntry)).order_by(AccessLogEntry.at, AccessLogEntry.id)
        )
        text = "".join(_csv_lines(rows))
        log_access(
            session,
            actor,
            AccessAction.EXPORT,
            "access_log",
            details={"filters": filters.as_details(), "rows": total},
        )
        return text


def _csv_lines(rows: Iterator[AccessLogEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    entry.id,
                    entry.at.isoformat(),
                    entry.username,
                    entry.on_behalf_of,
                    entry.action.value,
                    entry.object_type,
                    entry.object_id,
                    entry.trajectory_id,
                    entry.channel,
                    entry.remote_addr,
                    ";".join(f"{k}={v}" for k, v in sorted(entry.details.items())),
                )
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
