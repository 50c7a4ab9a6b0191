"""The demo population (``mda demo``): shape, consistency with the workflow, refusal, CLI.

Each backend gets its own fresh database (the generator commits, and drops and rebuilds
indexes on empty tables), filled once per module with a few hundred households.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from mda.demo import (
    DEMO_PREFIX,
    MEASUREMENT_LEVELS,
    DemoRefused,
    generate,
    household_counts,
    real_trajectories,
)
from mda.demo.population import demo_code
from mda.extensions import make_engine
from mda.models import (
    AccessLogEntry,
    ChecklistItem,
    Deadline,
    SafetyMeasurement,
    Trajectory,
    TrajectoryEvent,
    User,
)
from mda.services.identifiers import find_identifiers
from mda.services.trajectories import current_facts, replay_events
from mda.vocabulary import DeadlineStatus, Role, TrajectoryState
from mda.workflows import trajectory as workflow
from tests.conftest import BACKENDS, fresh_postgres_database, migrate

HOUSEHOLDS = 400
SEED = 11
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
SINCE = date(2024, 1, 1)
_counter = iter(range(1, 1000))


def _fresh(backend: str, request: pytest.FixtureRequest, tmp_path_factory) -> Engine:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
        engine = make_engine(f"sqlite:///{path}")
    else:
        server = request.getfixturevalue("postgres_server")
        engine = fresh_postgres_database(server, f"mda_demo_{os.getpid()}_{next(_counter)}")
    migrate(engine)
    return engine


@pytest.fixture
def fresh_engine(backend, request, tmp_path_factory):
    engine = _fresh(backend, request, tmp_path_factory)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def demo_db(request, tmp_path_factory):
    """A database holding HOUSEHOLDS demo households, and the generator's result."""
    engine = _fresh(request.param, request, tmp_path_factory)
    result = generate(engine, households=HOUSEHOLDS, seed=SEED, since=SINCE, now=NOW)
    yield engine, result
    engine.dispose()


def test_counts_per_region_follow_population(demo_db):
    engine, result = demo_db
    assert result.households == HOUSEHOLDS
    with Session(engine) as session:
        counts = dict(
            session.execute(
                select(Trajectory.region_code, func.count()).group_by(Trajectory.region_code)
            ).all()
        )
    assert counts == {k: v for k, v in household_counts(HOUSEHOLDS).items() if v}
    assert sum(counts.values()) == HOUSEHOLDS
    # Rotterdam-Rijnmond (1.3 M inhabitants) gets several times Kop van Noord-Holland's share.
    assert counts["RRN"] > 5 * counts.get("KNH", 0) > 0


def test_measurements_follow_the_impact_monitor(demo_db):
    engine, _result = demo_db
    with Session(engine) as session:
        rows = session.execute(
            select(
                SafetyMeasurement.number, SafetyMeasurement.violence_level, func.count()
            ).group_by(SafetyMeasurement.number, SafetyMeasurement.violence_level)
        ).all()
    by_number: dict[int, Counter] = {}
    for number, level, count in rows:
        by_number.setdefault(number, Counter())[level.value] = count
    assert set(by_number) == {1, 2, 3}
    for number, counts in by_number.items():
        total = sum(counts.values())
        assert total >= 30, (number, total)
        for level, target in zip(
            ("none", "moderate", "severe"), MEASUREMENT_LEVELS[number], strict=True
        ):
            share = counts[level] / total
            # Four standard errors of a proportion over this many measurements.
            tolerance = 4 * math.sqrt(target * (1 - target) / total)
            assert abs(share - target) <= tolerance, (number, level, share, target, total)
    severe = [by_number[n]["severe"] / sum(by_number[n].values()) for n in (1, 2, 3)]
    assert severe[0] > severe[2]  # the violence diminishes over the three measurements


def test_every_household_replays_to_its_row(demo_db):
    engine, _result = demo_db
    with Session(engine) as session:
        trajectories = session.scalars(select(Trajectory).order_by(Trajectory.id)).all()
        assert len(trajectories) == HOUSEHOLDS
        for trajectory in trajectories:
            replayed = replay_events(session, trajectory).snapshot()
            assert replayed == current_facts(session, trajectory).snapshot(), trajectory.id
            seqs = session.scalars(
                select(TrajectoryEvent.seq)
                .where(TrajectoryEvent.trajectory_id == trajectory.id)
                .order_by(TrajectoryEvent.seq)
            ).all()
            assert seqs == list(range(1, trajectory.version + 1))
            assert trajectory.pseudonym == demo_code(trajectory.id)
            assert trajectory.referred_on <= trajectory.created_at.date()


def test_a_realistic_mix_of_states_and_outcomes(demo_db):
    engine, _result = demo_db
    with Session(engine) as session:
        trajectories = session.scalars(select(Trajectory)).all()
        states = Counter(t.state for t in trajectories)
        reasons = Counter(t.closure_reason.value for t in trajectories if t.closure_reason)
        sources = Counter(t.referral_source.value for t in trajectories)
        deadlines = Counter(
            session.execute(select(Deadline.status, func.count()).group_by(Deadline.status)).all()
        )
        late_met = session.scalar(
            select(func.count())
            .select_from(Deadline)
            .where(Deadline.status == DeadlineStatus.MET, Deadline.closed_at > Deadline.due_at)
        )
        overdue_open = session.scalar(
            select(func.count())
            .select_from(Deadline)
            .where(Deadline.status == DeadlineStatus.OPEN, Deadline.due_at < NOW)
        )
    assert len(states) >= 6
    assert {"goals_met", "not_eligible", "household_withdrew", "stepped_down"} <= set(reasons)
    assert sources["veilig_thuis"] > sources["public_prosecutor"]
    assert sum(t.relapses for t in trajectories) > 0
    assert sum(t.reentries for t in trajectories) > 0
    assert {status for status, _count in deadlines} >= {
        DeadlineStatus.OPEN,
        DeadlineStatus.MET,
        DeadlineStatus.CANCELLED,
    }
    assert late_met and overdue_open
    assert all(t.created_at <= NOW and t.updated_at <= NOW for t in trajectories)


def test_deadlines_are_consistent(demo_db):
    engine, _result = demo_db
    with Session(engine) as session:
        doubled = session.execute(
            select(Deadline.trajectory_id, Deadline.kind)
            .where(Deadline.status == DeadlineStatus.OPEN)
            .group_by(Deadline.trajectory_id, Deadline.kind)
            .having(func.count() > 1)
        ).all()
        assert doubled == []
        closed_without_moment = session.scalar(
            select(func.count())
            .select_from(Deadline)
            .where(Deadline.status != DeadlineStatus.OPEN, Deadline.closed_at.is_(None))
        )
        assert closed_without_moment == 0
        open_on_closed = session.scalar(
            select(func.count())
            .select_from(Deadline)
            .join(Trajectory, Trajectory.id == Deadline.trajectory_id)
            .where(
                Deadline.status == DeadlineStatus.OPEN, Trajectory.state == TrajectoryState.CLOSED
            )
        )
        assert open_on_closed == 0
        for trajectory in session.scalars(select(Trajectory)):
            open_rows = session.execute(
                select(Deadline.due_at, Deadline.kind, Deadline.region_code).where(
                    Deadline.trajectory_id == trajectory.id,
                    Deadline.status == DeadlineStatus.OPEN,
                )
            ).all()
            assert all(region == trajectory.region_code for _d, _k, region in open_rows)
            earliest = min(((d, k.value) for d, k, _r in open_rows), default=None)
            if earliest is None:
                assert trajectory.next_due_at is None and trajectory.next_due_kind is None
            else:
                assert (trajectory.next_due_at, trajectory.next_due_kind.value) == earliest


def test_access_log_matches_the_events(demo_db):
    engine, _result = demo_db
    with Session(engine) as session:
        events = session.scalar(select(func.count()).select_from(TrajectoryEvent))
        logged = session.scalar(
            select(func.count())
            .select_from(AccessLogEntry)
            .where(AccessLogEntry.object_type == "trajectory", AccessLogEntry.action != "read")
        )
        assert events == logged
        created = session.scalar(
            select(func.count())
            .select_from(AccessLogEntry)
            .where(AccessLogEntry.object_type == "trajectory", AccessLogEntry.action == "create")
        )
        assert created == HOUSEHOLDS
        # The coordinators who acted are coordinators of the trajectory's region.
        pairs = session.execute(
            select(User.role, Trajectory.region_code, User.id)
            .join(Trajectory, Trajectory.coordinator_id == User.id)
            .distinct()
        ).all()
        users = {u.id: u for u in session.scalars(select(User))}
        for role, region, user_id in pairs:
            assert role is Role.COORDINATOR and region in users[user_id].region_codes

        # One access-log row per event (the database derives them): same moment, same
        # coordinator, the action and details the services log, ids in the events' order.
        events_in_order = session.execute(
            select(
                TrajectoryEvent.trajectory_id,
                TrajectoryEvent.seq,
                TrajectoryEvent.at,
                TrajectoryEvent.actor_id,
                TrajectoryEvent.kind,
                TrajectoryEvent.trigger,
            ).order_by(TrajectoryEvent.id)
        ).all()
        everything = session.scalars(
            select(AccessLogEntry)
            .where(AccessLogEntry.object_type == "trajectory")
            .order_by(AccessLogEntry.id)
        ).all()
        logged_in_order = [entry for entry in everything if entry.action.value != "read"]
        addresses: dict[tuple[int, str], str | None] = {}
        assert len(events_in_order) == len(logged_in_order)
        for event, entry in zip(events_in_order, logged_in_order, strict=True):
            trajectory_id, seq, at, actor_id, kind, trigger = event
            assert entry.trajectory_id == trajectory_id
            assert entry.object_id == str(trajectory_id)
            assert entry.at == at
            assert entry.user_id == actor_id
            assert entry.username == users[actor_id].username
            assert entry.channel == "web"
            if kind == "registered":
                assert (entry.action.value, entry.details) == ("create", {})
            else:
                assert entry.action.value == "change"
                assert entry.details == {"change": trigger or kind, "version": seq}
            # A coordinator works from one address in each region.
            region = session.get(Trajectory, trajectory_id).region_code
            assert addresses.setdefault((actor_id, region), entry.remote_addr) == entry.remote_addr
            assert entry.remote_addr

        # Reads: the coordinator opened the trajectory before a transition, a measurement or
        # a deadline handled by hand (the next row is that step), after its registration.
        reads = [n for n, entry in enumerate(everything) if entry.action.value == "read"]
        assert len(reads) > HOUSEHOLDS
        for n in reads:
            read, step = everything[n], everything[n + 1]
            assert step.action.value == "change"
            assert step.details["change"] in set(workflow.TRIGGERS) | {
                "measurement",
                "deadline_met",
                "deadline_acknowledged",
            }
            assert (read.trajectory_id, read.user_id, read.remote_addr, read.details) == (
                step.trajectory_id,
                step.user_id,
                step.remote_addr,
                {},
            )
            created = session.get(Trajectory, read.trajectory_id).created_at
            assert created < read.at <= step.at
            assert (step.at - read.at).total_seconds() <= 600


def test_no_identifier_like_text(demo_db):
    engine, _result = demo_db
    with Session(engine) as session:
        texts = [
            *session.scalars(select(TrajectoryEvent.reason).where(TrajectoryEvent.reason.isnot(None))),
            *session.scalars(select(Trajectory.referred_back_to).where(Trajectory.referred_back_to.isnot(None))),
            *session.scalars(select(Deadline.note).where(Deadline.note.isnot(None))),
        ]  # fmt: skip
    assert texts
    assert all(not find_identifiers(value) for value in set(texts))


def test_sequences_continue_after_the_demo(demo_db):
    engine, _result = demo_db
    with engine.begin() as connection:
        top = connection.scalar(select(func.max(Deadline.id)))
        if connection.dialect.name == "postgresql":
            following = connection.scalar(
                text("SELECT nextval(pg_get_serial_sequence('deadlines', 'id'))")
            )
            assert following > top


def test_refuses_real_trajectories_unless_forced(fresh_engine):
    engine = fresh_engine
    with engine.begin() as connection:
        region = "UTR"
        connection.execute(
            Trajectory.__table__.insert().values(
                pseudonym_hash="a" * 64,
                pseudonym="K7QM-3XZP-A2RT",
                key_version=1,
                region_code=region,
                state="referred",
                version=1,
                referral_source="police",
                violence_types=["partner_violence"],
                children="0",
                referred_on=date(2026, 11, 2),
                created_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
                state_entered_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
                updated_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
                reentries=0,
                relapses=0,
            )
        )
    with pytest.raises(DemoRefused, match="1 real"):
        generate(engine, households=20, seed=1, now=NOW)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Trajectory)) == 1
        assert real_trajectories(session) == 1
    result = generate(engine, households=20, seed=1, now=NOW, force=True)
    assert result.households == 20
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Trajectory)) == 21
        demo = session.scalars(
            select(Trajectory).where(Trajectory.pseudonym.startswith(DEMO_PREFIX))
        ).all()
        assert len(demo) == 20
        for trajectory in demo:
            assert replay_events(session, trajectory).snapshot() == (
                current_facts(session, trajectory).snapshot()
            )


def test_more_demo_data_needs_no_force_and_is_deterministic(fresh_engine, tmp_path):
    engine = fresh_engine
    first = generate(engine, households=60, seed=5, since=SINCE, now=NOW)
    snapshot = _dump(engine)
    second = generate(engine, households=10, seed=6, since=SINCE, now=NOW)
    assert second.households == 10
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Trajectory)) == 70
    assert first.rows["trajectories"] == 60

    # The same seed on a fresh database gives the same rows (SQLite's, whatever the backend).
    again = make_engine(f"sqlite:///{tmp_path / 'again.sqlite'}")
    try:
        migrate(again)
        generate(again, households=60, seed=5, since=SINCE, now=NOW)
        assert _dump(again) == snapshot
    finally:
        again.dispose()


def test_processes_change_the_speed_never_the_rows(backend, request, tmp_path_factory, monkeypatch):
    """Blocks have their own random streams and id ranges: simulated by the caller or by two
    worker processes, a seed gives the same rows (on each backend)."""
    from mda.demo import blocks, writer

    monkeypatch.setattr(blocks, "BLOCK", 40)  # several small blocks
    # After each block is written (by the writer thread on PostgreSQL), in the load's
    # transaction: how many events there are, and how many access-log rows of steps.
    written: list[tuple[int, int, int]] = []
    write = writer.BulkWriter._write

    def counting(self, batch):
        write(self, batch)
        cursor = self._raw().cursor()
        cursor.execute(
            "SELECT (SELECT count(*) FROM trajectory_events), (SELECT count(*) FROM access_log "
            "WHERE object_type = 'trajectory' AND action <> 'read')"
        )
        written.append((batch.number, *cursor.fetchone()))
        cursor.close()

    monkeypatch.setattr(writer.BulkWriter, "_write", counting)
    dumps = []
    for processes in (1, 2):
        engine = _fresh(backend, request, tmp_path_factory)
        try:
            result = generate(
                engine, households=130, seed=9, since=SINCE, now=NOW, processes=processes
            )
            assert result.rows["trajectories"] == 130
            dumps.append(_dump(engine))
        finally:
            engine.dispose()
    assert dumps[0] == dumps[1]
    trajectories, events = dumps[0][0], dumps[0][1]
    assert [int(row[0]) for row in trajectories] == list(range(1, 131))
    # Each block's access log is derived as the block is written: after every block, every
    # event so far has its row (the read rows come on top), in both runs.
    assert [number for number, _e, _s in written] == [0, 1, 2, 3] * 2
    assert all(0 < steps == events for _n, events, steps in written)
    steps = [row for row in dumps[0][5] if row[5] != "read"]
    assert len(steps) == len(events) > 130
    assert {row[8] for row in steps} == {row[0] for row in trajectories}


@pytest.mark.parametrize("where", ["simulation", "writer"])
def test_a_failed_run_leaves_nothing_behind(fresh_engine, backend, monkeypatch, where):
    """The load is one transaction: a run that fails halfway (in the simulation of a block,
    or in writing one) leaves the database as it was, indexes and journal included, and the
    next run works."""
    from mda.demo import blocks, writer

    engine = fresh_engine
    monkeypatch.setattr(blocks, "BLOCK", 40)
    indexes_before = _indexes(engine)
    before = _dump(engine)
    with engine.connect() as connection:
        logged = connection.scalar(select(func.count()).select_from(AccessLogEntry))
    seen: list[int] = []

    def failing(original):
        def run(self, batch_or_task):
            seen.append(batch_or_task.number)
            if batch_or_task.number == 2:
                raise RuntimeError("interrupted")
            return original(self, batch_or_task)

        return run

    if where == "simulation":
        monkeypatch.setattr(blocks.Blocks, "run", failing(blocks.Blocks.run))
    else:
        monkeypatch.setattr(writer.BulkWriter, "_derive", failing(writer.BulkWriter._derive))
    with pytest.raises(RuntimeError) as raised:
        generate(engine, households=200, seed=4, since=SINCE, now=NOW, processes=1)
    assert "interrupted" in repr(raised.value) + repr(raised.value.__cause__)
    assert 2 in seen
    assert _dump(engine) == before
    assert _indexes(engine) == indexes_before
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AccessLogEntry)) == logged
        if backend == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    monkeypatch.undo()

    result = generate(engine, households=50, seed=4, since=SINCE, now=NOW)
    assert result.rows["trajectories"] == 50
    assert _indexes(engine) == indexes_before


_LOADED = ("trajectories", "trajectory_events", "access_log", "deadlines", "checklist_items",
           "safety_measurements")  # fmt: skip


def _indexes(engine: Engine) -> dict[str, list[str]]:
    """The secondary indexes and foreign keys of the tables a run loads."""
    inspector = inspect(engine)
    return {
        name: sorted(
            [str(ix["name"]) for ix in inspector.get_indexes(name)]
            + [str(fk["name"]) for fk in inspector.get_foreign_keys(name)]
        )
        for name in _LOADED
    }


def test_sqlite_loads_through_a_rollback_journal_when_alone(tmp_path, monkeypatch):
    """Alone on the database, the load leaves the write-ahead log for a rollback journal (the
    pages written once); with another connection open it keeps the log. WAL either way after."""
    from mda.demo import writer

    modes: list[str] = []
    original = writer.BulkWriter.create_indexes

    def create_indexes(self):
        modes.append(self.connection.exec_driver_sql("PRAGMA journal_mode").scalar())
        original(self)

    monkeypatch.setattr(writer.BulkWriter, "create_indexes", create_indexes)
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    other = make_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    try:
        migrate(engine)
        engine.dispose()
        alone = generate(engine, households=30, seed=2, since=SINCE, now=NOW)
        assert alone.rollback_journal is True
        assert "write-ahead log" not in alone.summary()
        with other.connect() as reader:
            assert reader.scalar(select(func.count()).select_from(Trajectory)) == 30
            beside = generate(engine, households=30, seed=3, since=SINCE, now=NOW)
            # The reader went on reading its snapshot meanwhile, and sees the load after.
            assert reader.scalar(select(func.count()).select_from(Trajectory)) == 30
            reader.rollback()
            assert reader.scalar(select(func.count()).select_from(Trajectory)) == 60
        assert modes == ["delete", "wal"]
        assert beside.rollback_journal is False
        assert "Written through SQLite's write-ahead log" in beside.summary()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        other.dispose()
        engine.dispose()


def test_sqlite_load_settings_come_back_even_when_wal_cannot(tmp_path, caplog):
    """A reader that opened the database during the load (a shell, a backup) may still hold it
    when the load is done: the connection's own settings come back all the same, and the
    journal mode stays as it is (with a warning) until the app's next connection."""
    import sqlite3

    from mda.demo.generator import _bulk_load

    path = tmp_path / "demo.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        engine.dispose()
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection

            def pragma(statement: str) -> Any:  # on the driver's connection: no transaction
                row = raw.execute(statement).fetchone()
                return None if row is None else row[0]

            settings = ("synchronous", "cache_size", "temp_store", "foreign_keys")
            before = {name: pragma(f"PRAGMA {name}") for name in settings}
            with _bulk_load(connection) as rollback:
                assert rollback is True
                assert pragma("PRAGMA journal_mode") == "delete"
                assert pragma("PRAGMA synchronous") == 2  # FULL: the journal synced
                assert pragma("PRAGMA foreign_keys") == 0
                reader = sqlite3.connect(path, isolation_level=None)
                reader.execute("BEGIN")
                assert reader.execute("SELECT count(*) FROM regions").fetchone()[0] > 0
                pragma("PRAGMA busy_timeout=50")
            assert "left in its rollback journal mode" in caplog.text
            assert {name: pragma(f"PRAGMA {name}") for name in settings} == before
            reader.close()
        engine.dispose()
        with engine.connect() as connection:  # the app's next connection: WAL again
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def _rows(session: Session, model, order, where=None):
    query = select(model).order_by(*order)
    if where is not None:
        query = query.where(where)
    columns = [c.key for c in model.__table__.columns if c.key not in ("session_token",)]
    return [tuple(str(getattr(row, key)) for key in columns) for row in session.scalars(query)]


def _dump(engine: Engine):
    with Session(engine) as session:
        return (
            _rows(session, Trajectory, [Trajectory.id]),
            _rows(session, TrajectoryEvent, [TrajectoryEvent.id]),
            _rows(session, Deadline, [Deadline.id]),
            _rows(session, SafetyMeasurement, [SafetyMeasurement.id]),
            _rows(session, ChecklistItem, [ChecklistItem.trajectory_id, ChecklistItem.key]),
            _rows(
                session,
                AccessLogEntry,
                [AccessLogEntry.id],
                AccessLogEntry.object_type == "trajectory",
            ),
        )


def test_cli_demo_command(tmp_path, monkeypatch):
    from mda.cli import cli

    for key in ("MDA_ENV", "MDA_DATABASE_URL", "MDA_BROKER_URL", "MDA_SECRET_KEY",
                "MDA_PSEUDONYM_KEY", "MDA_RESULT_BACKEND"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MDA_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(
        cli, ["demo", "--households", "30", "--seed", "3", "--since", "2025-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "30 demo households registered from 2025-01-01" in result.output
    # What follows the households is named, not left to a finished progress bar.
    assert result.output.index("Demo households written; building indexes") < result.output.index(
        "Demo households written; updating the planner's statistics"
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'mda.sqlite'}")
    try:
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Trajectory)) == 30
            assert real_trajectories(session) == 0
    finally:
        engine.dispose()
    again = runner.invoke(cli, ["demo", "--households", "5"])
    assert again.exit_code == 0, again.output


def test_month_statistics_agree_with_the_hand_written_aggregate(demo_db):
    """The statistics' one-pass figures (every month bucketed in one statement per table,
    the stock from the transitions in and out of each state) equal the bench's hand-written
    SQL (each trajectory's last state change before the end, by a window), month by month,
    and a half year equals its own hand-written aggregate."""
    from bench.w2_stats import floor_counts
    from mda.stats import aggregates
    from mda.stats.periods import Period

    engine, _result = demo_db
    months = [Period.parse("2024-01")]
    while months[-1] != Period.parse("2026-10"):
        months.append(months[-1].next())
    halves = [Period.parse("2025-H2"), Period.parse("2026-H1")]
    with Session(engine) as session:
        regions = aggregates.region_codes(session)
        figures = aggregates.compute_many(session, [*months, *halves], regions)
    checked = 0
    for period in [*months, *halves]:
        floor, _seconds = floor_counts(engine, period)
        for name, cells in figures[str(period)].counts.items():
            expected = {c: n for c, n in floor.get(name, {}).items() if n}
            assert cells == expected, (str(period), name)
            checked += sum(cells.values())
    assert checked > HOUSEHOLDS  # the population reaches every table


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    """``percentile_cont`` at 0.25, 0.5 and 0.75: linear between the ranks."""
    ordered = sorted(values)
    out = []
    for p in (0.25, 0.5, 0.75):
        h = (len(ordered) - 1) * p
        low = math.floor(h)
        high = min(low + 1, len(ordered) - 1)
        out.append(ordered[low] + (h - low) * (ordered[high] - ordered[low]))
    return out[0], out[1], out[2]


def test_lead_times_agree_with_a_walk_through_every_history(demo_db):
    """Each stay in a phase that ended in the period, found by walking every trajectory's
    state changes in order here, gives the statistics' counts and quartiles."""
    from mda.stats import aggregates
    from mda.stats.disclosure import TOTAL
    from mda.stats.periods import Period
    from mda.vocabulary import STATE_PHASE

    engine, _result = demo_db
    phase_of = {state.value: phase.value for state, phase in STATE_PHASE.items()}
    with Session(engine) as session:
        regions = aggregates.region_codes(session)
        region_of = dict(session.execute(select(Trajectory.id, Trajectory.region_code)).all())
        changes = session.execute(
            select(TrajectoryEvent.trajectory_id, TrajectoryEvent.at, TrajectoryEvent.to_state)
            .where(TrajectoryEvent.to_state.is_not(None))
            .order_by(TrajectoryEvent.trajectory_id, TrajectoryEvent.seq)
        ).all()
        for label in ("2025-H2", "2026-05", "2026-10"):
            period = Period.parse(label)
            stays: dict[tuple[str, str], list[float]] = {}
            entered: tuple[int, str, datetime] | None = None
            for trajectory_id, moment, state in changes:
                moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
                phase = phase_of[state]
                if entered and entered[0] == trajectory_id and entered[1] == phase:
                    continue  # still in the same phase
                ends_stay = entered and entered[0] == trajectory_id and entered[1] != "closed"
                if ends_stay and period.start <= moment < period.end:
                    days = (moment - entered[2]).total_seconds() / 86400
                    for area in (region_of[trajectory_id], TOTAL):
                        stays.setdefault((area, entered[1]), []).append(days)
                entered = (trajectory_id, phase, moment)
            expected = {key: (len(v), *_quartiles(v)) for key, v in stays.items()}
            found = aggregates.lead_times_of(session, period, regions)
            assert set(found) == set(expected), label
            for key, (n, *quartiles) in expected.items():
                assert found[key][0] == n, (label, key)
                assert found[key][1:] == pytest.approx(quartiles, abs=1e-6), (label, key)
            assert len(expected) > 4, label
