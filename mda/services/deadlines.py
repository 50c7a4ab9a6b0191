"""Deadline rows (DESIGN.md section 4): opened, met and cancelled by the workflow's changes.

Deadlines are rows, written in the same transaction as the change that opens them, never
long countdown tasks on the broker. ``next_action_at`` is when the sweep (a later worker task)
must look at a row next: the reminder moment before due, or the due moment itself. These
helpers never commit: they run inside the calling service's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Deadline, DeadlineRule, Trajectory
from mda.services import workdays
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.identifiers import check_free_text
from mda.services.uow import unit_of_work
from mda.services.workdays import add_working_days_at, compute_due
from mda.vocabulary import DeadlineKind, DeadlineStatus, DueUnit
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
    *,
    counted_from: datetime | None = None,
) -> Deadline | None:
    """Open a ``kind`` deadline from ``start``; an open one of that kind is kept as it is.

    ``open_kinds``, when the caller has the trajectory's open deadlines at hand, saves the
    query for an existing one. ``counted_from``, when given, is where the due moment counts
    from instead of ``start`` (measurements 2 and 3 count from measurement 1's date).
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
    workdays.refresh(session)
    due, computation = compute_due(counted_from or start, rule.amount, rule.unit)
    deadline = Deadline(
        trajectory_id=trajectory.id,
        region_code=trajectory.region_code,
        kind=kind,
        status=DeadlineStatus.OPEN,
        opened_at=start,
        due_at=due,
        computation={"rule": kind.value, **computation},
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
    starts: Mapping[DeadlineKind, datetime] | None = None,
) -> dict[str, list[str]]:
    """Meet, cancel, then open, as the workflow said; returns what happened, for the event.

    The trajectory's open deadlines are read once and worked on in memory (this runs on every
    transition: see bench/w1_transitions.py). ``starts`` gives the kinds whose due moment
    counts from another moment than ``now``.
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
        deadline = open_deadline(
            session, trajectory, kind, now, open_kinds, counted_from=(starts or {}).get(kind)
        )
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
    """Move the open deadlines by the suspension that ended at ``now`` and lasted ``delta``.

    A deadline counted in working days moves by the working days the suspension covered: those
    after the day it began, up to and including the day it ended (Amsterdam dates), so a
    suspension over a weekend or a holiday costs no more than the working days in it, and one
    begun and ended on the same day moves nothing. A deadline counted in calendar time (hours,
    days, weeks, months) moves by the suspended time; in weeks or months it still ends on a
    working day (art. 1), counted from the term's own end. Each move is added to the row's
    ``computation`` (``suspensions``); the next action is planned again.
    """
    workdays.refresh(session)
    began = now - delta
    covered = workdays.working_days_between(workdays.local_date(began), workdays.local_date(now))
    for deadline in open_deadlines(session, trajectory):
        rule = rule_for(session, deadline.kind)
        computation = dict(deadline.computation or {})
        unit = computation.get("unit") or (rule.unit.value if rule is not None else None)
        before = deadline.due_at
        move: dict = {
            "from": began.isoformat(),
            "to": now.isoformat(),
            "due_before": before.isoformat(),
        }
        if unit == DueUnit.WORKING_DAYS:
            deadline.due_at = add_working_days_at(before, covered)
            move["working_days"] = covered
        else:
            term_end = (
                datetime.fromisoformat(computation["term_end"])
                if "term_end" in computation
                else before
            ) + delta
            computation["term_end"] = term_end.isoformat()
            due = term_end
            if unit in {u.value for u in workdays.ART_1_UNITS}:
                due, moved = workdays.apply_art_1(term_end)
                if moved is None:
                    computation.pop("moved_art_1", None)
                else:
                    computation["moved_art_1"] = moved
            deadline.due_at = due
            move["seconds"] = int(delta.total_seconds())
        move["due_after"] = deadline.due_at.isoformat()
        computation["suspensions"] = [*computation.get("suspensions", []), move]
        computation["due"] = deadline.due_at.isoformat()
        deadline.computation = computation
        deadline.next_action_at = (
            next_action(rule, deadline.due_at, now) if rule is not None else deadline.due_at
        )


def move_region(session: Session, trajectory: Trajectory, region_code: str) -> None:
    """Deadlines follow a transferred trajectory to its new region's worklist."""
    for deadline in open_deadlines(session, trajectory):
        deadline.region_code = region_code


# --- met or acknowledged by hand ---------------------------------------------------------

#: Deadlines a coordinator meets by hand: nothing else in the workflow says they were met.
MET_BY_HAND = frozenset({DeadlineKind.SCHOOL_NOTICE_DUE, DeadlineKind.PLAN_REVIEW_DUE})
MAX_NOTE = 2000


def meet_deadline(
    session: Session,
    actor: Actor,
    deadline_id: int,
    note: str | None = None,
    *,
    expected_version: int | None = None,
    trajectory_id: int | None = None,
    now: datetime | None = None,
) -> Deadline:
    """Mark a deadline met by hand (the school was told, the plan was reviewed), with a note.

    Only ``school_notice_due`` and ``plan_review_due`` are met this way; the others are met by
    the workflow's own changes. Meeting a recurring deadline opens its next occurrence,
    counted from now. ``expected_version`` is the trajectory's version.
    """
    return _close_by_hand(
        session, actor, deadline_id, note, DeadlineStatus.MET, expected_version, trajectory_id, now
    )


def acknowledge_deadline(
    session: Session,
    actor: Actor,
    deadline_id: int,
    note: str | None,
    *,
    expected_version: int | None = None,
    trajectory_id: int | None = None,
    now: datetime | None = None,
) -> Deadline:
    """Acknowledge a deadline that has fallen due without being met: its reminders stop.

    The note (required) says why. A recurring deadline opens its next occurrence, counted
    from now, so the six-weekly plan review does not silently end.
    """
    return _close_by_hand(
        session,
        actor,
        deadline_id,
        note,
        DeadlineStatus.ACKNOWLEDGED,
        expected_version,
        trajectory_id,
        now,
    )


def _close_by_hand(
    session: Session,
    actor: Actor,
    deadline_id: int,
    note: str | None,
    status: DeadlineStatus,
    expected_version: int | None,
    trajectory_id: int | None,
    now: datetime | None,
) -> Deadline:
    # Imported here: the trajectory services import this module.
    from mda.services.trajectories import trajectory_change

    with unit_of_work(session):
        deadline = session.get(Deadline, deadline_id, populate_existing=True)
        if deadline is None or (
            trajectory_id is not None and deadline.trajectory_id != trajectory_id
        ):
            raise NotFound(f"There is no deadline {deadline_id} on this trajectory.")
        with trajectory_change(
            session,
            actor,
            deadline.trajectory_id,
            expected_version=expected_version,
            now=now,
        ) as change:
            trajectory = change.trajectory
            note = (note or "").strip() or None
            problems = []
            what = "meet deadline" if status is DeadlineStatus.MET else "acknowledge deadline"
            if deadline.status is not DeadlineStatus.OPEN:
                problems.append(f"the deadline is {deadline.status.value}, not open")
            elif status is DeadlineStatus.MET and deadline.kind not in MET_BY_HAND:
                problems.append(f"{deadline.kind.value} is met by the workflow itself, not by hand")
            elif status is DeadlineStatus.ACKNOWLEDGED and deadline.due_at > change.now:
                problems.append("the deadline is not due yet: meet it, or wait until it is due")
            if status is DeadlineStatus.ACKNOWLEDGED and note is None:
                problems.append("a note is needed to acknowledge a deadline")
            if problems:
                raise change.refuse(what, problems)
            if note is not None and len(note) > MAX_NOTE:
                raise ValidationError(
                    f"A note is at most {MAX_NOTE} characters.", {"note": "too long"}
                )
            check_free_text({"note": note})
            rows = open_deadlines(session, trajectory)
            closed = close_deadlines(
                session, trajectory, [deadline.kind], status, change.now, actor.user_id, rows
            )
            deadline.note = note
            opened = None
            rule = rule_for(session, deadline.kind)
            if rule is not None and rule.recurring:
                open_kinds = {d.kind for d in rows if d.status is DeadlineStatus.OPEN}
                opened = open_deadline(session, trajectory, deadline.kind, change.now, open_kinds)
            change.record(
                f"deadline_{status.value}",
                reason=note,
                data={
                    "deadline_id": deadline.id,
                    "kind": deadline.kind.value,
                    "deadlines": {
                        status.value: sorted({d.kind.value for d in closed}),
                        "opened": [opened.kind.value] if opened is not None else [],
                    },
                },
            )
    return deadline
