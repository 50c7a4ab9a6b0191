"""Housekeeping tasks: heartbeat and the retention of sign-in attempts."""

from datetime import timedelta

from sqlalchemy import select

from mda.models import LoginAttempt, WorkerHeartbeat, utcnow
from worker import tasks


def _attempt(session, age, name="someone"):
    session.add(
        LoginAttempt(username=name, remote_addr="192.0.2.7", succeeded=False, at=utcnow() - age)
    )


def test_prune_keeps_recent_attempts_and_runs_twice_safely(app, session):
    _attempt(session, timedelta(days=45), "old")
    _attempt(session, timedelta(days=29), "recent")
    _attempt(session, timedelta(minutes=1), "now")
    session.flush()

    assert tasks.prune_login_attempts.delay().get() == 1
    assert tasks.prune_login_attempts.delay().get() == 0
    left = sorted(session.scalars(select(LoginAttempt.username)))
    assert left == ["now", "recent"]


def test_retention_never_cuts_into_the_throttle_window(app, session):
    app.config["LOGIN_ATTEMPT_RETENTION_DAYS"] = 0
    app.config["LOGIN_THROTTLE_WINDOW_MINUTES"] = 15
    _attempt(session, timedelta(minutes=5), "throttled")
    _attempt(session, timedelta(minutes=20), "expired")
    session.flush()
    assert tasks.prune_login_attempts.delay().get() == 1
    assert list(session.scalars(select(LoginAttempt.username))) == ["throttled"]


def test_heartbeat_records_and_updates_one_row(app, session):
    tasks.heartbeat.delay().get()
    first = session.scalars(select(WorkerHeartbeat)).one().last_seen_at
    tasks.heartbeat.delay().get()
    rows = session.scalars(select(WorkerHeartbeat)).all()
    assert len(rows) == 1 and rows[0].last_seen_at >= first


def test_beat_schedules_the_housekeeping(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} >= {
        "mda.heartbeat",
        "mda.prune_login_attempts",
    }


def test_retention_task_prunes_the_access_log_and_is_scheduled(app, session):
    from mda.models import AccessLogEntry
    from mda.vocabulary import AccessAction

    app.config["ACCESS_LOG_RETENTION_YEARS"] = 2
    for age, name in ((timedelta(days=3 * 366), "old"), (timedelta(days=365 + 200), "kept")):
        session.add(
            AccessLogEntry(
                at=utcnow() - age,
                username=name,
                action=AccessAction.READ,
                object_type="trajectory",
                channel="cli",
                details={},
            )
        )
    session.flush()
    assert tasks.apply_retention.delay().get()["access_log"] == 1
    assert tasks.apply_retention.delay().get() == {"trajectories": 0, "events": 0, "access_log": 0}
    names = set(session.scalars(select(AccessLogEntry.username)))
    assert "kept" in names and "old" not in names
    schedule = app.extensions["celery"].conf.beat_schedule
    assert "mda.apply_retention" in {entry["task"] for entry in schedule.values()}
