"""The access log, in the manner of NEN 7513: who, on whose behalf, when, what, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mda.models.base import Base, created_at, enum_column, intpk
from mda.vocabulary import AccessAction


class AccessLogEntry(Base):
    """Append-only: a trigger refuses UPDATE and DELETE, except deleting rows older than a year.

    The retention task deletes rows past ``MDA_ACCESS_LOG_RETENTION_YEARS`` (at least one).
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_at", "at"),
        Index("ix_access_log_user_at", "user_id", "at"),
        Index("ix_access_log_trajectory_at", "trajectory_id", "at"),
    )

    id: Mapped[intpk]
    at: Mapped[created_at]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Username copied at the time, so the log reads true after a user is renamed.
    username: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[AccessAction] = mapped_column(enum_column(AccessAction))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # No foreign key: the log outlives whatever it points at.
    trajectory_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16), default="web")  # web, api, cli, worker
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
