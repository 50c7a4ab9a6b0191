"""Extensions, created once and bound to an app with ``init_app``; no I/O at import time."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

#: How long a SQLite writer waits for the lock before its use case answers "busy" (503).
SQLITE_BUSY_TIMEOUT_MS = 30_000


def sqlite_pragmas(
    dbapi_connection: Any, _record: Any, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> None:
    """Foreign keys on, WAL for concurrent readers, and a wait instead of 'database is locked'."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Execution option asking SQLite for the write lock when the transaction begins.
SQLITE_BEGIN = "mda_sqlite_begin"


def _sqlite_begin(connection: Any) -> None:
    # A use case that writes starts with BEGIN IMMEDIATE (see mda.services.uow): in WAL mode a
    # deferred transaction that reads and then writes is refused at once ("database is locked")
    # when another writer got in first, and busy_timeout cannot help it; BEGIN IMMEDIATE waits
    # for the lock instead. Reads keep plain BEGIN and stay concurrent.
    immediate = connection.get_execution_options().get(SQLITE_BEGIN) == "immediate"
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(
    url: str,
    echo: bool = False,
    *,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **options: Any,
) -> Engine:
    """An engine with the settings mda relies on for each backend.

    SQL parameters are kept out of error messages and logs (``hide_parameters``): they can hold
    free text about a household.
    """
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            options.setdefault("poolclass", StaticPool)
            options.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, echo=echo, **options)
        event.listen(
            engine,
            "connect",
            lambda conn, record: sqlite_pragmas(conn, record, sqlite_busy_timeout_ms),
        )
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over,
        # as SQLAlchemy's SQLite documentation recommends.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, echo=echo, **options)


class _DatabaseState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session_factory = sessionmaker(bind=engine, expire_on_commit=False)


class Database:
    """Engine per app, one session per app context, removed when the context ends."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], echo=bool(app.config.get("DATABASE_ECHO")))
        app.extensions["mda.db"] = _DatabaseState(engine)
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def state(app: Flask | None = None) -> _DatabaseState:
        return (app or current_app).extensions["mda.db"]

    @property
    def engine(self) -> Engine:
        return self.state().engine

    @property
    def session(self) -> Session:
        if "_mda_session" not in g:
            g._mda_session = self.new_session()
        return g._mda_session

    def new_session(self, app: Flask | None = None) -> Session:
        """A session outside the request's own (threads, scripts); the caller closes it.

        It carries the app's settings for the services (:mod:`mda.services.settings`), read
        from the configuration as it is now.
        """
        from mda.services.settings import Settings, use_settings

        app = app or current_app
        return use_settings(self.state(app).session_factory(), Settings.from_config(app.config))

    @staticmethod
    def _remove_session(_exc: BaseException | None) -> None:
        session = g.pop("_mda_session", None)
        if session is not None:
            session.close()


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
