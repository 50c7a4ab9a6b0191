"""Housekeeping run by the worker: heartbeats and retention of sign-in attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from mda.models import LoginAttempt, WorkerHeartbeat
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work


def record_heartbeat(session: Session, name: str, now: datetime | None = None) -> datetime:
    """Record that worker ``name`` did a round of work; running it twice does no harm."""
    now = now or settings_of(session).now()
    with unit_of_work(session):
        row = session.get(WorkerHeartbeat, name)
        if row is None:
            session.add(WorkerHeartbeat(name=name, last_seen_at=now))
        else:
            row.last_seen_at = max(row.last_seen_at, now)
    return now


def prune_login_attempts(
    session: Session, retention_days: int, throttle_window_minutes: int, now: datetime | None = None
) -> int:
    """Delete sign-in attempts older than the retention; return how many went.

    The addresses and usernames in them are personal data of the professionals, kept only as
    long as they serve throttling and security review. Never shorter than the throttle window,
    or pruning would reset a running throttle.
    """
    now = now or settings_of(session).now()
    keep = max(timedelta(days=retention_days), timedelta(minutes=throttle_window_minutes))
    with unit_of_work(session):
        result = session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - keep))
    return getattr(result, "rowcount", 0) or 0
