"""Celery tasks: thin wrappers that take ids, call a service and are safe to run twice."""

from __future__ import annotations

import socket
from datetime import datetime

from celery import shared_task

from mda.extensions import db
from mda.models import WorkerHeartbeat, utcnow


@shared_task(name="mda.ping")
def ping(token: str) -> dict[str, str]:
    """Echo ``token`` with the worker's host name: proves the broker and a worker are alive."""
    return {"token": token, "worker": socket.gethostname(), "at": utcnow().isoformat()}


@shared_task(name="mda.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Record that beat and a worker are running (shown as reminder health); idempotent."""
    name = f"worker@{socket.gethostname()}"
    now: datetime = utcnow()
    session = db.session
    row = session.get(WorkerHeartbeat, name)
    if row is None:
        session.add(WorkerHeartbeat(name=name, last_seen_at=now))
    else:
        row.last_seen_at = now
    session.commit()
    return now.isoformat()
