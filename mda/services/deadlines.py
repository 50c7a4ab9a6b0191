"""Deadline rows (DESIGN.md section 4): opened, met and cancelled by the workflow's changes.

Deadlines are rows, written in the same transaction as the change that opens them, never
long countdown tasks on the broker. ``next_action_at`` is when the sweep (a later worker task)
must look at a row next: the reminder moment before due, or the due moment itself. These
helpers never commit: they run inside the calling service's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Deadline, DeadlineRule, Trajectory
from mda.services import workdays
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.identifiers import check_free_text
from mda.services.messages import Text, msg, term
from mda.services.uow import unit_of_work
from mda.services.workdays import add_working_days_at, compute_due
from mda.vocabulary import DeadlineKind, DeadlineStatus, DueUnit, NotificationKind

if TYPE_CHECKING:
    from mda.services.trajectories.steps import DeadlineState, StepState


class Rule(Protocol):
    """A deadline rule: the ORM row, or the step writer's cached copy of it."""

    @property
    def amount(self) -> int: ...
    @property
    def unit(self) -> DueUnit: ...
    @property
    def remind_before_working_days(self) -> int: ...
    @property
    def escalate_after_working_days(self) -> int: ...
    @property
    def repeat_every_working_days(self) -> int: ...
    @property
    def remind_before_hours(self) -> int: ...


def rule_for(session: Session, kind: DeadlineKind) -> DeadlineRule | None:
    """The configured rule for ``kind`` (loaded from ``deadline_rules``)."""
    return session.get(DeadlineRule, kind)


# --- the reminder ladder ------------------------------------------------------------------
#
# Rung 0 is the reminder before due (none when the rule has none), rung 1 the overdue notice at
# the due moment, rungs 2, 3, ... the escalations: the first ``escalate_after_working_days``
# after due, then one every ``repeat_every_working_days`` (0: no repeat) until the deadline is
# met, cancelled or acknowledged. ``Deadline.stage`` is the next rung the sweep has not passed;
# ``next_action_at`` is that rung's moment.

REMINDER, OVERDUE, FIRST_ESCALATION = 0, 1, 2


def rung_kind(rung: int) -> NotificationKind:
    """What a rung tells: a reminder, an overdue notice or an escalation."""
    if rung == REMINDER:
        return NotificationKind.REMINDER
    if rung == OVERDUE:
        return NotificationKind.OVERDUE
    return NotificationKind.ESCALATION


def reminder_at(rule: Rule, due_at: datetime) -> datetime | None:
    """The reminder moment: hours before due for rules counted in hours, else working days."""
    if rule.unit is DueUnit.HOURS:
        hours = rule.remind_before_hours or 0
        return due_at - timedelta(hours=hours) if hours > 0 else None
    if rule.remind_before_working_days > 0:
        return add_working_days_at(due_at, -rule.remind_before_working_days)
    return None


def rung_at(rule: Rule, due_at: datetime, rung: int) -> datetime | None:
    """The moment of ``rung`` for a deadline due at ``due_at``; None when there is no such rung."""
    if rung == REMINDER:
        return reminder_at(rule, due_at)
    if rung == OVERDUE:
        return due_at
    repeats = rung - FIRST_ESCALATION
    if repeats > 0 and rule.repeat_every_working_days <= 0:
        return None
    return add_working_days_at(
        due_at, rule.escalate_after_working_days + repeats * rule.repeat_every_working_days
    )


def next_rung(rule: Rule, due_at: datetime, stage: int) -> tuple[int, datetime] | None:
    """The first rung from ``stage`` on that exists, with its moment (None: the ladder ended)."""
    rung = stage
    while True:
        moment = rung_at(rule, due_at, rung)
        if moment is not None:
            return rung, moment
        if rung != REMINDER:
            return None
        rung += 1


def next_action(rule: Rule, due_at: datetime, now: datetime, stage: int = 0) -> datetime | None:
    """When the sweep must look at a deadline next: its next rung's moment.

    At stage 0 a reminder whose moment has already passed (a deadline opened inside its
    reminder window) is not planned: the overdue notice comes first.
    """
    found = next_rung(rule, due_at, stage)
    if found is None:
        return None
    rung, moment = found
    if rung == REMINDER and moment <= now:
        found = next_rung(rule, due_at, OVERDUE)
        return None if found is None else found[1]
    return moment


def earliest_open(
    deadlines: Iterable[Deadline | DeadlineState],
) -> tuple[datetime | None, DeadlineKind | None]:
    """The earliest open deadline's due moment and kind (by due moment, then kind)."""
    found = min(
        ((d.due_at, d.kind.value) for d in deadlines if d.status is DeadlineStatus.OPEN),
        default=None,
    )
    return (None, None) if found is None else (found[0], DeadlineKind(found[1]))


def track_next_due(
    trajectory: Trajectory | StepState,
    rows: Iterable[Deadline | DeadlineState],
    *,
    complete: bool = True,
) -> None:
    """Keep the trajectory's earliest open deadline (``next_due_at``, ``next_due_kind``).

    The worklist orders by it (see mda.services.worklist). With ``complete``, ``rows`` are
    all the trajectory's deadlines that may be open (the others are skipped) and the
    earliest is found afresh; otherwise ``rows`` were just opened and can only bring it
    forward. Works in memory, no query; the row changes only when the value does.
    """
    due, kind = earliest_open(rows)
    current_due, current_kind = trajectory.next_due_at, trajectory.next_due_kind
    if (
        not complete
        and current_due is not None
        and current_kind is not None
        and (due is None or kind is None or (current_due, current_kind.value) <= (due, kind.value))
    ):
        due, kind = current_due, current_kind
    if current_due != due:
        trajectory.next_due_at = due
    if current_kind != kind:
        trajectory.next_due_kind = kind


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
    deadline = Deadline(
        **deadline_values(
            rule,
            trajectory.id,
            trajectory.region_code,
            kind,
            start,
            suspended=trajectory.suspended_at is not None,
            counted_from=counted_from,
        )
    )
    session.add(deadline)
    track_next_due(trajectory, [deadline], complete=False)
    return deadline


def deadline_values(
    rule: Rule,
    trajectory_id: int,
    region_code: str,
    kind: DeadlineKind,
    start: datetime,
    *,
    suspended: bool,
    counted_from: datetime | None = None,
) -> dict[str, Any]:
    """The columns of a ``kind`` deadline opened at ``start`` under ``rule`` (workdays fresh).

    ``counted_from``, when given, is where the due moment counts from instead of ``start``.
    """
    due, computation = compute_due(counted_from or start, rule.amount, rule.unit)
    return {
        "trajectory_id": trajectory_id,
        "region_code": region_code,
        "kind": kind,
        "status": DeadlineStatus.OPEN,
        "opened_at": start,
        "due_at": due,
        "computation": {"rule": kind.value, **computation},
        # A suspended trajectory's deadlines wait for the resumption (see ``resume``).
        "next_action_at": None if suspended else next_action(rule, due, start),
    }


def close_deadlines(
    session: Session,
    trajectory: Trajectory,
    kinds: Iterable[DeadlineKind],
    status: DeadlineStatus,
    now: datetime,
    actor_id: int | None,
    rows: list[Deadline] | None = None,
) -> list[Deadline]:
    """Mark the open deadlines of ``kinds`` as met or cancelled.

    ``rows``, when given, are all the trajectory's open deadlines (read once by the caller):
    the trajectory's earliest open deadline is found again from them.
    """
    kinds = set(kinds)
    if not kinds:
        return []
    closed = []
    if rows is None:
        rows = open_deadlines(session, trajectory)
    for deadline in rows:
        if deadline.kind in kinds and deadline.status is DeadlineStatus.OPEN:
            deadline.status = status
            deadline.closed_at = now
            deadline.closed_by_id = actor_id
            deadline.next_action_at = None
            closed.append(deadline)
    if closed:
        track_next_due(trajectory, rows)
    return closed


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
    rows = open_deadlines(session, trajectory)
    for deadline in rows:
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
        # The ladder goes on from the rung it reached: nothing already sent is sent again.
        deadline.next_action_at = (
            next_action(rule, deadline.due_at, now, deadline.stage or 0)
            if rule is not None
            else deadline.due_at
        )
    track_next_due(trajectory, rows)


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
            raise NotFound(msg("There is no deadline %(id)s on this trajectory.", id=deadline_id))
        meeting = status is DeadlineStatus.MET
        what = "meet deadline" if meeting else "acknowledge deadline"
        with trajectory_change(
            session,
            actor,
            deadline.trajectory_id,
            expected_version=expected_version,
            now=now,
            what=what,
        ) as change:
            trajectory = change.trajectory
            note = (note or "").strip() or None
            problems: list[Text] = []
            if deadline.status is not DeadlineStatus.OPEN:
                problems.append(
                    msg(
                        "the deadline is %(status)s, not open",
                        status=term("deadline_status", deadline.status.value),
                    )
                )
            elif meeting and deadline.kind not in MET_BY_HAND:
                problems.append(
                    msg(
                        "%(kind)s is met by the workflow itself, not by hand",
                        kind=term("deadline_kind", deadline.kind.value),
                    )
                )
            elif status is DeadlineStatus.ACKNOWLEDGED and deadline.due_at > change.now:
                problems.append(
                    msg("the deadline is not due yet: meet it, or wait until it is due")
                )
            if status is DeadlineStatus.ACKNOWLEDGED and note is None:
                problems.append(msg("a note is needed to acknowledge a deadline"))
            if problems:
                action = (
                    msg("Marking the deadline met")
                    if meeting
                    else msg("Acknowledging the deadline")
                )
                raise change.refuse(what, problems, action)
            if note is not None and len(note) > MAX_NOTE:
                raise ValidationError(
                    msg("A note is at most %(most)s characters.", most=MAX_NOTE),
                    {"note": "too long"},
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
