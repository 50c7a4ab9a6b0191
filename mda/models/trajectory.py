"""A household's trajectory: state, events, checklist items and safety measurements.

No direct identifier lives here: the household is known by a keyed pseudonym, and only coarse
attributes are kept (DESIGN.md section 6).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from mda.models.base import Base, UTCDateTime, created_at, enum_column, intpk, utcnow
from mda.models.user import User
from mda.vocabulary import (
    ChildrenBucket,
    ClosureReason,
    DeadlineKind,
    ReferralSource,
    TrajectoryState,
    ViolenceLevel,
)

if TYPE_CHECKING:
    from mda.models.deadline import Deadline

#: "Not closed", as the worklist index and its queries write it (a literal, never a
#: parameter: a partial index is only used when the query's predicate matches it).
OPEN_PREDICATE = "state <> 'closed'"


class Trajectory(Base):
    """One referred household's MDA++ trajectory. The row is the source of truth for state."""

    __tablename__ = "trajectories"
    __table_args__ = (
        UniqueConstraint("pseudonym_hash"),
        Index("ix_trajectories_region_state", "region_code", "state"),
        # The coordinator's worklist (mda.services.worklist): a region's open trajectories,
        # earliest due first, paged by (next_due_at, id). The predicate is written as the
        # worklist writes it, with the literal, so the planner can prove it.
        Index(
            "ix_trajectories_worklist",
            "region_code",
            "next_due_at",
            "id",
            postgresql_where=text(OPEN_PREDICATE),
            sqlite_where=text(OPEN_PREDICATE),
        ),
    )

    id: Mapped[intpk]
    # HMAC-SHA256 of the normalised source reference (hex), and its short readable form.
    pseudonym_hash: Mapped[str] = mapped_column(String(64))
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    key_version: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    state: Mapped[TrajectoryState] = mapped_column(
        enum_column(TrajectoryState), default=TrajectoryState.REFERRED, nullable=False
    )
    # Optimistic locking: every accepted change increments it; a stale write is a conflict.
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    referral_source: Mapped[ReferralSource] = mapped_column(enum_column(ReferralSource))
    violence_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    children: Mapped[ChildrenBucket] = mapped_column(enum_column(ChildrenBucket, length=2))
    # The day the referral reached the team (the Dutch date); deadlines that count from the
    # referral count from it. It may lie before the day it was registered (created_at).
    referred_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The earliest open deadline, denormalised for the worklist's order (kept by
    # mda.services.deadlines on every change to a deadline; None: no open deadline). The
    # kind is a copy of deadlines.kind, which is checked there: no CHECK of its own.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_due_kind: Mapped[DeadlineKind | None] = mapped_column(
        Enum(
            DeadlineKind,
            values_callable=lambda members: [m.value for m in members],
            native_enum=False,
            create_constraint=False,
            length=32,
            validate_strings=True,
        )
    )
    closure_reason: Mapped[ClosureReason | None] = mapped_column(enum_column(ClosureReason))
    referred_back_to: Mapped[str | None] = mapped_column(String(120))
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reentries: Mapped[int] = mapped_column(Integer, default=0)
    relapses: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Set when retention reduced the closed trajectory to its coarse attributes.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    coordinator: Mapped[User | None] = relationship(back_populates="coordinated_trajectories")
    deadlines: WriteOnlyMapped[Deadline] = relationship(
        back_populates="trajectory", order_by="Deadline.due_at"
    )
    events: WriteOnlyMapped[TrajectoryEvent] = relationship(
        back_populates="trajectory", order_by="TrajectoryEvent.seq", passive_deletes=True
    )
    checklist: Mapped[list[ChecklistItem]] = relationship(
        back_populates="trajectory", cascade="all, delete-orphan", order_by="ChecklistItem.key"
    )
    measurements: Mapped[list[SafetyMeasurement]] = relationship(
        back_populates="trajectory",
        cascade="all, delete-orphan",
        order_by="SafetyMeasurement.number",
    )

    # The services set the version themselves (one increment per accepted change, however
    # often the session flushes), so the event written with a change can carry it as ``seq``.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class TrajectoryEvent(Base):
    """Append-only: one row per accepted change. Replaying them gives the current state.

    The database refuses UPDATE and DELETE, except retention's redaction of a trajectory
    closed at least a year ago (migration 0004_retention).
    """

    __tablename__ = "trajectory_events"
    __table_args__ = (UniqueConstraint("trajectory_id", "seq"),)

    id: Mapped[intpk]
    trajectory_id: Mapped[int] = mapped_column(ForeignKey("trajectories.id"))
    # The trajectory's version after this change: a doubled or lost event breaks the sequence.
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[created_at]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # transition, checklist, measurement, ...
    trigger: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Retention's one permitted change: free text removed (the trigger checks exactly that).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    trajectory: Mapped[Trajectory] = relationship(back_populates="events")


class ChecklistItem(Base):
    """A checklist item or screening criterion. ``done`` None means not (yet) assessed."""

    __tablename__ = "checklist_items"

    trajectory_id: Mapped[int] = mapped_column(
        ForeignKey("trajectories.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    done: Mapped[bool | None] = mapped_column(Boolean)
    details: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    trajectory: Mapped[Trajectory] = relationship(back_populates="checklist")


class SafetyMeasurement(Base):
    """A safety measurement in the manner of the impact monitor (number 1, 2, 3, ...)."""

    __tablename__ = "safety_measurements"
    __table_args__ = (UniqueConstraint("trajectory_id", "number"),)

    id: Mapped[intpk]
    trajectory_id: Mapped[int] = mapped_column(ForeignKey("trajectories.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    measured_on: Mapped[date] = mapped_column(Date)
    violence_level: Mapped[ViolenceLevel] = mapped_column(enum_column(ViolenceLevel))
    safety_score: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[created_at]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    trajectory: Mapped[Trajectory] = relationship(back_populates="measurements")
