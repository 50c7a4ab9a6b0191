"""Shared fixtures: app, client, runner, and a database per backend with per-test isolation.

Database tests run on both SQLite and a real PostgreSQL (started on loopback by the
fixtures). The schema is built by running the migrations, never by ``create_all``. Each test
runs inside an outer transaction that is rolled back at the end; the services' own commits
become savepoints inside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from config import TestingConfig
from mda import create_app
from mda.dbtools import load_reference_data, upgrade_connection
from mda.extensions import db as database
from mda.extensions import make_engine
from mda.services.settings import Settings, use_settings
from tests.support.servers import (
    PostgresServer,
    RedisServer,
    start_postgres,
    start_redis,
    unavailable,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# --- servers ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get("MDA_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer(url=url)
        return
    try:
        server = start_postgres()
    except Exception as exc:
        unavailable(f"PostgreSQL could not be started: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    url = os.environ.get("MDA_TEST_REDIS_URL")
    if url:
        yield RedisServer(url=url)
        return
    try:
        server = start_redis()
    except Exception as exc:
        unavailable(f"Redis could not be started: {exc}")
    yield server
    server.stop()


# --- migrated databases -----------------------------------------------------------------


def migrate(engine: Engine) -> None:
    with engine.begin() as connection:
        upgrade_connection(connection)
    with Session(engine) as session:
        load_reference_data(session)
        session.commit()


def fresh_postgres_database(server: PostgresServer, name: str) -> Engine:
    """An empty database ``name`` on the test server (dropped first if it exists)."""
    admin = make_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = make_engine(server.url)
    url = base.url.set(database=name)
    base.dispose()
    return make_engine(url.render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("sqlite") / "mda-test.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine(postgres_server: PostgresServer) -> Iterator[Engine]:
    engine = fresh_postgres_database(postgres_server, f"mda_test_{os.getpid()}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{backend}_engine")


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session whose commits are savepoints inside the test's outer transaction."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as sess:
        use_settings(sess, TEST_SETTINGS)
        yield sess


@pytest.fixture(autouse=True)
def _fresh_working_day_calendar() -> Iterator[None]:
    """Each test starts from the shipped decree days: a test's calendar change is rolled back
    with its transaction, and so must be this process's cached copy of the calendar."""
    from mda.services import workdays

    workdays.invalidate()
    yield
    workdays.invalidate()


# The services' settings in tests: the defaults of DESIGN.md and the testing pseudonym key.
TEST_SETTINGS = Settings.from_config({"PSEUDONYM_KEY": TestingConfig.PSEUDONYM_KEY})


# --- the app ----------------------------------------------------------------------------


def make_test_app(database_url: str = "sqlite://", **overrides: Any) -> Flask:
    config = {"ENV_NAME": "testing", "DATABASE_URL": database_url, **overrides}
    return create_app(config)


@pytest.fixture
def app(engine: Engine, connection: Connection, tmp_path: Any) -> Iterator[Flask]:
    app = make_test_app(url_of(engine), INSTANCE_PATH=str(tmp_path / "instance"))
    # The app's sessions join the test's outer transaction, like the ``session`` fixture.
    database.state(app).session_factory.configure(
        bind=connection, join_transaction_mode="create_savepoint"
    )
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()
