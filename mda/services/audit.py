"""Writing the access log. Every read, search, create, change and export of a trajectory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import cast as type_cast

from sqlalchemy import JSON, Integer, String, Table, cast, func, insert, literal, select, union_all
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


_TABLE = type_cast(Table, AccessLogEntry.__table__)
#: The columns :func:`log_shown` writes (all but the id).
_INSERTED = tuple(c.key for c in _TABLE.columns if c.key != "id")


def log_shown(
    session: Session,
    actor: Actor,
    search: dict[str, Any],
    shown: Sequence[int],
    details: dict[str, Any],
) -> None:
    """Log a page of search results: the search (``search`` its details), and one row per
    trajectory it showed (``shown``, each with ``details``), so "who saw trajectory X" is
    answered by its id.

    One ``INSERT ... SELECT``: the search's row, and the shown ones made by the database from
    the ids passed as one JSON array (``json_each`` on SQLite, ``json_array_elements_text`` on
    PostgreSQL). A page of 50 is one statement with 13 parameters, not 51 rows of 11 built,
    converted and sent one by one. They share one moment, and commit or roll back with the
    current unit of work like :func:`log_access`.
    """
    at = settings_of(session).now()

    def one_row(values: dict[str, Any], **expressions: Any) -> Any:
        """A SELECT of one access-log row: ``values`` as parameters of their column's type,
        ``expressions`` (the shown trajectory's id) as SQL."""
        given = {"at": at, **values}
        return select(
            *(
                expressions[name] if name in expressions
                else literal(given[name], _TABLE.c[name].type)
                for name in _INSERTED
            )
        )  # fmt: skip

    parts = [one_row(access_values(actor, AccessAction.SEARCH, "trajectory", details=search))]
    if shown:
        ids = literal([int(i) for i in shown], JSON())
        if session.get_bind().dialect.name == "postgresql":
            elements = func.json_array_elements_text(ids).table_valued("value")
        else:
            elements = func.json_each(ids).table_valued("value")
        trajectory_id = cast(elements.c.value, Integer)
        values = access_values(actor, AccessAction.SEARCH, "trajectory", details=details)
        parts.append(
            one_row(
                values, object_id=cast(trajectory_id, String), trajectory_id=trajectory_id
            ).select_from(elements)
        )
    session.execute(insert(_TABLE).from_select(list(_INSERTED), union_all(*parts)))
