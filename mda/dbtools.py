"""Database upgrades (Alembic) and reference data loading, used by the CLI and start-up."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at the packaged migrations (works from an installed wheel)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection=connection), revision)


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Bring the app's database to ``revision`` and make sure the reference data is there."""
    from mda.extensions import db

    engine = db.state(app).engine
    with engine.begin() as connection:
        upgrade_connection(connection, revision)
    with Session(engine) as session:
        load_reference_data(session)
        session.commit()


def load_reference_data(session: Session) -> None:
    """Insert the 28 regions, their building blocks, the default deadline rules and the days
    made equal to a holiday by decree; idempotent.

    Existing rows are left as they are: names may be corrected and rules tuned by an admin.
    A decree day an admin removed comes back (the shipped decrees are law, not settings).
    """
    from mda.models import CalendarDay, DeadlineRule, Region, RegionBuildingBlock, utcnow
    from mda.reference import BUILDING_BLOCKS, DECREE_DAYS, DEFAULT_DEADLINE_RULES, REGIONS
    from mda.services import workdays

    known = set(session.scalars(select(Region.code)))
    for code, name in REGIONS:
        if code not in known:
            region = Region(code=code, name=name)
            region.building_blocks = [RegionBuildingBlock(block=b) for b in BUILDING_BLOCKS]
            session.add(region)
    rules = set(session.scalars(select(DeadlineRule.kind)))
    for kind, (amount, unit, recurring) in DEFAULT_DEADLINE_RULES.items():
        if kind not in rules:
            session.add(DeadlineRule(kind=kind, amount=amount, unit=unit, recurring=recurring))
    days = set(session.scalars(select(CalendarDay.day)))
    added = False
    for day, name in DECREE_DAYS.items():
        if day not in days:
            session.add(CalendarDay(day=day, name=name, created_at=utcnow()))
            added = True
    session.flush()
    if added:
        workdays.invalidate()


# --- database errors in logs -------------------------------------------------------------

#: Loggers through which an unhandled exception reaches a log file: Flask's app logger, our
#: own error pages, Celery's task tracer and worker, gunicorn.
SCRUBBED_LOGGERS = ("mda", "mda.web.errors", "celery.app.trace", "celery.worker", "gunicorn.error")


def describe_database_error(exc: BaseException) -> str:
    """What went wrong in the database, without the values involved.

    ``hide_parameters`` keeps the bound parameters out of SQLAlchemy's message, but
    PostgreSQL's own message adds a DETAIL with the failing row or key ("Failing row contains
    (..., <free text>)"). Only the error class, the SQLSTATE, the driver's primary message
    (which names columns and constraints, never values) and the statement with its
    placeholders are kept.
    """
    from sqlalchemy.exc import DBAPIError, StatementError

    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary is None:
        primary = str(orig).splitlines()[0] if str(orig) else ""
        if diag is not None or "DETAIL" in primary:
            primary = primary.split("DETAIL")[0].strip()
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    parts = [type(exc).__name__]
    if sqlstate:
        parts.append(f"({sqlstate})")
    parts.append(primary)
    if isinstance(exc, StatementError | DBAPIError) and exc.statement:
        parts.append(f"[SQL: {exc.statement}]")
    return " ".join(part for part in parts if part)


def _database_error_in(exc: BaseException | None) -> BaseException | None:
    from sqlalchemy.exc import StatementError

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, StatementError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


class DatabaseErrorScrubber(logging.Filter):
    """Replaces a logged database exception by :func:`describe_database_error` and its frames.

    The traceback's frames (file, line, code) stay, so the error can still be found; the
    exception messages, which can quote a row of free text, do not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        found = _database_error_in(record.exc_info[1])
        if found is None:
            return True
        frames = "".join(traceback.format_tb(record.exc_info[2]))
        record.msg = f"{record.getMessage()}\n{describe_database_error(found)}\n{frames}".rstrip()
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


def install_log_scrubber() -> None:
    """Put the scrubber on every logger an unhandled database error is logged through."""
    scrubber = (
        next(
            (f for f in logging.getLogger("mda").filters if isinstance(f, DatabaseErrorScrubber)),
            None,
        )
        or DatabaseErrorScrubber()
    )
    for name in SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if scrubber not in logger.filters:
            logger.addFilter(scrubber)
