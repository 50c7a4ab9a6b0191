"""The coordinator's worklist: open trajectories of their regions, earliest due first.

DESIGN.md section 2: a coordinator works from a worklist of due and overdue deadlines, of
their own region(s) only. The order is the earliest open deadline's due moment (overdue ones
come first by themselves), trajectories without an open deadline last, then the id; pages
follow each other by keyset (an opaque cursor), never by offset.

It stays fast however many trajectories there are: the earliest open deadline is kept on the
trajectory row (``next_due_at``, ``next_due_kind``, see
:func:`mda.services.deadlines.track_next_due`) and the index ``ix_trajectories_worklist``
holds ``(region_code, next_due_at, id)`` of open trajectories, so a page is an index range
per region, whatever the region's size. The pseudonym search is a range on the pseudonym's
unique index (with ``LIKE`` as the exact test), which an index serves under any collation.
Nothing here reads ``deadlines``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    false,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from mda.models import Region, Trajectory, User
from mda.models.base import UTCDateTime
from mda.services.audit import log_shown
from mda.services.authz import require_region, require_role
from mda.services.context import Actor
from mda.services.errors import ValidationError, parse_enum
from mda.services.messages import msg, term
from mda.services.settings import settings_of
from mda.services.trajectories._common import MAX_PER_PAGE
from mda.services.uow import unit_of_work
from mda.vocabulary import STATE_PHASE, DeadlineKind, Phase, Role, TrajectoryState


@dataclass(frozen=True)
class WorklistFilters:
    state: TrajectoryState | None = None
    phase: Phase | None = None
    region: str | None = None  # one of the actor's regions; None: all of them
    mine: bool = False  # only trajectories whose coordinator is the actor
    overdue: bool = False  # only those with an open deadline past due
    pseudonym: str | None = None  # the pseudonym code or a prefix of it (case/dashes ignored)


@dataclass(frozen=True)
class WorklistRow:
    trajectory_id: int
    pseudonym: str
    region_code: str
    state: TrajectoryState
    phase: Phase
    coordinator_name: str | None
    version: int
    next_deadline_kind: DeadlineKind | None  # the earliest open deadline
    next_due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class WorklistPage:
    rows: list[WorklistRow]
    next_cursor: str | None  # opaque keyset cursor for the next page, None on the last
    total: int  # open trajectories matching the filters (the actor's regions only)


#: Crockford's base32 as the pseudonyms are written (mda.services.pseudonyms), and the
#: letters read for its digits.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_CODE_LENGTH = 12
_GROUP = 4

# The columns a row needs; nothing else of the trajectory is read.
_COLUMNS = (
    Trajectory.id,
    Trajectory.pseudonym,
    Trajectory.region_code,
    Trajectory.state,
    Trajectory.coordinator_id,
    Trajectory.version,
    Trajectory.next_due_kind,
    Trajectory.next_due_at,
)
# The coordinator's name, joined to each row of the page (no query of its own).
_COORDINATOR_NAME = User.username.label("coordinator_name")


def worklist(
    session: Session,
    actor: Actor,
    filters: WorklistFilters = WorklistFilters(),
    *,
    cursor: str | None = None,
    per_page: int = 50,
) -> WorklistPage:
    """A page of the actor's worklist; every trajectory shown is logged (a search)."""
    now = settings_of(session).now()
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        if isinstance(per_page, bool) or not isinstance(per_page, int):
            raise ValidationError(
                msg("%(field)s must be a whole number.", field=term("field", "per_page")),
                {"per_page": per_page},
            )
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValidationError(
                msg(
                    "%(field)s must be between 1 and %(most)s.",
                    field=term("field", "per_page"),
                    most=MAX_PER_PAGE,
                ),
                {"per_page": per_page},
            )
        regions = _regions(session, actor, filters.region)
        after = _decode(cursor) if cursor else None
        conditions = _conditions(actor, filters)
        if filters.overdue:
            conditions.append(Trajectory.next_due_at < literal(now, UTCDateTime()))
        prefix = _pseudonym_prefix(filters.pseudonym)
        if prefix is not None:
            conditions.extend(_prefix_conditions(prefix))

        found: list[Any] = []
        if regions:
            found = _page(session, regions, conditions, after, per_page + 1, filters.overdue)
        more = len(found) > per_page
        found = found[:per_page]
        next_cursor = _encode(found[-1].next_due_at, found[-1].id) if more else None
        total = (
            session.scalar(
                select(func.count())
                .select_from(Trajectory)
                .where(Trajectory.region_code.in_(regions), *conditions)
            )
            if regions
            else 0
        ) or 0
        rows = [
            WorklistRow(
                trajectory_id=r.id,
                pseudonym=r.pseudonym,
                region_code=r.region_code,
                state=r.state,
                phase=STATE_PHASE[r.state],
                coordinator_name=r.coordinator_name,
                version=r.version,
                next_deadline_kind=r.next_due_kind,
                next_due_at=r.next_due_at,
                overdue=r.next_due_at is not None and r.next_due_at < now,
            )
            for r in found
        ]
        _log(session, actor, filters, prefix, cursor, rows, total)
        return WorklistPage(rows=rows, next_cursor=next_cursor, total=total)


# --- who sees which regions -------------------------------------------------------------


def _regions(session: Session, actor: Actor, wanted: str | None) -> list[str]:
    """The regions to show: the one asked for (one of the actor's), or all the actor's."""
    if wanted is not None:
        code = wanted.strip().upper()
        # The same refusal whether the region exists or not: nothing leaks.
        require_region(actor, code)
        return [code]
    if actor.is_system:
        return sorted(session.scalars(select(Region.code)))
    return sorted(actor.region_codes)


def _conditions(actor: Actor, filters: WorklistFilters) -> list[ColumnElement[bool]]:
    """The filters as SQL, all but the region and the order's own bounds."""
    conditions: list[ColumnElement[bool]] = [_open()]
    if filters.state is not None:
        conditions.append(Trajectory.state == parse_enum(TrajectoryState, filters.state, "state"))
    if filters.phase is not None:
        phase = parse_enum(Phase, filters.phase, "phase")
        states = [s for s, p in STATE_PHASE.items() if p is phase]
        conditions.append(Trajectory.state.in_(states))
    if filters.mine:
        conditions.append(
            false() if actor.user_id is None else Trajectory.coordinator_id == actor.user_id
        )
    return conditions


def _open() -> ColumnElement[bool]:
    # The predicate of the partial index ix_trajectories_worklist (models.trajectory's
    # OPEN_PREDICATE) with its literal: a parameter in its place would keep PostgreSQL's
    # generic plans (prepared statements) from using the index.
    return Trajectory.state != literal_column("'closed'")


# --- the pseudonym search ---------------------------------------------------------------


def _pseudonym_prefix(search: str | None) -> str | None:
    """The search as the start of a pseudonym code ("k7qm3x" -> "K7QM-3X"), or None."""
    if search is None:
        return None
    letters = "".join(search.split()).replace("-", "").upper().translate(_READ_AS)
    if not letters:
        return None
    if len(letters) > _CODE_LENGTH or any(c not in _ALPHABET for c in letters):
        raise ValidationError(
            msg(
                "A pseudonym is %(length)s letters and digits like K7QM-3XZP-A2RT; search by "
                "the code or its beginning.",
                length=_CODE_LENGTH,
            ),
            {"pseudonym": "the code or its beginning"},
        )
    groups = [letters[i : i + _GROUP] for i in range(0, len(letters), _GROUP)]
    return "-".join(groups)


def _prefix_conditions(prefix: str) -> list[ColumnElement[bool]]:
    """Codes starting with ``prefix``: a range an index serves, and LIKE as the exact test.

    The upper bound is the prefix with its last letter moved to the next letter of the
    alphabet (carrying over a Z), so the range holds in byte order and in a language's
    collation alike (both put digits before letters); LIKE, byte by byte, decides.
    """
    conditions: list[ColumnElement[bool]] = [
        Trajectory.pseudonym >= prefix,
        Trajectory.pseudonym.like(prefix + "%"),
    ]
    upper = _next_prefix(prefix)
    if upper is not None:
        conditions.append(Trajectory.pseudonym < upper)
    return conditions


def _next_prefix(prefix: str) -> str | None:
    chars = list(prefix)
    while chars:
        last = chars.pop()
        if last == "-":
            continue
        position = _ALPHABET.index(last)
        if position + 1 < len(_ALPHABET):
            return "".join(chars) + _ALPHABET[position + 1]
    return None  # all Z: nothing sorts after it


# --- the page, by keyset ----------------------------------------------------------------


def _page(
    session: Session,
    regions: Sequence[str],
    conditions: list[ColumnElement[bool]],
    after: tuple[datetime | None, int] | None,
    limit: int,
    overdue_only: bool,
) -> list[Any]:
    """Up to ``limit`` rows after the cursor: first those with a due moment, then the rest."""
    found: list[Any] = []
    due_after, id_after = after if after is not None else (None, None)
    if after is None or due_after is not None:
        dated = [*conditions, Trajectory.next_due_at.is_not(None)]
        if due_after is not None and id_after is not None:
            dated.append(
                tuple_(Trajectory.next_due_at, Trajectory.id)
                > tuple_(literal(due_after, UTCDateTime()), literal(id_after, Integer))
            )
        found = _ordered(session, regions, dated, (Trajectory.next_due_at, Trajectory.id), limit)
    if len(found) < limit and not overdue_only:
        undated = [*conditions, Trajectory.next_due_at.is_(None)]
        if after is not None and due_after is None:
            undated.append(Trajectory.id > literal(id_after, Integer))
        found += _ordered(session, regions, undated, (Trajectory.id,), limit - len(found))
    return found


def _ordered(
    session: Session,
    regions: Sequence[str],
    conditions: list[ColumnElement[bool]],
    order: tuple[Any, ...],
    limit: int,
) -> list[Any]:
    """The first ``limit`` rows by ``order``: one index range per region, merged."""

    def one(region: str) -> Any:
        return (
            select(*_COLUMNS, _COORDINATOR_NAME)
            .outerjoin(User, User.id == Trajectory.coordinator_id)
            .where(Trajectory.region_code == region, *conditions)
            .order_by(*order)
            .limit(limit)
        )

    if len(regions) == 1:
        return list(session.execute(one(regions[0])))
    parts = [select(*one(r).subquery().c) for r in regions]
    merged = union_all(*parts).subquery()
    keys = [merged.c[column.key] for column in order]
    return list(session.execute(select(*merged.c).order_by(*keys).limit(limit)))


def _encode(due: datetime | None, trajectory_id: int) -> str:
    data = {"d": None if due is None else due.isoformat(), "i": trajectory_id}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        trajectory_id, due = data["i"], data["d"]
        if isinstance(trajectory_id, bool) or not isinstance(trajectory_id, int):
            raise ValueError("id")
        if trajectory_id < 0 or trajectory_id > 2**63 - 1:
            raise ValueError("id")
        moment = None if due is None else datetime.fromisoformat(due)
        if moment is not None and moment.tzinfo is None:
            raise ValueError("naive")
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ValidationError(
            msg("The cursor is not one this worklist gave; start again from the first page."),
            {"cursor": "not a cursor of this worklist"},
        ) from None
    return moment, trajectory_id


# --- names and the log ------------------------------------------------------------------


def _log(
    session: Session,
    actor: Actor,
    filters: WorklistFilters,
    prefix: str | None,
    cursor: str | None,
    rows: list[WorklistRow],
    total: int,
) -> None:
    """As the trajectory list logs: the search, and one entry per trajectory it showed."""
    criteria = {
        "worklist": True,
        "state": None if filters.state is None else str(filters.state),
        "phase": None if filters.phase is None else str(filters.phase),
        "region": filters.region,
        "mine": filters.mine,
        "overdue": filters.overdue,
        "pseudonym": prefix,
        "next_page": cursor is not None,
    }
    log_shown(
        session,
        actor,
        {**criteria, "results": len(rows), "total": total},
        [row.trajectory_id for row in rows],
        {"by": "worklist", **criteria},
    )
