"""Bulk writing of demo rows: PostgreSQL ``COPY``, SQLite ``executemany``, in one transaction.

The whole population is written in the caller's single transaction, so a failed or
interrupted run leaves nothing behind (the dropped indexes come back with the rollback: DDL is
transactional on both backends). Into empty tables the secondary indexes are dropped first and
built again after loading, which is much faster than keeping them up to date row by row; the
primary keys and unique constraints stay and are checked as rows arrive.

On PostgreSQL a writer thread feeds ``COPY`` while the caller's thread simulates the next
block of households (or collects it from the worker processes, see :mod:`mda.demo.blocks`), so
the server's work overlaps with the simulation. A block's rows arrive as ``COPY`` text made by
its worker, streamed as they are, or as tuples.

The access log is not sent at all: right after each block's rows, an ``INSERT ... SELECT``
derives each of its events' access-log rows from the event, its trajectory and its coordinator
(a third of all rows, made by the database without Python formatting or the server parsing
them, while the next blocks are simulated, and with the block's rows still in its cache).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, ForeignKeyConstraint, Index, Table, inspect, text
from sqlalchemy.schema import AddConstraint, CreateIndex

from mda.demo.blocks import Rows, access_ids, block_ids
from mda.demo.population import (
    ACCESS_COLUMNS,
    CHECKLIST_COLUMNS,
    DEADLINE_COLUMNS,
    EVENT_COLUMNS,
    MEASUREMENT_COLUMNS,
    Coordinator,
    Ids,
)
from mda.models import (
    AccessLogEntry,
    ChecklistItem,
    Deadline,
    SafetyMeasurement,
    Trajectory,
    TrajectoryEvent,
)


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


TABLES: tuple[Table, ...] = tuple(
    _table(model)
    for model in (
        Trajectory,
        TrajectoryEvent,
        AccessLogEntry,
        ChecklistItem,
        SafetyMeasurement,
        Deadline,
    )
)
#: Tables whose integer ``id`` the generator assigns (PostgreSQL's sequences follow them).
ID_TABLES = ("trajectories", "trajectory_events", "access_log", "safety_measurements", "deadlines")


@dataclass(frozen=True)
class _Access:
    """How the access log is derived: the run's first ids, its block size, the shift from an
    event's id to its access-log row's (:func:`mda.demo.blocks.access_ids`), the statements."""

    first: Ids
    block: int
    shift: int
    changes: str
    reads: str


class BulkWriter:
    """Writes :class:`Batch` rows through ``connection`` (inside its open transaction)."""

    def __init__(self, connection: Connection, trajectory_columns: Sequence[str]) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.plan: tuple[tuple[str, Sequence[str], str], ...] = (
            ("trajectories", trajectory_columns, "trajectories"),
            ("trajectory_events", EVENT_COLUMNS, "events"),
            ("checklist_items", CHECKLIST_COLUMNS, "checklist"),
            ("safety_measurements", MEASUREMENT_COLUMNS, "measurements"),
            ("deadlines", DEADLINE_COLUMNS, "deadlines"),
        )
        self.dropped: list[Index] = []
        self.dropped_keys: list[ForeignKeyConstraint] = []
        self.rows: dict[str, int] = {
            name: 0 for name in ("trajectories", "trajectory_events", "access_log")
        }
        self.rows.update((name, 0) for name, _c, _a in self.plan[2:])
        self._queue: queue.Queue[Rows | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._access: _Access | None = None

    # --- indexes ------------------------------------------------------------------------

    def drop_indexes(self) -> None:
        """Drop the secondary indexes of the tables written (to be built after loading), and
        on PostgreSQL their foreign keys (added again, and so checked, after loading)."""
        inspector = inspect(self.connection)
        for table in TABLES:
            present = {ix["name"] for ix in inspector.get_indexes(table.name)}
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                if index.name in present:
                    self.connection.execute(text(f"DROP INDEX {index.name}"))
                    self.dropped.append(index)

        if self.dialect == "postgresql":
            # Foreign keys are checked row by row by triggers during COPY: far slower than
            # checking them once, when the constraint comes back after loading.
            for table in TABLES:
                present = {fk["name"] for fk in inspector.get_foreign_keys(table.name)}
                for constraint in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
                    if constraint.name in present:
                        self.connection.execute(
                            text(f"ALTER TABLE {table.name} DROP CONSTRAINT {constraint.name}")
                        )
                        self.dropped_keys.append(constraint)

    def create_indexes(self) -> None:
        """Build the dropped indexes and constraints again (checking every row)."""
        if self.dialect == "postgresql" and self.dropped:
            # Room to sort an index's keys in memory (the default 64 MB spills the events'
            # and the access log's to disk from some 100,000 households on), for this
            # transaction only.
            self.connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for index in self.dropped:
            self.connection.execute(CreateIndex(index))
        self.dropped = []
        for constraint in self.dropped_keys:
            self.connection.execute(AddConstraint(constraint))
        self.dropped_keys = []

    def reset_sequences(self) -> None:
        """Move PostgreSQL's id sequences past the ids assigned here."""
        if self.dialect != "postgresql":
            return
        for name in ID_TABLES:  # table names of our own, never input
            statement = (
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), m) "  # noqa: S608
                f"FROM (SELECT max(id) AS m FROM {name}) AS t WHERE m IS NOT NULL"
            )
            self.connection.execute(text(statement))

    # --- the access log -----------------------------------------------------------------

    def derive_access(
        self, first: Ids, block: int, coordinators: Mapping[str, Sequence[Coordinator]]
    ) -> None:
        """Derive the access-log rows of each block's events as the block is written (``INSERT
        ... SELECT`` right after its rows, by the writer thread on PostgreSQL, so the server
        makes them while the next blocks are simulated). Call before :meth:`start`.

        Each of a household's steps is logged as the services log it: by its coordinator
        (name, on whose behalf, workstation address), ``create`` for the registration and
        ``change`` with the trigger (or the event's kind) and the version for every later
        step. Before each transition, measurement and deadline handled by hand the coordinator
        read the trajectory (its page or the API): a ``read`` row one to ten minutes earlier
        (never before the registration). The database derives them from the events, rather
        than Python making and sending a third of all rows. The coordinators' names and
        addresses come from a temporary table, dropped by :meth:`end_access`.
        """
        postgresql = self.dialect == "postgresql"
        mark = "%s" if postgresql else "?"
        details = (
            "CASE WHEN e.kind = 'registered' THEN '{}' ELSE '{\"change\": \"' || "
            "COALESCE(e.trigger, e.kind) || '\", \"version\": ' || CAST(e.seq AS TEXT) || '}' END"
        )
        empty = "'{}'"
        # A read 1 to 10 minutes before the step (spread by the event's id), after the
        # registration.
        seconds = f"((CAST(e.id AS BIGINT) * 7919) {'%%' if postgresql else '%'} 540 + 60)"
        if postgresql:
            details = f"CAST({details} AS JSON)"
            empty = "CAST('{}' AS JSON)"
            read_at = (
                f"GREATEST(e.at - {seconds} * INTERVAL '1 second', "
                "t.created_at + INTERVAL '1 second')"
            )
        else:  # moments as SQLAlchemy writes them: 'YYYY-MM-DD HH:MM:SS.ffffff'
            read_at = (
                f"max(strftime('%Y-%m-%d %H:%M:%S', e.at, '-' || {seconds} || ' seconds'), "
                "strftime('%Y-%m-%d %H:%M:%S', t.created_at, '+1 seconds')) || '.000000'"
            )
        # A block's trajectories by the range of their ids, and their events by the same range
        # (each trajectory's events are a range of the unique (trajectory, seq) index). The
        # tables have no statistics while they are loaded: written this way, every plan reads
        # only the block's rows, whichever side it starts from.
        actor = "a.user_id = e.actor_id AND a.region_code = t.region_code"
        if postgresql:
            # The coordinator looked up by its key for each event (a subquery with a limit is
            # not flattened), not the block's trajectories joined to every coordinator of
            # their region first, as an estimate of a few trajectories would have it.
            actor = (
                "LATERAL (SELECT username, on_behalf_of, remote_addr FROM mda_demo_actors AS a "  # noqa: S608
                f"WHERE {actor} LIMIT 1) AS a ON TRUE"
            )
        else:
            actor = f"mda_demo_actors AS a ON {actor}"
        source = (
            "FROM trajectory_events AS e "
            f"JOIN trajectories AS t ON t.id = e.trajectory_id JOIN {actor} "
            f"WHERE t.id >= {mark} AND t.id < {mark} "
            f"AND e.trajectory_id >= {mark} AND e.trajectory_id < {mark}"
        )
        into = f"INSERT INTO access_log ({', '.join(ACCESS_COLUMNS)}) "
        changes = (
            f"{into}SELECT 2 * e.id + {mark}, e.at, e.actor_id, a.username, a.on_behalf_of, "
            "CASE WHEN e.kind = 'registered' THEN 'create' ELSE 'change' END, 'trajectory', "
            f"CAST(e.trajectory_id AS TEXT), e.trajectory_id, 'web', a.remote_addr, {details} "
            f"{source}"
        )
        reads = (
            f"{into}SELECT 2 * e.id + {mark} - 1, {read_at}, e.actor_id, a.username, "
            "a.on_behalf_of, 'read', 'trajectory', CAST(e.trajectory_id AS TEXT), "
            f"e.trajectory_id, 'web', a.remote_addr, {empty} {source} AND e.kind IN "
            "('transition', 'measurement', 'deadline_met', 'deadline_acknowledged')"
        )
        actors = [
            (region, c.id, c.username, c.on_behalf_of, c.remote_addr)
            for region, found in sorted(coordinators.items())
            for c in found
        ]
        cursor = self._raw().cursor()
        try:
            cursor.execute(
                "CREATE TEMPORARY TABLE mda_demo_actors (region_code VARCHAR(8), user_id INTEGER, "
                "username VARCHAR(64), on_behalf_of VARCHAR(120), remote_addr VARCHAR(64), "
                "PRIMARY KEY (user_id, region_code))"
            )
            cursor.executemany(
                f"INSERT INTO mda_demo_actors VALUES ({', '.join([mark] * 5)})",  # noqa: S608
                actors,
            )
        finally:
            cursor.close()
        self._access = _Access(first, block, access_ids(first, block), changes, reads)

    def _derive(self, batch: Rows) -> None:
        """The access-log rows of one block's events (see :meth:`derive_access`)."""
        access = self._access
        if access is None:
            return
        events = batch.counts.get("events", 0)
        if not events:
            return
        start = block_ids(access.first, batch.number, access.block)
        end = block_ids(access.first, batch.number + 1, access.block)
        first, last = start.trajectory, end.trajectory
        parameters = (access.shift, first, last, first, last)
        cursor = self._raw().cursor()
        try:
            cursor.execute(access.changes, parameters)
            written = cursor.rowcount
            if written != events:
                raise RuntimeError(
                    f"{written} access-log rows derived from {events} events (block {batch.number})"
                )
            cursor.execute(access.reads, parameters)
            written += cursor.rowcount
        finally:
            cursor.close()
        self.rows["access_log"] += written

    def _raw(self) -> Any:
        raw = self.connection.connection.dbapi_connection
        assert raw is not None
        return raw

    # --- rows ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.dialect == "postgresql":
            self._thread = threading.Thread(target=self._drain, name="mda-demo-copy", daemon=True)
            self._thread.start()

    def write(self, batch: Rows) -> None:
        """Write (or hand to the writer thread) one block's rows."""
        if self._thread is None:
            self._write(batch)
            return
        while True:
            if self._error is not None:
                raise RuntimeError("writing demo rows failed") from self._error
            try:
                self._queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every batch is written."""
        if self._thread is not None:
            while self._thread.is_alive():
                try:
                    self._queue.put(None, timeout=0.5)
                    break
                except queue.Full:
                    if self._error is not None:
                        break
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise RuntimeError("writing demo rows failed") from self._error

    def end_access(self) -> None:
        """Drop the coordinators' temporary table, once every block is written."""
        if self._access is None:
            return
        cursor = self._raw().cursor()
        try:
            cursor.execute("DROP TABLE IF EXISTS mda_demo_actors")
        finally:
            cursor.close()
        self._access = None

    def _drain(self) -> None:
        try:
            while True:
                batch = self._queue.get()
                if batch is None:
                    return
                self._write(batch)
        except BaseException as exc:  # handed to the simulating thread
            self._error = exc

    def _write(self, batch: Rows) -> None:
        raw = self._raw()
        for name, columns, attribute in self.plan:
            rows = batch.tables.get(attribute)
            if not rows:
                continue
            self.rows[name] += batch.counts[attribute]
            cursor = raw.cursor()
            try:
                if self.dialect == "postgresql":
                    statement = f"COPY {name} ({', '.join(columns)}) FROM STDIN"
                    with cursor.copy(statement) as copy:
                        if isinstance(rows, str):  # formatted by the block's worker
                            copy.write(rows)
                        else:
                            for row in rows:
                                copy.write_row(row)
                else:
                    marks = ", ".join("?" for _ in columns)
                    cursor.executemany(
                        f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                        rows,
                    )
            finally:
                cursor.close()
        self._derive(batch)
