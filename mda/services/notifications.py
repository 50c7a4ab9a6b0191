"""Notifications for people: the inbox (bell, list, mark read), what each one says, where a
person is told (e-mail address, language, digest) and reminder health.

What a notification says is built here from its ``details`` as translatable messages
(:func:`describe`), the same for the page, the API and the e-mail. A manager's never names a
pseudonym or a trajectory; only a coordinator is given the trajectory's id (to link to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from mda.models import (
    Deadline,
    Delivery,
    Notification,
    NotificationSettings,
    SweepRun,
    WorkerHeartbeat,
)
from mda.services import workdays
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.messages import Text, msg, msg_plural, term
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work
from mda.vocabulary import NotificationKind, NotificationStatus, Role

LANGUAGES = ("nl", "en")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,185}\.[^@\s]{2,63}$")


# --- what a notification says -----------------------------------------------------------


@dataclass(frozen=True)
class Described:
    title: Text
    lines: list[Text]


def _due_text(iso: str | None) -> str:
    if not iso:
        return "?"
    return datetime.fromisoformat(iso).astimezone(workdays.LOCAL).strftime("%d-%m-%Y %H:%M")


def _late(details: dict[str, Any]) -> Text:
    days = int(details.get("late_working_days") or 0)
    if days or not details.get("hours_rule"):
        return msg_plural("%(num)d working day", "%(num)d working days", days)
    return msg_plural("%(num)d hour", "%(num)d hours", int(details.get("late_hours") or 0))


def describe(notification: Notification) -> Described:
    """The notification's title and lines, translatable (see mda.services.messages)."""
    details = notification.details or {}
    kind = term("deadline_kind", details.get("deadline_kind", ""))
    due = _due_text(details.get("due_at"))
    if notification.kind is NotificationKind.DIGEST:
        return Described(
            msg(
                "Your deadlines: %(overdue)s overdue, %(today)s due today, %(week)s due this week",
                overdue=details.get("overdue", 0),
                today=details.get("today", 0),
                week=details.get("week", 0),
            ),
            [msg("Open your worklist to see which trajectories they are.")],
        )
    if notification.kind is NotificationKind.REMINDER:
        return Described(
            msg("Reminder: %(kind)s is due on %(due)s", kind=kind, due=due),
            [msg("A deadline of one of your trajectories is due soon.")],
        )
    if notification.kind is NotificationKind.OVERDUE:
        lines = [msg("A deadline of one of your trajectories has passed.")]
        if details.get("escalated"):
            lines.append(msg("It has been escalated to the regional managers."))
        return Described(
            msg(
                "Overdue by %(late)s: %(kind)s, due %(due)s",
                late=_late(details),
                kind=kind,
                due=due,
            ),
            lines,
        )
    coordinator = details.get("coordinator")
    return Described(
        msg(
            "Escalation: %(kind)s overdue by %(late)s in region %(region)s",
            kind=kind,
            late=_late(details),
            region=details.get("region_code", "?"),
        ),
        [
            msg("It was due on %(due)s.", due=due),
            msg("Coordinator: %(name)s.", name=coordinator)
            if coordinator
            else msg("No coordinator is assigned to it."),
        ],
    )


# --- the inbox --------------------------------------------------------------------------


def _own(actor: Actor) -> int:
    if actor.user_id is None:
        raise NotFound(msg("There are no notifications for the system."))
    return actor.user_id


def list_notifications(
    session: Session,
    actor: Actor,
    *,
    unread: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Notification], int]:
    """The actor's own notifications, newest first; ``unread`` for the unread ones only."""
    user_id = _own(actor)
    where = [Notification.recipient_id == user_id]
    if unread:
        where.append(Notification.read_at.is_(None))
    total = int(session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0)
    rows = list(
        session.scalars(
            select(Notification)
            .where(*where)
            .order_by(Notification.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return rows, total


def unread_count(session: Session, actor: Actor) -> int:
    """How many of the actor's notifications are unread (the bell)."""
    if actor.user_id is None:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.recipient_id == actor.user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def trajectory_of(session: Session, actor: Actor, notification: Notification) -> int | None:
    """The trajectory a notification is about, for its coordinator only; None for others."""
    if actor.role is not Role.COORDINATOR or notification.deadline_id is None:
        return None
    deadline = session.get(Deadline, notification.deadline_id)
    if deadline is None or deadline.region_code not in actor.region_codes:
        return None
    return deadline.trajectory_id


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read (again: no change)."""
    user_id = _own(actor)
    with unit_of_work(session):
        row = session.get(Notification, notification_id)
        if row is None or row.recipient_id != user_id:
            raise NotFound(msg("There is no notification %(id)s for you.", id=notification_id))
        if row.read_at is None:
            row.read_at = settings_of(session).now()
    return row


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark all the actor's unread notifications read; returns how many."""
    user_id = _own(actor)
    now = settings_of(session).now()
    with unit_of_work(session):
        result = session.execute(
            update(Notification)
            .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
    return int(getattr(result, "rowcount", 0) or 0)


# --- where a person is told -------------------------------------------------------------


def get_settings(session: Session, actor: Actor) -> NotificationSettings:
    """The actor's notification settings (defaults when never saved; not added)."""
    user_id = _own(actor)
    found = session.get(NotificationSettings, user_id)
    if found is not None:
        return found
    return NotificationSettings(
        user_id=user_id, email=None, language="nl", email_enabled=True, digest_enabled=True
    )


def update_settings(
    session: Session,
    actor: Actor,
    *,
    email: str | None,
    language: str,
    email_enabled: bool,
    digest_enabled: bool,
) -> NotificationSettings:
    """Save where and how the actor is told: e-mail address, language, e-mail and digest."""
    user_id = _own(actor)
    email = (email or "").strip() or None
    errors: dict[str, Any] = {}
    if email is not None and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = msg("not an e-mail address")
    if language not in LANGUAGES:
        errors["language"] = msg("one of %(values)s", values=", ".join(LANGUAGES))
    if errors:
        raise ValidationError(
            msg("The notification settings are not valid: %(fields)s.", fields=", ".join(errors)),
            {k: str(v) for k, v in errors.items()},
        )
    with unit_of_work(session):
        row = session.get(NotificationSettings, user_id)
        if row is None:
            row = NotificationSettings(user_id=user_id)
            session.add(row)
        row.email = email
        row.language = language
        row.email_enabled = email_enabled
        row.digest_enabled = digest_enabled
        row.updated_at = settings_of(session).now()
    return row


# --- reminder health --------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """Counts only: deliveries by status, the last sweep, the last heartbeat."""

    pending: int
    sent: int
    late: int
    failed: int
    last_sweep_at: datetime | None
    last_sweep_ms: int | None
    heartbeat_at: datetime | None
    interval: timedelta
    stale: bool
    regions: frozenset[str] | None  # None: all


def reminder_health(session: Session, actor: Actor, interval: timedelta) -> Health:
    """Reminder health: a manager's of their regions, an admin's of all.

    Late: sent more than one sweep interval after it was due. Stale: no sweep for three
    intervals (or none ever).
    """
    require_role(actor, Role.MANAGER, Role.ADMIN)
    now = settings_of(session).now()
    regions = None if actor.role is not Role.MANAGER else frozenset(actor.region_codes)
    query = (
        select(
            Delivery.status,
            func.count(),
            func.sum(case((Delivery.delay_seconds > interval.total_seconds(), 1), else_=0)),
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .group_by(Delivery.status)
    )
    if regions is not None:
        query = query.join(Deadline, Deadline.id == Notification.deadline_id).where(
            Deadline.region_code.in_(regions)
        )
    counts = {status: (0, 0) for status in NotificationStatus}
    for status, count, late in session.execute(query):
        counts[status] = (int(count or 0), int(late or 0))
    last = session.scalars(select(SweepRun).order_by(SweepRun.started_at.desc()).limit(1)).first()
    heartbeat = session.scalar(select(func.max(WorkerHeartbeat.last_seen_at)))
    if isinstance(heartbeat, datetime) and heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=now.tzinfo)
    stale = last is None or now - last.started_at > 3 * interval
    return Health(
        pending=counts[NotificationStatus.PENDING][0],
        sent=counts[NotificationStatus.SENT][0],
        late=counts[NotificationStatus.SENT][1],
        failed=counts[NotificationStatus.FAILED][0],
        last_sweep_at=last.started_at if last else None,
        last_sweep_ms=last.duration_ms if last else None,
        heartbeat_at=heartbeat,
        interval=interval,
        stale=stale,
        regions=regions,
    )
