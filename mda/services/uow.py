"""The unit of work: one commit point per use case, and tasks sent only after that commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mda.services.errors import Busy, Conflict, DomainError
from mda.services.messages import msg

_DEPTH = "mda.uow_depth"
_AFTER = "mda.after_commit"


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Run a use case in one transaction: commit at the outermost exit, roll back on error.

    A nested ``unit_of_work`` on the same session is a no-op, so one service can call
    another. A stale-version flush becomes a :class:`Conflict`. Callbacks registered with
    :func:`after_commit` run only once the outermost commit has succeeded.
    """
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        if depth == 0:
            begin_for_write(session)
        yield session
        if depth == 0:
            session.commit()
    except OperationalError as exc:
        if depth == 0:
            _rollback(session)
        if is_lock_timeout(exc):
            raise Busy() from exc
        raise
    except StaleDataError as exc:
        if depth == 0:
            _rollback(session)
        raise Conflict(
            msg("This record was changed by someone else in the meantime; reload and try again.")
        ) from exc
    except DomainError as exc:
        if depth == 0:
            _rollback(session)
            if exc.audit is not None:
                _record_refusal(session, exc.audit)
        raise
    except BaseException:
        if depth == 0:
            _rollback(session)
        raise
    finally:
        session.info[_DEPTH] = depth
    if depth == 0:
        callbacks = session.info.pop(_AFTER, [])
        for callback in callbacks:
            callback()


def begin_for_write(session: Session) -> None:
    """Start the use case's transaction so that its writes cannot be refused half-way.

    On SQLite (the embedded default) a transaction that reads first and writes later is
    refused at once when another writer got in between; ``BEGIN IMMEDIATE`` takes the write
    lock up front and waits for it (``busy_timeout``), so writers queue instead of failing.
    A read-only transaction the request already has open (loading the signed-in user) is
    ended first; it holds no changes. PostgreSQL needs nothing: its row locks and the version
    check turn a race into a :class:`Conflict`.
    """
    from mda.extensions import SQLITE_BEGIN

    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            return  # pending changes belong to the caller; leave its transaction alone
        session.commit()
    session.connection(execution_options={SQLITE_BEGIN: "immediate"})


def is_lock_timeout(exc: OperationalError) -> bool:
    """SQLite's 'database is locked' after the busy timeout ran out."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text


def _record_refusal(session: Session, entry: object) -> None:
    """Keep the access-log entry of a refused attempt, in a transaction of its own."""
    try:
        begin_for_write(session)
        session.add(entry)
        session.commit()
    except OperationalError as exc:
        _rollback(session)
        if is_lock_timeout(exc):
            raise Busy() from exc
        raise


def _rollback(session: Session) -> None:
    session.info.pop(_AFTER, None)
    session.rollback()


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` (typically ``task.delay(id)``) after the use case has committed."""
    session.info.setdefault(_AFTER, []).append(callback)
