"""Writing the access log. Every read, search, create, change and export of a trajectory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from mda.models import AccessLogEntry
from mda.services.context import Actor
from mda.services.settings import settings_of
from mda.vocabulary import AccessAction


def access_values(
    actor: Actor,
    action: AccessAction,
    object_type: str,
    object_id: object | None = None,
    trajectory_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of an access-log row for ``actor`` doing ``action`` (all but ``id``
    and ``at``): for a Core INSERT, which needs no ORM object built and read back."""
    return {
        "user_id": actor.user_id,
        "username": actor.username,
        "on_behalf_of": actor.on_behalf_of,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "trajectory_id": trajectory_id,
        "channel": actor.channel,
        "remote_addr": actor.remote_addr,
        "details": details or {},
    }


def access_entry(
    actor: Actor,
    action: AccessAction,
    object_type: str,
    object_id: object | None = None,
    trajectory_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """An access-log row for ``actor`` doing ``action``; the caller adds it to a session."""
    return AccessLogEntry(
        **access_values(actor, action, object_type, object_id, trajectory_id, details)
    )


def log_access(
    session: Session,
    actor: Actor,
    action: AccessAction,
    object_type: str,
    object_id: object | None = None,
    trajectory_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Add an access-log row to the current unit of work (it commits with the use case)."""
    entry = access_entry(actor, action, object_type, object_id, trajectory_id, details)
    session.add(entry)
    return entry


_TABLE = cast(Table, AccessLogEntry.__table__)


def log_accesses(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Write many access-log rows (a page of search results) in one multi-row INSERT.

    ``entries`` are :func:`access_values` (no ORM object is built for a row only written).
    They share one moment. Written at once in the current unit of work, they commit or roll
    back with it like :func:`log_access`.
    """
    if not entries:
        return
    at = settings_of(session).now()
    session.execute(
        insert(_TABLE),  # Core: every row the same columns, one statement
        [{"at": at, **entry} for entry in entries],
    )
