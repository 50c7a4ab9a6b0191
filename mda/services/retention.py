"""Retention (DESIGN.md section 6): closed trajectories reduced, the access log pruned.

A trajectory closed more than ``MDA_RETENTION_YEARS`` ago keeps only what the statistics
need: region, referral source, violence types, children bucket, its states and dates, closure
reason, the measurements' levels and scores. Its free text goes: every event's ``reason`` and
the free-text paths of its ``data``, the checklist details, the suspension reason and
``referred_back_to``. Its pseudonym is replaced by random values (key version 0), so the
source reference no longer finds it and no pseudonym key is needed for it any more.

Access-log rows older than ``MDA_ACCESS_LOG_RETENTION_YEARS`` are deleted.

The database triggers on ``trajectory_events`` and ``access_log`` permit exactly these
changes and nothing else (migration 0004_retention), and never for anything younger than a
year. The run works in batches, each batch one unit of work, and is idempotent: a redacted
trajectory or a deleted row is not touched again, and a run cut short resumes where it was.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mda.models import AccessLogEntry, ChecklistItem, Trajectory, TrajectoryEvent
from mda.services.audit import log_access
from mda.services.context import Actor
from mda.services.pseudonyms import UNLINKED_VERSION, short_code
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction, TrajectoryState

# Paths in an event's ``data`` that hold free text. Migration 0004_retention's trigger holds a
# frozen copy: adding a path here needs a migration that widens the trigger.
FREE_TEXT_DATA_PATHS: tuple[tuple[str, ...], ...] = (("params", "referred_back_to"),)
# The database refuses redaction and deletion of anything younger than this.
MINIMUM_YEARS = 1
BATCH_SIZE = 200


@dataclass(frozen=True)
class RetentionResult:
    trajectories: int = 0  # reduced to coarse attributes in this run
    events: int = 0  # events whose free text was removed
    access_log: int = 0  # access-log rows deleted


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def reduce_event_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` without its free-text paths (a copy; other keys keep their order)."""
    reduced = copy.deepcopy(data or {})
    for path in FREE_TEXT_DATA_PATHS:
        node: Any = reduced
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return reduced


def _check_years(name: str, years: int) -> int:
    years = int(years)
    if years < MINIMUM_YEARS:
        raise ValueError(f"{name} must be at least {MINIMUM_YEARS} year(s), not {years}")
    return years


def run_retention(
    session: Session,
    *,
    retention_years: int,
    access_log_years: int,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    actor: Actor | None = None,
) -> RetentionResult:
    """Reduce closed trajectories past their retention and prune the access log."""
    retention_years = _check_years("MDA_RETENTION_YEARS", retention_years)
    access_log_years = _check_years("MDA_ACCESS_LOG_RETENTION_YEARS", access_log_years)
    now = now or settings_of(session).now()
    actor = actor or Actor.system("worker")
    cutoff = years_before(now, retention_years)
    trajectories = events = 0
    while True:
        with unit_of_work(session):
            done, changed = _reduce_batch(session, actor, cutoff, now, batch_size)
        trajectories += done
        events += changed
        if done < batch_size:
            break
    pruned = prune_access_log(session, years=access_log_years, now=now, batch_size=batch_size)
    return RetentionResult(trajectories, events, pruned)


def _reduce_batch(
    session: Session, actor: Actor, cutoff: datetime, now: datetime, batch_size: int
) -> tuple[int, int]:
    batch = list(
        session.scalars(
            select(Trajectory)
            .where(
                Trajectory.state == TrajectoryState.CLOSED,
                Trajectory.closed_at.is_not(None),
                Trajectory.closed_at <= cutoff,
                Trajectory.redacted_at.is_(None),
            )
            .order_by(Trajectory.id)
            .limit(batch_size)
        )
    )
    if not batch:
        return 0, 0
    ids = [trajectory.id for trajectory in batch]
    for trajectory in batch:
        trajectory.suspension_reason = None
        trajectory.suspended_at = None
        trajectory.referred_back_to = None
        # Unlinked: random values in the same shape, so pages still show a code.
        trajectory.pseudonym_hash = secrets.token_hex(32)
        trajectory.pseudonym = short_code(secrets.token_bytes(10))
        trajectory.key_version = UNLINKED_VERSION
        trajectory.redacted_at = now
        log_access(
            session,
            actor,
            AccessAction.CHANGE,
            "trajectory",
            trajectory.id,
            trajectory.id,
            {"change": "retention", "reduced": True},
        )
    session.flush()  # the trajectory rows first: the event trigger reads them
    session.execute(
        update(ChecklistItem).where(ChecklistItem.trajectory_id.in_(ids)).values(details=None)
    )
    changed = 0
    for event in session.scalars(
        select(TrajectoryEvent).where(
            TrajectoryEvent.trajectory_id.in_(ids), TrajectoryEvent.redacted_at.is_(None)
        )
    ):
        event.reason = None
        event.data = reduce_event_data(event.data)
        event.redacted_at = now
        changed += 1
    session.flush()
    return len(batch), changed


def prune_access_log(
    session: Session, *, years: int, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Delete access-log rows older than ``years``; return how many went."""
    years = _check_years("MDA_ACCESS_LOG_RETENTION_YEARS", years)
    cutoff = years_before(now or settings_of(session).now(), years)
    total = 0
    while True:
        with unit_of_work(session):
            ids = list(
                session.scalars(
                    select(AccessLogEntry.id)
                    .where(AccessLogEntry.at < cutoff)
                    .order_by(AccessLogEntry.id)
                    .limit(batch_size)
                )
            )
            if ids:
                session.execute(
                    delete(AccessLogEntry)
                    .where(AccessLogEntry.id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
        total += len(ids)
        if len(ids) < batch_size:
            return total
