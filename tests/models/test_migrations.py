"""The migrations are the schema: one head, and exactly the models' schema on both backends."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from mda.dbtools import alembic_config, heads, upgrade_connection
from mda.extensions import make_engine
from mda.models import AccessLogEntry, Base, DeadlineRule, Region
from mda.services.audit import log_access
from mda.services.context import Actor
from mda.vocabulary import AccessAction
from tests.conftest import fresh_postgres_database


def test_single_head():
    assert len(heads()) == 1


def _drift(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    else:
        engine = fresh_postgres_database(
            request.getfixturevalue("postgres_server"), "mda_migration_check"
        )
    yield engine
    engine.dispose()


def test_upgrade_on_empty_database_gives_exactly_the_models(empty_engine):
    assert inspect(empty_engine).get_table_names() == []
    with empty_engine.begin() as conn:
        upgrade_connection(conn)
    assert _drift(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_base_and_back(empty_engine):
    url = empty_engine.url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(alembic_config(url), "head")
    assert _drift(empty_engine) == []


def test_reference_data_is_loaded(session):
    assert session.scalar(select(func.count()).select_from(Region)) == 28
    assert session.scalar(select(func.count()).select_from(DeadlineRule)) == 9
    utrecht = session.get(Region, "UTR")
    assert utrecht.name == "Utrecht"
    assert [b.block for b in utrecht.building_blocks] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "statement", ["UPDATE access_log SET username = 'x'", "DELETE FROM access_log"]
)
def test_access_log_is_append_only_in_the_database(session, statement):
    log_access(session, Actor.system("cli"), AccessAction.READ, "trajectory", 1, 1)
    session.flush()
    assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == 1
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))


def test_migration_0002_keeps_only_the_oldest_open_deadline_of_a_kind(session):
    """Duplicates an older version left would stop the unique index: 0002 cancels them first."""
    import importlib.util
    from pathlib import Path

    from mda.models import Deadline
    from mda.vocabulary import DeadlineKind, DeadlineStatus, Role
    from tests.support import factories

    path = Path(__file__).parents[2] / "mda/migrations/versions/0002_calendar_and_deadlines.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    trajectory = factories.trajectory(session, coordinator)
    first = session.scalars(select(Deadline).where(Deadline.trajectory_id == trajectory.id)).one()
    # The database of before 0002, inside this test's transaction (rolled back after it).
    session.execute(text("DROP INDEX uq_deadlines_one_open"))
    for _ in range(2):
        session.add(
            Deadline(
                trajectory_id=trajectory.id,
                region_code="UTR",
                kind=DeadlineKind.SCREENING_DUE,
                status=DeadlineStatus.OPEN,
                opened_at=first.opened_at,
                due_at=first.due_at,
            )
        )
    session.flush()
    session.execute(text(migration.CANCEL_DUPLICATES))
    session.expire_all()
    rows = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id).order_by(Deadline.id)
    ).all()
    assert [r.status for r in rows] == [
        DeadlineStatus.OPEN,
        DeadlineStatus.CANCELLED,
        DeadlineStatus.CANCELLED,
    ]
    assert rows[1].closed_at is not None and rows[1].next_action_at is None
