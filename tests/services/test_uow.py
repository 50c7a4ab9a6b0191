"""The unit of work on a real SQLite file with real commits: writers queue, never half-fail.

These tests use their own database file and sessions that really commit (not the savepoints
of the other service tests), because SQLite's locking only shows across connections.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mda.dbtools import describe_database_error, install_log_scrubber
from mda.extensions import make_engine
from mda.models import Region, WorkerHeartbeat, utcnow
from mda.services.errors import Busy
from mda.services.system import record_heartbeat
from mda.services.uow import after_commit, unit_of_work
from tests.conftest import migrate


@pytest.fixture(scope="module")
def database_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("uow") / "mda.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def engine(database_file: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{database_file}", sqlite_busy_timeout_ms=300)
    yield engine
    engine.dispose()


def heartbeats(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(WorkerHeartbeat.name)))


def test_a_request_that_read_first_can_still_write_after_another_writer(engine: Engine) -> None:
    """The deferred-BEGIN trap: a read snapshot older than another commit cannot write.

    A request loads the signed-in user (a read transaction), another request commits a
    change, then the first request's use case writes. Without BEGIN IMMEDIATE at the start of
    the use case SQLite refuses that write at once, whatever the busy timeout.
    """
    with Session(engine) as reader, Session(engine) as other:
        assert reader.scalar(select(Region.code).limit(1))  # read transaction now open
        record_heartbeat(other, "other-writer")
        record_heartbeat(reader, "late-writer")
    assert {"other-writer", "late-writer"} <= heartbeats(engine)


def test_a_lock_that_cannot_be_had_is_busy_and_writes_nothing(
    engine: Engine, database_file: Path
) -> None:
    holder = sqlite3.connect(database_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the timeout
    sent = []
    try:
        with (
            Session(engine) as session,
            pytest.raises(Busy) as refused,
            unit_of_work(session),
        ):
            session.add(WorkerHeartbeat(name="never-written", last_seen_at=utcnow()))
            after_commit(session, lambda: sent.append("task"))
        assert refused.value.status == 503
        assert refused.value.details["retry_after"] > 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "never-written" not in heartbeats(engine)
    assert sent == []  # nothing sent for a use case that did not commit


def test_writers_begin_immediate_and_readers_do_not(engine: Engine) -> None:
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def remember(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with Session(engine) as session:
        session.scalar(select(Region.code).limit(1))
        session.rollback()
        record_heartbeat(session, "begin-check")
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"], begins


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_database_errors_reach_the_logs_without_their_values(
    backend: str, request: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither SQLAlchemy's parameters nor PostgreSQL's "Failing row contains" reach a log."""
    engine = request.getfixturevalue(f"{backend}_engine")
    secret = "gesprek met moeder over de vader"
    with engine.connect() as conn, pytest.raises(DBAPIError) as failed:
        conn.execute(
            text("INSERT INTO region_status_changes (region_code, what, from_value, to_value, "
                 "reason, at) VALUES (:region, NULL, 'a', 'b', :reason, CURRENT_TIMESTAMP)"),
            {"region": "UTR", "reason": secret},
        )  # fmt: skip
    assert "hidden due to hide_parameters" in str(failed.value)
    summary = describe_database_error(failed.value)
    assert secret not in summary and "region_status_changes" in summary

    install_log_scrubber()
    for name in ("mda", "celery.app.trace"):
        try:
            raise RuntimeError("the use case failed") from failed.value
        except RuntimeError:
            logging.getLogger(name).exception("unhandled error on POST /x")
    logged = caplog.text
    assert "unhandled error on POST /x" in logged
    assert "IntegrityError" in logged and "test_uow.py" in logged  # still findable
    assert secret not in logged


def test_the_real_commit_path_runs_callbacks_once_after_the_outermost_commit(
    engine: Engine,
) -> None:
    """Commits that are real (not the savepoints of the other tests), nested units included."""
    seen: list[tuple[str, set[str]]] = []
    with Session(engine) as session:
        with unit_of_work(session):
            session.add(WorkerHeartbeat(name="outer", last_seen_at=utcnow()))
            with unit_of_work(session):  # a nested use case: no commit of its own
                session.add(WorkerHeartbeat(name="inner", last_seen_at=utcnow()))
                after_commit(session, lambda: seen.append(("inner", heartbeats(engine))))
            assert "inner" not in heartbeats(engine)  # not committed by the nested unit
        assert [name for name, _ in seen] == ["inner"]
        # The callback ran after the commit: another connection already saw both rows.
        assert {"outer", "inner"} <= seen[0][1]

        with pytest.raises(RuntimeError), unit_of_work(session):
            session.add(WorkerHeartbeat(name="rolled-back", last_seen_at=utcnow()))
            after_commit(session, lambda: seen.append(("rolled-back", set())))
            raise RuntimeError("the use case fails half-way")
    assert "rolled-back" not in heartbeats(engine)
    assert [name for name, _ in seen] == ["inner"]
