"""The reminder ladder's outbox: rungs swept, notifications per person, deliveries per channel.

One sweep of a due deadline writes, in one transaction, a :class:`LadderStep` per rung it
passes (the current one ``delivered``, any it found itself behind ``skipped``), a
:class:`Notification` per recipient of the delivered rung (the in-app message) and a
:class:`Delivery` per notification and channel. Their unique keys make a second sweep, a task
run twice or a worker restarted mid-way unable to send anything twice: (deadline, rung) for a
step, (step, recipient) for a notification, (notification, channel) for a delivery, and
(recipient, day) for the daily digest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mda.models.base import Base, UTCDateTime, created_at, enum_column, intpk
from mda.models.deadline import Deadline
from mda.models.user import User
from mda.vocabulary import Channel, NotificationKind, NotificationStatus, StepStatus


class LadderStep(Base):
    """One rung of one deadline's ladder, as the sweep passed it."""

    __tablename__ = "ladder_steps"
    __table_args__ = (UniqueConstraint("deadline_id", "rung"),)

    id: Mapped[intpk]
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"))
    rung: Mapped[int] = mapped_column(Integer)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    status: Mapped[StepStatus] = mapped_column(enum_column(StepStatus))
    # When the rung was due, and when the sweep passed it.
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """An in-app message to one person; e-mail and the like are its deliveries.

    ``details`` holds what the message says (deadline kind, due moment, how late, the
    coordinator's user name for a manager, counts for a digest): never a pseudonym, and a
    trajectory only through ``deadline_id``, which only a coordinator is shown.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("step_id", "recipient_id"),
        UniqueConstraint("recipient_id", "digest_on"),
        Index("ix_notifications_inbox", "recipient_id", "read_at", "id"),
    )

    id: Mapped[intpk]
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("ladder_steps.id"))
    # The Amsterdam date of a daily digest (one per person per day); None otherwise.
    digest_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[created_at]
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    deadline: Mapped[Deadline | None] = relationship()
    recipient: Mapped[User] = relationship()


class Delivery(Base):
    """One notification on one channel. E-mail ones are sent by a task, after the commit.

    ``next_attempt_at`` is both the lease of a dispatched task and the back-off after a
    failure: the sweep sends a task again for a pending delivery once it has passed, so a task
    lost with the broker, or a worker killed mid-way, only delays the message.
    ``claimed_by`` is the task run working on it: a duplicate run of the task finds it taken.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_deliveries_pending", "status", "next_attempt_at"),
    )

    id: Mapped[intpk]
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus), default=NotificationStatus.PENDING
    )
    created_at: Mapped[created_at]
    # When it should have gone: the rung's moment (the health page counts late ones).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Seconds from ``due_at`` to ``sent_at`` (kept so "late" is one portable comparison).
    delay_seconds: Mapped[int | None] = mapped_column(Integer)
    # The SMTP error class and code only: never a message body or an address.
    last_error: Mapped[str | None] = mapped_column(String(200))

    notification: Mapped[Notification] = relationship()


class SweepRun(Base):
    """One sweep: when, how long, what it did (reminder health)."""

    __tablename__ = "sweep_runs"

    id: Mapped[intpk]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    notifications: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))


class NotificationSettings(Base):
    """Where and how a person is told: e-mail address, language, digest; one row per user."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="nl")
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The Amsterdam date of the last digest round for this person (sent or nothing to say).
    last_digest_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
