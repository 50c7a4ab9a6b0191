"""Operational state: worker heartbeats, so managers and operators see reminder health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mda.models.base import Base, UTCDateTime


class WorkerHeartbeat(Base):
    """Last time a Celery worker (and beat, through it) did a round of work."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
