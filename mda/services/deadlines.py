"""Deadline rows (DESIGN.md section 4): opened, met and cancelled by the workflow's changes.

Deadlines are rows, written in the same transaction as the change that opens them, never
long countdown tasks on the broker. ``next_action_at`` is when the sweep (a later worker task)
must look at a row next: the reminder moment before due, or the due moment itself. These
helpers never commit: they run inside the calling service's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Deadline, DeadlineRule, Trajectory
from mda.services.workdays import add_working_days_at, due_moment
from mda.vocabulary import DeadlineKind, DeadlineStatus
from mda.workflows.trajectory import DeadlineChanges


def rule_for(session: Session, kind: DeadlineKind) -> DeadlineRule | None:
    """The configured rule for ``kind`` (loaded from ``deadline_rules``)."""
    return session.get(DeadlineRule, kind)


def next_action(rule: DeadlineRule, due_at: datetime, now: datetime) -> datetime:
    """The reminder moment before ``due_at``, or ``due_at`` when that moment has passed."""
    if rule.remind_before_working_days > 0:
        remind = add_working_days_at(due_at, -rule.remind_before_working_days)
        if remind > now:
            return remind
    return due_at


def open_deadlines(session: Session, trajectory: Trajectory) -> list[Deadline]:
    return list(
        session.scalars(
            select(Deadline)
            .where(Deadline.trajectory_id == trajectory.id, Deadline.status == DeadlineStatus.OPEN)
            .order_by(Deadline.due_at)
        )
    )


def open_deadline(
    session: Session,
    trajectory: Trajectory,
    kind: DeadlineKind,
    start: datetime,
    open_kinds: set[DeadlineKind] | None = None,
) -> Deadline | None:
    """Open a ``kind`` deadline from ``start``; an open one of that kind is kept as it is.

    ``open_kinds``, when the caller has the trajectory's open deadlines at hand, saves the
    query for an existing one.
    """
    rule = rule_for(session, kind)
    if rule is None or not rule.enabled:
        return None
    if open_kinds is None:
        existing = session.scalar(
            select(Deadline.id).where(
                Deadline.trajectory_id == trajectory.id,
                Deadline.kind == kind,
                Deadline.status == DeadlineStatus.OPEN,
            )
        )
        if existing is not None:
            return None
    elif kind in open_kinds:
        return None
    due = due_moment(start, rule.amount, rule.unit)
    deadline = Deadline(
        trajectory_id=trajectory.id,
        region_code=trajectory.region_code,
        kind=kind,
        status=DeadlineStatus.OPEN,
        opened_at=start,
        due_at=due,
        # A suspended trajectory's deadlines wait for the resumption (see ``resume``).
        next_action_at=None if trajectory.suspended_at else next_action(rule, due, start),
    )
    session.add(deadline)
    return deadline


def close_deadlines(
    session: Session,
    trajectory: Trajectory,
    kinds: Iterable[DeadlineKind],
    status: DeadlineStatus,
    now: datetime,
    actor_id: int | None,
    rows: list[Deadline] | None = None,
) -> list[Deadline]:
    """Mark the open deadlines of ``kinds`` as met or cancelled."""
    kinds = set(kinds)
    if not kinds:
        return []
    closed = []
    for deadline in open_deadlines(session, trajectory) if rows is None else rows:
        if deadline.kind in kinds and deadline.status is DeadlineStatus.OPEN:
            deadline.status = status
            deadline.closed_at = now
            deadline.closed_by_id = actor_id
            deadline.next_action_at = None
            closed.append(deadline)
    return closed


def apply_changes(
    session: Session,
    trajectory: Trajectory,
    changes: DeadlineChanges,
    now: datetime,
    actor_id: int | None,
) -> dict[str, list[str]]:
    """Meet, cancel, then open, as the workflow said; returns what happened, for the event.

    The trajectory's open deadlines are read once and worked on in memory (this runs on every
    transition: see bench/w1_transitions.py).
    """
    rows = open_deadlines(session, trajectory)
    met = close_deadlines(
        session, trajectory, changes.meet, DeadlineStatus.MET, now, actor_id, rows
    )
    cancelled = close_deadlines(
        session, trajectory, changes.cancel, DeadlineStatus.CANCELLED, now, actor_id, rows
    )
    open_kinds = {d.kind for d in rows if d.status is DeadlineStatus.OPEN}
    opened = []
    for kind in changes.open:
        deadline = open_deadline(session, trajectory, kind, now, open_kinds)
        if deadline is not None:
            opened.append(deadline)
            open_kinds.add(kind)
    return {
        "met": sorted({d.kind.value for d in met}),
        "cancelled": sorted({d.kind.value for d in cancelled}),
        "opened": sorted({d.kind.value for d in opened}),
    }


def pause(session: Session, trajectory: Trajectory) -> None:
    """A suspended trajectory's deadlines are not swept: no reminders while it waits."""
    for deadline in open_deadlines(session, trajectory):
        deadline.next_action_at = None


def shift(session: Session, trajectory: Trajectory, delta: timedelta, now: datetime) -> None:
    """Move the open deadlines by the suspended time and plan their next action again."""
    for deadline in open_deadlines(session, trajectory):
        deadline.due_at = deadline.due_at + delta
        rule = rule_for(session, deadline.kind)
        deadline.next_action_at = (
            next_action(rule, deadline.due_at, now) if rule is not None else deadline.due_at
        )


def move_region(session: Session, trajectory: Trajectory, region_code: str) -> None:
    """Deadlines follow a transferred trajectory to its new region's worklist."""
    for deadline in open_deadlines(session, trajectory):
        deadline.region_code = region_code
