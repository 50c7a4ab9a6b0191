"""Deadlines (the timer table), their configurable rules and the working-day calendar.

The reminder ladder's rungs, notifications and deliveries are in :mod:`mda.models.notification`.
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
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mda.models.base import Base, UTCDateTime, created_at, enum_column, intpk
from mda.models.trajectory import Trajectory
from mda.vocabulary import DeadlineKind, DeadlineStatus, DueUnit


def _default_remind_hours(context: Any) -> int:
    """The "Handle with care" school notice reminds 4 hours before its 24 hours run out."""
    kind = context.get_current_parameters().get("kind")
    return (
        4 if kind in (DeadlineKind.SCHOOL_NOTICE_DUE, DeadlineKind.SCHOOL_NOTICE_DUE.value) else 0
    )


class DeadlineRule(Base):
    """How long a deadline runs and how its reminder ladder climbs; editable by an admin."""

    __tablename__ = "deadline_rules"

    kind: Mapped[DeadlineKind] = mapped_column(enum_column(DeadlineKind), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[DueUnit] = mapped_column(enum_column(DueUnit))
    # Reminder this many working days before due (0: none); escalation this many after.
    remind_before_working_days: Mapped[int] = mapped_column(Integer, default=1)
    escalate_after_working_days: Mapped[int] = mapped_column(Integer, default=3)
    # Repeat the escalation this often (working days) until met or acknowledged (0: once).
    repeat_every_working_days: Mapped[int] = mapped_column(Integer, default=5)
    # Rules counted in hours (the 24-hour school notice) remind this many hours before due
    # instead (0: none); working days would put the reminder before the deadline opened.
    remind_before_hours: Mapped[int] = mapped_column(
        Integer, default=_default_remind_hours, server_default="0", nullable=False
    )
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Deadline(Base):
    """A deadline row, written in the transaction of the change that opens it.

    The worker sweeps rows whose ``next_action_at`` has passed; ``stage`` records how far up
    the reminder ladder it has climbed, so a sweep that runs twice sends nothing twice.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        # The sweep: open rows by next action moment.
        Index("ix_deadlines_sweep", "status", "next_action_at"),
        # The worklist: a region's open deadlines by due moment.
        Index("ix_deadlines_worklist", "region_code", "status", "due_at"),
        Index("ix_deadlines_trajectory", "trajectory_id", "kind", "status"),
        # At most one open deadline per trajectory and kind, whatever the services do.
        Index(
            "uq_deadlines_one_open",
            "trajectory_id",
            "kind",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[intpk]
    trajectory_id: Mapped[int] = mapped_column(ForeignKey("trajectories.id"))
    # Denormalised from the trajectory so the worklist needs no join to filter by region.
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    kind: Mapped[DeadlineKind] = mapped_column(enum_column(DeadlineKind))
    status: Mapped[DeadlineStatus] = mapped_column(
        enum_column(DeadlineStatus), default=DeadlineStatus.OPEN, nullable=False
    )
    opened_at: Mapped[created_at]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The ladder's next rung (0 reminder, 1 overdue, 2.. escalations; mda.services.deadlines
    # ``rung_at``); only the sweep moves it, and only forward.
    stage: Mapped[int] = mapped_column(Integer, default=0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    # How the due moment was computed (rule, amount and unit, start, working days counted,
    # weekend days and holidays skipped, art. 1 move, suspensions): see
    # mda.services.workdays.compute_due and mda.services.deadlines. None on rows of before 0002.
    computation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Why it was met or acknowledged by hand (meet_deadline / acknowledge_deadline).
    note: Mapped[str | None] = mapped_column(Text)

    trajectory: Mapped[Trajectory] = relationship(back_populates="deadlines")

    __mapper_args__ = {"version_id_col": version}


class CalendarDay(Base):
    """A day made equal to a holiday by decree (Algemene termijnenwet art. 3 lid 3).

    The statutory holidays are computed; these are kept as data an admin extends. Loaded with
    the decrees of 2026-2028 by ``load_reference_data``.
    """

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
