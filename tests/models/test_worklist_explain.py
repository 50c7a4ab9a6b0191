"""The worklist, the trajectory read and the sweep are served by indexes on PostgreSQL.

A database of its own gets 20,000 trajectories in each of eight regions (a tenth closed, some
without an open deadline), their deadlines, events, checklist items, measurements and
access-log rows, and ``ANALYZE``. The statements the services really issue (captured as they
go to the driver, with their parameters) are then EXPLAINed: no ``Seq Scan`` on any of those
tables. The worklist page is read from ``ix_trajectories_worklist`` in its order, the pseudonym
search from the pseudonym's unique index; dropping either index makes these tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from mda.models import Trajectory, User
from mda.services.settings import use_settings
from mda.services.worklist import WorklistFilters, _encode, worklist
from tests.conftest import TEST_SETTINGS, fresh_postgres_database, migrate
from tests.support import factories

pytestmark = pytest.mark.postgres

PER_REGION = 20_000
# Eight of the 28 regions, so one or two regions are the small share of the table they are
# in production (where a whole-table scan would never pay).
REGIONS = ("UTR", "AMA", "ARA", "BZO", "DRE", "FLE", "FRI", "GRO")
WORKLIST_INDEX = "ix_trajectories_worklist"
PSEUDONYM_INDEX = "uq_trajectories_pseudonym"

# 20,000 trajectories in a region: every tenth closed, every twentieth without an open
# deadline, due moments spread from 30 days ago to 100 days ahead.
FILL = """
INSERT INTO trajectories (
    pseudonym_hash, pseudonym, key_version, region_code, state, version, coordinator_id,
    referral_source, violence_types, children, referred_on, next_due_at, next_due_kind,
    created_at, state_entered_at, closed_at, closure_reason, reentries, relapses, updated_at
)
SELECT
    md5(:region || i) || md5(i || :region),
    upper(substr(md5(:region || i), 1, 4) || '-' || substr(md5(:region || i), 5, 4) || '-'
        || substr(md5(:region || i), 9, 4)),
    1, :region,
    CASE WHEN i % 10 = 0 THEN 'closed' WHEN i % 3 = 0 THEN 'immediate_safety'
        ELSE 'screening' END,
    1, CASE WHEN i % 4 = 0 THEN NULL ELSE :coordinator END,
    'veilig_thuis', '["partner_violence"]', '1', CURRENT_DATE,
    CASE WHEN i % 10 = 0 OR i % 20 = 5 THEN NULL
        ELSE now() + ((i * 7919) % 3120 - 720) * interval '1 hour' END,
    CASE WHEN i % 10 = 0 OR i % 20 = 5 THEN NULL ELSE 'screening_due' END,
    now(), now(),
    CASE WHEN i % 10 = 0 THEN now() END,
    CASE WHEN i % 10 = 0 THEN 'other' END,
    0, 0, now()
FROM generate_series(1, :count) AS i
"""
DEADLINES = """
INSERT INTO deadlines (trajectory_id, region_code, kind, status, opened_at, due_at,
    next_action_at, stage, escalations, version)
SELECT id, region_code, 'screening_due', 'open', created_at, next_due_at, next_due_at, 0, 0, 1
FROM trajectories WHERE next_due_at IS NOT NULL
UNION ALL
SELECT id, region_code, 'screening_due', 'met', created_at, created_at, NULL, 0, 0, 1
FROM trajectories WHERE next_due_at IS NULL
"""


# Two events, two checklist items and (for a third) a measurement per trajectory, and an
# access-log row per event: the tables a trajectory read and a step touch.
HISTORY = [
    """
    INSERT INTO trajectory_events (trajectory_id, seq, at, kind, trigger, from_state,
        to_state, data)
    SELECT id, seq, created_at, 'transition', 'register', NULL, 'referred', '{}'
    FROM trajectories, generate_series(1, 2) AS seq
    """,
    """
    INSERT INTO checklist_items (trajectory_id, key, done, updated_at)
    SELECT id, key, true, created_at
    FROM trajectories, unnest(ARRAY['acute_danger', 'multiple_life_domains']) AS key
    """,
    """
    INSERT INTO safety_measurements (trajectory_id, number, measured_on, violence_level,
        recorded_at)
    SELECT id, 1, referred_on, 'severe', created_at FROM trajectories WHERE id % 3 = 0
    """,
    """
    INSERT INTO access_log (at, action, object_type, object_id, trajectory_id, channel,
        details)
    SELECT at, 'change', 'trajectory', trajectory_id::text, trajectory_id, 'web', '{}'
    FROM trajectory_events
    """,
]
# Tables a trajectory read, a step or the sweep must never read whole.
BIG_TABLES = (
    "trajectories",
    "deadlines",
    "trajectory_events",
    "checklist_items",
    "safety_measurements",
    "access_log",
)


@pytest.fixture(scope="module")
def big_engine(postgres_server) -> Iterator[Engine]:
    engine = fresh_postgres_database(postgres_server, "mda_worklist_explain")
    try:
        fill(engine)
        yield engine
    finally:
        # Also when filling fails: a pool left to the garbage collector warns much later.
        engine.dispose()


def fill(engine: Engine) -> None:
    migrate(engine)
    with Session(engine) as session:
        use_settings(session, TEST_SETTINGS)
        coordinator = factories.user(session, regions=["UTR"], username="explain")
        session.commit()
        for region in REGIONS:
            session.execute(
                text(FILL), {"region": region, "coordinator": coordinator.id, "count": PER_REGION}
            )
        session.execute(text(DEADLINES))
        for statement in HISTORY:
            session.execute(text(statement))
        session.commit()
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


@pytest.fixture
def session(big_engine) -> Iterator[Session]:
    with Session(big_engine, expire_on_commit=False) as session:
        use_settings(session, TEST_SETTINGS)
        yield session


@pytest.fixture
def act(session):
    user = session.scalars(select(User).where(User.username == "explain")).one()
    return factories.actor(user)


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs reading trajectories, as sent to the driver, with their parameters."""
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "trajectories" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def plans(session: Session, statements: list[tuple[str, Any]]) -> list[str]:
    connection = session.connection()
    return [
        "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
        for statement, parameters in statements
    ]


def explain_worklist(session: Session, act, **kwargs: Any) -> tuple[Any, list[str]]:
    with captured(session.get_bind()) as statements:
        page = worklist(session, act, **kwargs)
    assert statements, "the worklist issued no SELECT on trajectories"
    return page, plans(session, statements)


def assert_no_table_scan(plan: str) -> None:
    for table in ("trajectories", "deadlines"):
        assert f"Seq Scan on {table}" not in plan, plan


def test_a_regions_worklist_is_read_in_index_order(session, act):
    page, found = explain_worklist(session, act)
    assert len(page.rows) == 50 and page.total > 15_000
    for plan in found:
        assert_no_table_scan(plan)
    page_plan = found[0]
    assert WORKLIST_INDEX in page_plan, page_plan
    # Read in the index's order: no sort of the region's rows.
    assert "Sort" not in page_plan, page_plan
    # The next page, by keyset, and the filters the start page offers.
    for kwargs in (
        {"cursor": page.next_cursor},
        {"filters": WorklistFilters(overdue=True)},
        {"filters": WorklistFilters(mine=True, region="UTR")},
    ):
        _, found = explain_worklist(session, act, **kwargs)
        for plan in found:
            assert_no_table_scan(plan)
        assert WORKLIST_INDEX in found[0], found[0]


def test_the_last_pages_without_a_deadline_use_the_index_too(session, act):
    last_due = session.scalar(
        select(Trajectory.next_due_at)
        .where(Trajectory.region_code == "UTR", Trajectory.state != "closed")
        .order_by(Trajectory.next_due_at.desc().nulls_last(), Trajectory.id.desc())
        .limit(1)
    )
    last_id = session.scalar(
        select(Trajectory.id)
        .where(Trajectory.region_code == "UTR", Trajectory.next_due_at == last_due)
        .order_by(Trajectory.id.desc())
        .limit(1)
    )
    page, found = explain_worklist(session, act, cursor=_encode(last_due, last_id))
    assert page.rows and all(row.next_due_at is None for row in page.rows)
    for plan in found:
        assert_no_table_scan(plan)


def test_a_several_region_worklist_merges_index_ranges(session):
    both = factories.user(session, regions=["UTR", "AMA"])
    session.commit()
    page, found = explain_worklist(session, factories.actor(both))
    assert {row.region_code for row in page.rows} <= {"UTR", "AMA"}
    for plan in found:
        assert_no_table_scan(plan)
    assert found[0].count(WORKLIST_INDEX) == 2, found[0]


def test_the_pseudonym_search_uses_the_pseudonym_index(session, act):
    code = session.scalar(
        select(Trajectory.pseudonym)
        .where(Trajectory.region_code == "UTR", Trajectory.state != "closed")
        .order_by(Trajectory.id)
        .limit(1)
    )
    for search in (code.replace("-", "")[:6].lower(), code):
        page, found = explain_worklist(session, act, filters=WorklistFilters(pseudonym=search))
        assert code in [row.pseudonym for row in page.rows]
        for plan in found:
            assert_no_table_scan(plan)
            assert PSEUDONYM_INDEX in plan, plan


# --- the trajectory read and the sweep -----------------------------------------------------


@contextmanager
def every_statement(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement sent to the driver that reads or changes rows of the big tables."""
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        plain_insert = verb == "INSERT" and " SELECT " not in statement.upper()
        if executemany or plain_insert or verb not in {"SELECT", "UPDATE", "DELETE", "INSERT"}:
            return
        if any(table in statement for table in BIG_TABLES):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def assert_no_big_table_scan(session: Session, statements: list[tuple[str, Any]]) -> None:
    assert statements, "no statement on the big tables was captured"
    for plan in plans(session, statements):
        for table in BIG_TABLES:
            assert f"Seq Scan on {table}" not in plan, plan


def test_a_trajectory_read_uses_indexes_only(session, act):
    from mda.services.trajectories import get_trajectory
    from mda.web.api.presenters import trajectory_view

    target = session.scalar(
        select(Trajectory.id)
        .where(Trajectory.region_code == "UTR", Trajectory.id % 3 == 0)
        .order_by(Trajectory.id.desc())
        .limit(1)
    )
    with every_statement(session.get_bind()) as statements:
        trajectory = get_trajectory(session, act, target)
        view = trajectory_view(session, act, trajectory)
    assert view["id"] == target and len(view["events"]) == 2 and view["measurements"]
    assert_no_big_table_scan(session, statements)
    session.rollback()


def test_a_sweep_uses_indexes_only(big_engine):
    """One sweep an hour after the earliest due moments: a batch of due rows among 160,000."""
    from datetime import datetime, timedelta

    from mda.services.clock import NL
    from mda.services.sweep import SweepOptions, sweep

    def local_hour(moment: datetime) -> int:
        return moment.astimezone(NL).hour

    with Session(big_engine, expire_on_commit=False) as session:
        earliest = session.scalar(
            text("SELECT min(next_action_at) FROM deadlines WHERE status = 'open'")
        )
        moment = earliest + timedelta(minutes=30)
        use_settings(session, TEST_SETTINGS.at(moment))
        due = session.scalar(
            text("SELECT count(*) FROM deadlines WHERE status = 'open' AND next_action_at <= :at"),
            {"at": moment},
        )
        assert 0 < due < 1_000
        # Not the day's digests: here one coordinator holds 120,000 trajectories, and
        # counting their deadlines rightly reads the table whole. Whether they were due
        # depended on the hour the test ran (the data is laid out from now()); the sweep runs
        # an hour before the digest hour, whatever that is.
        options = SweepOptions(digest_hour=local_hour(moment) + 1)
        with every_statement(big_engine) as statements:
            result = sweep(session, options)
        assert result.claimed == due and result.digests == 0
        assert_no_big_table_scan(session, statements)
