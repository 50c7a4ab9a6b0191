"""Retention (issue 9 point 11): closed trajectories reduced, the access log pruned, and the
append-only triggers allowing exactly that and nothing else, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from mda.models import AccessLogEntry, ChecklistItem, Trajectory, TrajectoryEvent, utcnow
from mda.services import trajectories as svc
from mda.services.errors import NotFound
from mda.services.retention import (
    RetentionResult,
    reduce_event_data,
    run_retention,
    years_before,
)
from mda.vocabulary import AccessAction, TrajectoryState
from tests.support import factories

LONG_AGO = timedelta(days=6 * 366)
RECENTLY = timedelta(days=4 * 365)


def _closed_with_free_text(session, act, coordinator, keys, reference):
    trajectory = factories.trajectory(session, coordinator, reference=reference)
    svc.fire_trigger(session, act, trajectory.id, "start_screening", reason="aangemeld door VT")
    svc.set_checklist_item(
        session, act, trajectory.id, "multiple_life_domains", True, "werk, school en wonen"
    )
    svc.suspend(session, act, trajectory.id, "gezin tijdelijk uit beeld")
    svc.resume(session, act, trajectory.id)
    svc.fire_trigger(
        session,
        act,
        trajectory.id,
        "decline",
        reason="past niet binnen MDA++",
        closure_reason="not_eligible",
        referred_back_to="wijkteam Noord",
    )
    assert trajectory.state is TrajectoryState.CLOSED
    return trajectory


def _age(session, trajectory, age):
    trajectory.closed_at = utcnow() - age
    session.flush()


def _events(session, trajectory):
    return list(
        session.scalars(
            select(TrajectoryEvent)
            .where(TrajectoryEvent.trajectory_id == trajectory.id)
            .order_by(TrajectoryEvent.seq)
            .execution_options(populate_existing=True)
        )
    )


def _run(session, **kwargs):
    return run_retention(session, retention_years=5, access_log_years=5, **kwargs)


def test_reduces_a_closed_trajectory_to_its_coarse_attributes(session, coordinator, act, keys):
    trajectory = _closed_with_free_text(session, act, coordinator, keys, "VT-RET-0001")
    before = [
        (e.seq, e.kind, e.trigger, e.from_state, e.to_state, e.at)
        for e in _events(session, trajectory)
    ]
    code = trajectory.pseudonym
    _age(session, trajectory, LONG_AGO)

    result = _run(session)

    assert (result.trajectories, result.events) == (1, len(before))
    session.expire_all()
    row = session.get(Trajectory, trajectory.id)
    assert row.redacted_at is not None
    assert row.referred_back_to is None and row.suspension_reason is None
    # What the statistics need stays.
    assert row.state is TrajectoryState.CLOSED
    assert row.closure_reason.value == "not_eligible"
    assert (row.region_code, row.referral_source.value, row.children.value) == (
        "UTR",
        "veilig_thuis",
        "1",
    )
    assert row.violence_types == ["partner_violence"]
    assert row.closed_at is not None
    # Unlinked: the reference no longer finds it, and no key is needed for it.
    assert row.key_version == 0 and row.pseudonym != code
    with pytest.raises(NotFound):
        svc.find_by_reference(session, act, "VT-RET-0001", keys=keys)
    assert all(item.details is None for item in row.checklist)
    events = _events(session, trajectory)
    assert [(e.seq, e.kind, e.trigger, e.from_state, e.to_state, e.at) for e in events] == before
    assert all(e.reason is None and e.redacted_at is not None for e in events)
    declined = events[-1]
    assert "referred_back_to" not in declined.data["params"]
    assert declined.data["params"]["closure_reason"] == "not_eligible"
    log = session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.trajectory_id == trajectory.id,
            AccessLogEntry.username == "system:worker",
        )
    ).all()
    assert [entry.details.get("change") for entry in log] == ["retention"]


def test_idempotent_batchwise_and_leaves_what_is_not_due(session, coordinator, act, keys):
    due = [
        _closed_with_free_text(session, act, coordinator, keys, f"VT-RET-1{n:03d}")
        for n in range(3)
    ]
    for trajectory in due:
        _age(session, trajectory, LONG_AGO)
    recent = _closed_with_free_text(session, act, coordinator, keys, "VT-RET-2000")
    _age(session, recent, RECENTLY)
    open_one = factories.trajectory(session, coordinator, reference="VT-RET-3000")

    first = _run(session, batch_size=2)
    assert first.trajectories == 3
    assert _run(session, batch_size=2) == RetentionResult(0, 0, 0)
    session.expire_all()
    assert session.get(Trajectory, recent.id).referred_back_to == "wijkteam Noord"
    assert any(e.reason for e in _events(session, recent))
    assert session.get(Trajectory, open_one.id).redacted_at is None
    assert svc.find_by_reference(session, act, "VT-RET-2000", keys=keys).id == recent.id


def test_access_log_rows_past_their_period_are_deleted(session):
    now = utcnow()
    for age, name in ((timedelta(days=6 * 366), "old"), (timedelta(days=4 * 365), "recent")):
        session.add(
            AccessLogEntry(
                at=now - age,
                username=name,
                action=AccessAction.READ,
                object_type="trajectory",
                channel="cli",
                details={},
            )
        )
    session.flush()
    result = run_retention(session, retention_years=5, access_log_years=5, batch_size=1)
    assert result.access_log == 1
    names = set(session.scalars(select(AccessLogEntry.username)))
    assert "old" not in names and "recent" in names


def test_the_period_is_at_least_a_year(session):
    with pytest.raises(ValueError, match="at least 1"):
        run_retention(session, retention_years=0, access_log_years=5)


def test_reduce_event_data_removes_only_free_text_paths():
    data = {"params": {"referred_back_to": "wijkteam", "closure_reason": "x"}, "deadlines": {}}
    assert reduce_event_data(data) == {"params": {"closure_reason": "x"}, "deadlines": {}}
    assert data["params"]["referred_back_to"] == "wijkteam"  # a copy
    assert reduce_event_data({"key": "k"}) == {"key": "k"}


def test_years_before_handles_leap_days():
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 5) == datetime(2023, 2, 28, tzinfo=UTC)


# --- the triggers: exactly retention, nothing else ------------------------------------------


def _refused(session, statement, **params):
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(statement, params)


def _redaction(trajectory_id, **values):
    return (
        update(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == trajectory_id)
        .values(redacted_at=utcnow(), reason=None, **values)
    )


def test_event_trigger_refuses_everything_but_retention(session, coordinator, act, keys):
    trajectory = _closed_with_free_text(session, act, coordinator, keys, "VT-RET-4000")
    tid = trajectory.id
    # An ordinary change to the event log is refused, as before.
    _refused(
        session, text("UPDATE trajectory_events SET reason = 'x' WHERE trajectory_id = :t"), t=tid
    )
    _refused(
        session, text("UPDATE trajectory_events SET reason = NULL WHERE trajectory_id = :t"), t=tid
    )
    _refused(session, text("DELETE FROM trajectory_events WHERE trajectory_id = :t"), t=tid)
    # A redaction of a trajectory closed less than a year ago is refused by the database.
    session.execute(
        update(Trajectory)
        .where(Trajectory.id == tid)
        .values(closed_at=utcnow() - timedelta(days=200))
    )
    first = _events(session, trajectory)[0]  # registered: no free text in its data
    _refused(session, _redaction(tid).where(TrajectoryEvent.id == first.id))
    # Closed long enough: still only the redaction itself.
    session.execute(
        update(Trajectory).where(Trajectory.id == tid).values(closed_at=utcnow() - LONG_AGO)
    )
    one = _redaction(tid).where(TrajectoryEvent.id == first.id)
    _refused(session, one.values(kind="tampered"))
    _refused(session, one.values(to_state="screening"))
    _refused(session, one.values(data={"region": "AMA"}))  # not a removal of free text
    _refused(
        session,
        text(
            "UPDATE trajectory_events SET redacted_at = at "
            "WHERE trajectory_id = :t AND reason IS NOT NULL"
        ),
        t=tid,
    )
    _refused(session, text("DELETE FROM trajectory_events WHERE trajectory_id = :t"), t=tid)
    with session.begin_nested():
        session.execute(one)  # the redaction itself is allowed
    # ... once: a redacted row is as immutable as any other.
    _refused(session, _redaction(tid).where(TrajectoryEvent.id == first.id))
    # Keeping free text while claiming redaction is refused.
    last = _events(session, trajectory)[-1]
    _refused(
        session,
        update(TrajectoryEvent).where(TrajectoryEvent.id == last.id).values(redacted_at=utcnow()),
    )
    assert session.scalar(
        select(func.count())
        .select_from(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == tid)
    ) == len(_events(session, trajectory))


def test_access_log_trigger_allows_only_deleting_old_rows(session):
    now = utcnow()
    old = AccessLogEntry(
        at=now - LONG_AGO,
        username="old",
        action=AccessAction.READ,
        object_type="trajectory",
        channel="cli",
        details={},
    )
    young = AccessLogEntry(
        at=now - timedelta(days=200),
        username="young",
        action=AccessAction.READ,
        object_type="trajectory",
        channel="cli",
        details={},
    )
    session.add_all([old, young])
    session.flush()
    _refused(session, delete(AccessLogEntry).where(AccessLogEntry.id == young.id))
    _refused(
        session, update(AccessLogEntry).where(AccessLogEntry.id == old.id).values(username="x")
    )
    _refused(session, update(AccessLogEntry).where(AccessLogEntry.id == old.id).values(at=now))
    with session.begin_nested():
        session.execute(delete(AccessLogEntry).where(AccessLogEntry.id == old.id))
    assert set(session.scalars(select(AccessLogEntry.username))) >= {"young"}
    assert "old" not in set(session.scalars(select(AccessLogEntry.username)))


def test_checklist_details_go_with_the_trajectory(session, coordinator, act, keys):
    trajectory = _closed_with_free_text(session, act, coordinator, keys, "VT-RET-5000")
    _age(session, trajectory, LONG_AGO)
    _run(session)
    details = session.scalars(
        select(ChecklistItem.details).where(ChecklistItem.trajectory_id == trajectory.id)
    ).all()
    assert details and all(d is None for d in details)
