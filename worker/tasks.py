"""Celery tasks: thin wrappers that take ids, call a service and are safe to run twice."""

from __future__ import annotations

import socket

from celery import shared_task
from flask import current_app

from mda.extensions import db
from mda.models import utcnow
from mda.services import retention, system


@shared_task(name="mda.ping")
def ping(token: str) -> dict[str, str]:
    """Echo ``token`` with the worker's host name: proves the broker and a worker are alive."""
    return {"token": token, "worker": socket.gethostname(), "at": utcnow().isoformat()}


@shared_task(name="mda.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Record that beat and a worker are running (shown as reminder health); idempotent."""
    return system.record_heartbeat(db.session, f"worker@{socket.gethostname()}").isoformat()


@shared_task(name="mda.prune_login_attempts", ignore_result=True)
def prune_login_attempts() -> int:
    """Drop sign-in attempts past their retention (MDA_LOGIN_ATTEMPT_RETENTION_DAYS)."""
    config = current_app.config
    return system.prune_login_attempts(
        db.session,
        retention_days=int(config["LOGIN_ATTEMPT_RETENTION_DAYS"]),
        throttle_window_minutes=int(config["LOGIN_THROTTLE_WINDOW_MINUTES"]),
    )


@shared_task(name="mda.apply_retention", ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Reduce closed trajectories past MDA_RETENTION_YEARS and delete access-log rows past
    MDA_ACCESS_LOG_RETENTION_YEARS; batch-wise and idempotent."""
    config = current_app.config
    result = retention.run_retention(
        db.session,
        retention_years=int(config["RETENTION_YEARS"]),
        access_log_years=int(config["ACCESS_LOG_RETENTION_YEARS"]),
    )
    return {
        "trajectories": result.trajectories,
        "events": result.events,
        "access_log": result.access_log,
    }
