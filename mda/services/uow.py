"""The unit of work: one commit point per use case, and tasks sent only after that commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mda.services.errors import Conflict, DomainError

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
        yield session
        if depth == 0:
            session.commit()
    except StaleDataError as exc:
        if depth == 0:
            _rollback(session)
        raise Conflict(
            "This record was changed by someone else in the meantime; reload and try again."
        ) from exc
    except DomainError as exc:
        if depth == 0:
            _rollback(session)
            if exc.audit is not None:
                session.add(exc.audit)
                session.commit()
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


def _rollback(session: Session) -> None:
    session.info.pop(_AFTER, None)
    session.rollback()


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` (typically ``task.delay(id)``) after the use case has committed."""
    session.info.setdefault(_AFTER, []).append(callback)
