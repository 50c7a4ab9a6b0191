"""The sweep: due deadline rows become notifications, exactly once (DESIGN.md section 4).

Beat sends one sweep task every ``MDA_SWEEP_INTERVAL_SECONDS``; ``mda deadlines sweep`` runs one
by hand. A sweep takes one ``now`` and, batch by batch, each batch one transaction:

1. claims open deadlines whose ``next_action_at`` has passed, oldest first: on PostgreSQL with
   ``FOR UPDATE SKIP LOCKED``, so two sweeps (two workers, or beat's and an operator's) never
   take the same row; on SQLite the unit of work's ``BEGIN IMMEDIATE`` lets one writer in at a
   time;
2. moves each row up its reminder ladder (:func:`mda.services.deadlines.rung_at`) to the last
   rung that has fallen due: that rung is delivered, the rungs it passed over on the way (a
   referral registered late, a worker down for days) are recorded as skipped, not sent;
3. writes, in the same transaction, the ladder step, one notification per recipient and one
   delivery per notification and channel (unique keys: nothing can be written twice);
4. after the commit, and only then, sends a delivery task (an id) per e-mail.

A task lost with the broker, or a worker killed before its task ran, loses nothing: a pending
e-mail delivery whose lease (``next_attempt_at``) has run out is dispatched again by a later
sweep. No ETA or countdown task is used as a timer; the rows are the timers.

Recipients: a reminder and an overdue notice go to the trajectory's coordinator, or to the
region's coordinators when none is assigned (or the assigned one is no longer active). An
escalation goes to the region's managers, naming the coordinator (user name), the deadline
kind and how late it is, never a pseudonym or a trajectory; the coordinators get an overdue
notice with it (so a deadline found far behind still tells its coordinator, once).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from mda.models import (
    Deadline,
    DeadlineRule,
    Delivery,
    LadderStep,
    Notification,
    NotificationSettings,
    SweepRun,
    Trajectory,
    User,
    user_regions,
)
from mda.services import workdays
from mda.services.clock import NL
from mda.services.deadlines import next_rung, rung_kind
from mda.services.settings import settings_of
from mda.services.uow import after_commit, unit_of_work
from mda.vocabulary import (
    Channel,
    DeadlineStatus,
    DueUnit,
    NotificationKind,
    NotificationStatus,
    Role,
    StepStatus,
)

log = logging.getLogger(__name__)

#: A test hook: while the file this names exists, a sweep that has claimed rows waits before
#: its commit (after writing ``<file>.reached``), so a test can kill the worker right there.
PAUSE_ENV = "MDA_SWEEP_PAUSE_FILE"
#: A deadline far behind passes at most this many rungs in one sweep (the rest next time).
MAX_RUNGS = 500
#: Any key, the same in every process: only one sweep makes the day's digests at a time.
DIGEST_LOCK = 0x6D646164
#: Sweep runs older than this are deleted by the sweep (reminder health shows the latest).
SWEEP_RUNS_KEPT = timedelta(days=30)

Dispatch = Callable[[int], object]


@dataclass(frozen=True)
class SweepOptions:
    """How a sweep runs; from the ``MDA_*`` settings by :meth:`from_config`."""

    batch_size: int = 200
    # A dispatched e-mail task that has not finished within this is dispatched again.
    lease: timedelta = timedelta(minutes=5)
    interval: timedelta = timedelta(seconds=60)
    # Digests are made from this Amsterdam hour on, once per day per coordinator.
    digest_hour: int = 7
    worker: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], worker: str | None = None) -> SweepOptions:
        default = cls()
        return cls(
            batch_size=int(config.get("SWEEP_BATCH_SIZE", default.batch_size)),
            lease=timedelta(
                seconds=float(config.get("DELIVERY_LEASE_SECONDS", default.lease.total_seconds()))
            ),
            interval=timedelta(
                seconds=float(
                    config.get("SWEEP_INTERVAL_SECONDS", default.interval.total_seconds())
                )
            ),
            digest_hour=int(config.get("DIGEST_HOUR", default.digest_hour)),
            worker=worker,
        )


@dataclass
class SweepResult:
    """What one sweep did (kept as a :class:`SweepRun`)."""

    claimed: int = 0
    notifications: int = 0
    skipped: int = 0
    digests: int = 0
    dispatched: int = 0
    duration_ms: int = 0
    run_id: int | None = None
    delivery_ids: list[int] = field(default_factory=list)


def sweep(
    session: Session,
    options: SweepOptions | None = None,
    dispatch: Dispatch | None = None,
) -> SweepResult:
    """Sweep once: due deadlines, e-mails to send again, the day's digests; record the run.

    ``dispatch(delivery_id)`` sends a delivery task; it is called after each batch's commit
    (a failure to reach the broker is logged: a later sweep dispatches again).
    """
    options = options or SweepOptions()
    now = settings_of(session).now()
    started = time.perf_counter()
    result = SweepResult()
    workdays.refresh(session)
    rules = {rule.kind: rule for rule in session.scalars(select(DeadlineRule))}
    while True:
        with unit_of_work(session):
            claimed = _claim_deadlines(session, now, options.batch_size)
            ids: list[int] = []
            if claimed:
                _advance(session, claimed, rules, now, options, result, ids)
                _pause_here()
            _send_after_commit(session, ids, dispatch, result)
        if len(claimed) < options.batch_size:
            break
    while True:
        with unit_of_work(session):
            again = _claim_deliveries(session, now, options)
            _send_after_commit(session, again, dispatch, result)
        if len(again) < options.batch_size:
            break
    with unit_of_work(session):
        ids = _digests(session, now, options, result)
        _send_after_commit(session, ids, dispatch, result)
    result.duration_ms = int((time.perf_counter() - started) * 1000)
    with unit_of_work(session):
        run = SweepRun(
            started_at=now,
            duration_ms=result.duration_ms,
            claimed=result.claimed,
            notifications=result.notifications,
            skipped=result.skipped,
            dispatched=len(result.delivery_ids),
            worker=options.worker,
        )
        session.add(run)
        # Health reads the latest runs only: a run a minute would otherwise grow without end.
        session.execute(delete(SweepRun).where(SweepRun.started_at < now - SWEEP_RUNS_KEPT))
        session.flush()
        result.run_id = run.id
    return result


# --- claiming ---------------------------------------------------------------------------

_deadlines = cast(Table, Deadline.__table__)
_deliveries = cast(Table, Delivery.__table__)


def _claim_deadlines(session: Session, now: datetime, limit: int) -> list[Any]:
    """Due open rows, locked for this transaction (skipping rows another sweep holds)."""
    query = (
        select(
            _deadlines.c.id,
            _deadlines.c.trajectory_id,
            _deadlines.c.region_code,
            _deadlines.c.kind,
            _deadlines.c.due_at,
            _deadlines.c.stage,
            _deadlines.c.escalations,
        )
        .where(
            _deadlines.c.status == DeadlineStatus.OPEN.value,
            _deadlines.c.next_action_at <= now,
        )
        .order_by(_deadlines.c.next_action_at, _deadlines.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query))


def _claim_deliveries(session: Session, now: datetime, options: SweepOptions) -> list[int]:
    """Pending e-mails whose lease or back-off has run out: lease them again, to dispatch."""
    ids = list(
        session.scalars(
            select(_deliveries.c.id)
            .where(
                _deliveries.c.status == NotificationStatus.PENDING.value,
                _deliveries.c.next_attempt_at <= now,
            )
            .order_by(_deliveries.c.next_attempt_at, _deliveries.c.id)
            .limit(options.batch_size)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.execute(
            update(_deliveries)
            .where(_deliveries.c.id.in_(ids))
            .values(next_attempt_at=now + options.lease, claimed_by=None)
        )
    return ids


def _send_after_commit(
    session: Session, ids: list[int], dispatch: Dispatch | None, result: SweepResult
) -> None:
    if not ids:
        return
    result.delivery_ids.extend(ids)
    if dispatch is None:
        return

    def send() -> None:
        for delivery_id in ids:
            try:
                dispatch(delivery_id)
            except Exception as exc:  # the broker is away: a later sweep dispatches again
                log.warning("delivery %s not dispatched (%s); retried later", delivery_id, exc)
                return
            result.dispatched += 1

    after_commit(session, send)


def _pause_here() -> None:
    path = os.environ.get(PAUSE_ENV)
    if not path or not os.path.exists(path):
        return
    with open(f"{path}.reached", "w") as marker:
        marker.write(str(os.getpid()))
    deadline = time.monotonic() + 600
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


# --- advancing the ladder ---------------------------------------------------------------


@dataclass
class _People:
    """The batch's recipients, read once: coordinators per trajectory, people per region."""

    coordinator_of: dict[int, tuple[int, str]]  # trajectory id -> (user id, user name)
    coordinators: dict[str, list[int]]  # region -> active coordinators
    managers: dict[str, list[int]]  # region -> active managers
    email: dict[int, NotificationSettings]


def _people(session: Session, rows: list[Any]) -> _People:
    trajectory_ids = {row.trajectory_id for row in rows}
    regions = {row.region_code for row in rows}
    coordinator_of = {
        trajectory_id: (user_id, username)
        for trajectory_id, user_id, username in session.execute(
            select(Trajectory.id, User.id, User.username)
            .join(User, User.id == Trajectory.coordinator_id)
            .where(Trajectory.id.in_(trajectory_ids), User.active.is_(True))
        )
    }
    coordinators: dict[str, list[int]] = defaultdict(list)
    managers: dict[str, list[int]] = defaultdict(list)
    for region, user_id, role in session.execute(
        select(user_regions.c.region_code, User.id, User.role)
        .join(User, User.id == user_regions.c.user_id)
        .where(
            user_regions.c.region_code.in_(regions),
            User.active.is_(True),
            User.role.in_([Role.COORDINATOR, Role.MANAGER]),
        )
        .order_by(User.id)
    ):
        (coordinators if role is Role.COORDINATOR else managers)[region].append(user_id)
    people = {uid for uid, _ in coordinator_of.values()}
    people.update(uid for ids in coordinators.values() for uid in ids)
    people.update(uid for ids in managers.values() for uid in ids)
    email = {
        row.user_id: row
        for row in session.scalars(
            select(NotificationSettings).where(NotificationSettings.user_id.in_(people))
        )
    }
    return _People(coordinator_of, coordinators, managers, email)


def lateness(due_at: datetime, now: datetime) -> dict[str, int]:
    """How late, in working days (Amsterdam calendar) and in whole hours."""
    if now <= due_at:
        return {"late_working_days": 0, "late_hours": 0}
    return {
        "late_working_days": workdays.working_days_between(
            workdays.local_date(due_at), workdays.local_date(now)
        ),
        "late_hours": int((now - due_at).total_seconds() // 3600),
    }


def _advance(
    session: Session,
    rows: list[Any],
    rules: Mapping[Any, DeadlineRule],
    now: datetime,
    options: SweepOptions,
    result: SweepResult,
    delivery_ids: list[int],
) -> None:
    result.claimed += len(rows)
    people = _people(session, rows)
    updates: list[dict[str, Any]] = []
    pending: list[tuple[Any, LadderStep, list[tuple[int, NotificationKind]], dict]] = []
    for row in rows:
        rule = rules.get(row.kind)
        if rule is None:  # a rule removed: nothing to climb
            updates.append(
                {"b_id": row.id, "b_stage": row.stage, "b_next": None, "b_esc": row.escalations}
            )
            continue
        current: tuple[int, datetime] | None = None
        passed: list[tuple[int, datetime]] = []
        rung = row.stage
        while len(passed) < MAX_RUNGS:
            found = next_rung(rule, row.due_at, rung)
            if found is None or found[1] > now:
                break
            if current is not None:
                passed.append(current)
            current = found
            rung = found[0] + 1
        nxt = next_rung(rule, row.due_at, rung)
        escalations = row.escalations
        if current is not None:
            for skipped_rung, moment in passed:
                session.add(
                    LadderStep(
                        deadline_id=row.id,
                        rung=skipped_rung,
                        kind=rung_kind(skipped_rung),
                        status=StepStatus.SKIPPED,
                        scheduled_at=moment,
                        created_at=now,
                        recipients=0,
                    )
                )
            result.skipped += len(passed)
            number, moment = current
            kind = rung_kind(number)
            if kind is NotificationKind.ESCALATION:
                escalations += 1
            recipients = _recipients(row, kind, people)
            step = LadderStep(
                deadline_id=row.id,
                rung=number,
                kind=kind,
                status=StepStatus.DELIVERED,
                scheduled_at=moment,
                created_at=now,
                recipients=len(recipients),
            )
            session.add(step)
            coordinator = people.coordinator_of.get(row.trajectory_id)
            details = {
                "deadline_kind": row.kind.value,
                "due_at": row.due_at.isoformat(),
                "region_code": row.region_code,
                "rung": number,
                "coordinator": coordinator[1] if coordinator else None,
                "hours_rule": rules[row.kind].unit is DueUnit.HOURS,
                **lateness(row.due_at, now),
            }
            pending.append((row, step, recipients, details))
        updates.append(
            {
                "b_id": row.id,
                "b_stage": rung,
                "b_next": nxt[1] if nxt is not None else None,
                "b_esc": escalations,
            }
        )
    session.flush()  # the steps' ids
    notifications: list[tuple[Notification, datetime]] = []
    for row, step, recipients, details in pending:
        for user_id, kind in recipients:
            extra = {"escalated": True} if step.kind is NotificationKind.ESCALATION else {}
            notification = Notification(
                recipient_id=user_id,
                kind=kind,
                deadline_id=row.id,
                step_id=step.id,
                created_at=now,
                details={**details, **extra},
            )
            session.add(notification)
            notifications.append((notification, step.scheduled_at))
    session.flush()  # the notifications' ids
    result.notifications += len(notifications)
    delivery_ids.extend(_deliveries_for(session, notifications, people.email, now, options))
    if updates:
        # Core, not the ORM: the row's version is the trajectory's change's, not the sweep's,
        # so a coordinator meeting the deadline meanwhile gets no conflict from a reminder.
        session.execute(
            update(_deadlines)
            .where(_deadlines.c.id == bindparam("b_id"))
            .values(
                stage=bindparam("b_stage"),
                next_action_at=bindparam("b_next"),
                escalations=bindparam("b_esc"),
            ),
            updates,
        )


def _recipients(row: Any, kind: NotificationKind, people: _People) -> list[tuple[int, Any]]:
    """Who is told, and what: ``(user id, notification kind)`` pairs, no one twice."""
    assigned = people.coordinator_of.get(row.trajectory_id)
    coordinators = [assigned[0]] if assigned else people.coordinators.get(row.region_code, [])
    if kind is NotificationKind.ESCALATION:
        found = [
            (uid, NotificationKind.ESCALATION) for uid in people.managers.get(row.region_code, [])
        ]
        found += [(uid, NotificationKind.OVERDUE) for uid in coordinators]
    else:
        found = [(uid, kind) for uid in coordinators]
    seen: set[int] = set()
    unique = []
    for user_id, what in found:
        if user_id not in seen:
            seen.add(user_id)
            unique.append((user_id, what))
    return unique


def _deliveries_for(
    session: Session,
    notifications: Iterable[tuple[Notification, datetime]],
    contacts: Mapping[int, NotificationSettings],
    now: datetime,
    options: SweepOptions,
) -> list[int]:
    """In-app: delivered with the commit. E-mail: pending, leased to the task sent after it."""
    emails: list[Delivery] = []
    for notification, due in notifications:
        session.add(
            Delivery(
                notification_id=notification.id,
                channel=Channel.IN_APP,
                status=NotificationStatus.SENT,
                created_at=now,
                due_at=due,
                sent_at=now,
                delay_seconds=max(0, int((now - due).total_seconds())),
                attempts=1,
            )
        )
        contact = contacts.get(notification.recipient_id)
        if contact is not None and contact.email and contact.email_enabled:
            delivery = Delivery(
                notification_id=notification.id,
                channel=Channel.EMAIL,
                status=NotificationStatus.PENDING,
                created_at=now,
                due_at=due,
                next_attempt_at=now + options.lease,
                attempts=0,
            )
            session.add(delivery)
            emails.append(delivery)
    session.flush()
    return [delivery.id for delivery in emails]


# --- the daily digest -------------------------------------------------------------------


def _digests(
    session: Session, now: datetime, options: SweepOptions, result: SweepResult
) -> list[int]:
    """Each active coordinator's digest of the day, once, from the digest hour on.

    What is overdue, due today and due in the coming seven days, as counts; no trajectory.
    A person with nothing due gets no message, but the day is marked done for them.
    """
    local = now.astimezone(NL)
    if local.hour < options.digest_hour:
        return []
    today = local.date()
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DIGEST_LOCK}
    ):
        return []  # another sweep is making them right now
    users = list(
        session.execute(
            select(User.id, NotificationSettings)
            .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
            .where(
                User.role == Role.COORDINATOR,
                User.active.is_(True),
                or_(
                    NotificationSettings.user_id.is_(None),
                    and_(
                        NotificationSettings.digest_enabled.is_(True),
                        or_(
                            NotificationSettings.last_digest_on.is_(None),
                            NotificationSettings.last_digest_on < today,
                        ),
                    ),
                ),
            )
            .order_by(User.id)
            .limit(options.batch_size)
        )
    )
    if not users:
        return []
    ids = [user_id for user_id, _ in users]
    day_end = _local_midnight(today + timedelta(days=1))
    week_end = _local_midnight(today + timedelta(days=8))
    counts: dict[int, dict[str, int]] = {uid: {"overdue": 0, "today": 0, "week": 0} for uid in ids}
    for user_id, due_at in session.execute(
        select(Trajectory.coordinator_id, Deadline.due_at)
        .join(Trajectory, Trajectory.id == Deadline.trajectory_id)
        .where(
            Trajectory.coordinator_id.in_(ids),
            Deadline.status == DeadlineStatus.OPEN,
            Deadline.due_at < week_end,
        )
    ):
        if user_id is None:
            continue
        bucket = counts[user_id]
        if due_at <= now:
            bucket["overdue"] += 1
        elif due_at < day_end:
            bucket["today"] += 1
        else:
            bucket["week"] += 1
    made: list[tuple[Notification, datetime]] = []
    contacts: dict[int, NotificationSettings] = {}
    due = _local_midnight(today) + timedelta(hours=options.digest_hour)
    for user_id, contact in users:
        if contact is None:
            contact = NotificationSettings(user_id=user_id, language="nl")
            session.add(contact)
        contact.last_digest_on = today
        contacts[user_id] = contact
        if not any(counts[user_id].values()):
            continue
        notification = Notification(
            recipient_id=user_id,
            kind=NotificationKind.DIGEST,
            digest_on=today,
            created_at=now,
            details={**counts[user_id], "day": today.isoformat()},
        )
        session.add(notification)
        made.append((notification, due))
    session.flush()
    result.digests += len(made)
    result.notifications += len(made)
    return _deliveries_for(session, made, contacts, now, options)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, dtime.min, tzinfo=NL)


def last_run(session: Session) -> SweepRun | None:
    """The latest sweep run, if any."""
    return session.scalars(select(SweepRun).order_by(SweepRun.started_at.desc()).limit(1)).first()


def due_count(session: Session, now: datetime) -> int:
    """Open deadlines whose next action has passed (what the next sweep will take)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Deadline)
            .where(Deadline.status == DeadlineStatus.OPEN, Deadline.next_action_at <= now)
        )
        or 0
    )
