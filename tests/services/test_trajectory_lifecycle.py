"""Reopen, close from screening, the impact monitor's clock, transfer and replay, on both
backends (DESIGN.md sections 3 and 4; issue 9 points 1-3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import event, select

from mda.models import Deadline, DeadlineRule, Trajectory, TrajectoryEvent, utcnow
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import TransitionRefused
from mda.services.settings import use_settings
from mda.services.workdays import due_moment
from mda.vocabulary import ClosureReason, DeadlineKind, DeadlineStatus, Role, TrajectoryState
from mda.web.api.presenters import trajectory_summary
from mda.workflows import trajectory as wf
from tests.conftest import TEST_SETTINGS
from tests.services.steps import complete, drive
from tests.support import factories

S = TrajectoryState
K = DeadlineKind
NL = ZoneInfo("Europe/Amsterdam")
NOT_ACCEPTED = (
    "it was closed before it was accepted after screening; only an accepted trajectory can be "
    "reopened: register a new referral"
)


def deadlines(session, trajectory, kind):
    return list(
        session.scalars(
            select(Deadline)
            .where(Deadline.trajectory_id == trajectory.id, Deadline.kind == kind)
            .order_by(Deadline.id)
        )
    )


def open_one(session, trajectory, kind) -> Deadline:
    rows = [d for d in deadlines(session, trajectory, kind) if d.status is DeadlineStatus.OPEN]
    assert len(rows) == 1, (kind, rows)
    return rows[0]


def assert_replay_holds(session, trajectory_id):
    row = session.get(Trajectory, trajectory_id, populate_existing=True)
    assert svc.replay_events(session, row).snapshot() == svc.current_facts(session, row).snapshot()


def to_screening(session, act, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    return drive(session, act, trajectory, S.SCREENING)


# --- reopen only what was accepted (point 2) ---------------------------------------------


def test_reopen_refuses_a_trajectory_closed_while_referred(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    closed = svc.fire_trigger(
        session, act, trajectory.id, "close", closure_reason="household_withdrew"
    )
    version = closed.version
    with pytest.raises(TransitionRefused) as refused:
        svc.reopen(session, act, trajectory.id)
    assert refused.value.unmet == [NOT_ACCEPTED]
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    assert (row.state, row.version, row.reentries) == (S.CLOSED, version, 0)


def test_reopen_refuses_a_trajectory_closed_in_screening(session, coordinator, act):
    trajectory = to_screening(session, act, coordinator)
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="household_withdrew")
    with pytest.raises(TransitionRefused) as refused:
        svc.fire_trigger(session, act, trajectory.id, "reopen")
    assert refused.value.unmet == [NOT_ACCEPTED]


def test_reopen_refuses_a_declined_trajectory(session, coordinator, act):
    trajectory = to_screening(session, act, coordinator)
    svc.fire_trigger(session, act, trajectory.id, "decline", referred_back_to="wijkteam")
    with pytest.raises(TransitionRefused) as refused:
        svc.reopen(session, act, trajectory.id)
    assert refused.value.unmet == ["a trajectory closed as not_eligible cannot be reopened"]


def test_reopen_takes_back_an_accepted_trajectory(session, coordinator, act):
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.TEAM_FORMING)
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="household_withdrew")
    reopened = svc.reopen(session, act, trajectory.id, reason="nieuwe melding")
    assert (reopened.state, reopened.reentries) == (S.IMMEDIATE_SAFETY, 1)
    assert_replay_holds(session, trajectory.id)


# --- close from screening as not eligible (point 3) --------------------------------------


def test_close_from_screening_as_not_eligible(session, coordinator, act):
    trajectory = to_screening(session, act, coordinator)
    closed = svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="not_eligible")
    assert closed.state is S.CLOSED
    assert closed.closure_reason is ClosureReason.NOT_ELIGIBLE
    # Finding the household not eligible concludes the screening: met, not cancelled.
    (screening,) = deadlines(session, trajectory, K.SCREENING_DUE)
    assert screening.status is DeadlineStatus.MET
    assert_replay_holds(session, trajectory.id)


# --- the impact monitor's clock (point 2) ------------------------------------------------


def measured(session, act, coordinator, *, typed_in_after: timedelta):
    """A trajectory in immediate safety whose measurement 1, taken today, is typed in later."""
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.IMMEDIATE_SAFETY)
    now = utcnow() + typed_in_after
    svc.record_measurement(
        session,
        act,
        trajectory.id,
        number=1,
        measured_on=today_nl(),
        violence_level="moderate",
        now=now,
    )
    return trajectory, now


def expected_due(session, now, kind):
    # Measured today (the Dutch date), at the local time of day it was typed in.
    start = datetime.combine(today_nl(), now.astimezone(NL).time().replace(tzinfo=None), NL)
    rule = session.get(DeadlineRule, kind)
    assert rule.unit.value == "months"
    return due_moment(start, rule.amount, rule.unit)


def test_measurements_2_and_3_count_from_measurement_1s_date(session, coordinator, act):
    # Typed in 20 days after it was measured: the clock still runs from the measuring day.
    trajectory, now = measured(session, act, coordinator, typed_in_after=timedelta(days=20))
    second = open_one(session, trajectory, K.MEASUREMENT_2_DUE)
    third = open_one(session, trajectory, K.MEASUREMENT_3_DUE)
    assert second.due_at == expected_due(session, now, K.MEASUREMENT_2_DUE)
    assert third.due_at == expected_due(session, now, K.MEASUREMENT_3_DUE)
    # Not six months from the day it was typed in.
    assert second.due_at < now + relativedelta(months=6) - timedelta(days=15)


@pytest.mark.parametrize("recorded", [(), (2,)])
def test_reopen_restores_the_follow_up_measurements(session, coordinator, act, recorded):
    trajectory, now = measured(session, act, coordinator, typed_in_after=timedelta(days=3))
    before = {
        kind: open_one(session, trajectory, kind).due_at
        for kind in (K.MEASUREMENT_2_DUE, K.MEASUREMENT_3_DUE)
    }
    for number in recorded:
        svc.record_measurement(
            session,
            act,
            trajectory.id,
            number=number,
            measured_on=today_nl(),
            violence_level="none",
            now=now,
        )
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="household_withdrew")
    for kind in before:
        assert all(
            d.status is not DeadlineStatus.OPEN for d in deadlines(session, trajectory, kind)
        )
    svc.reopen(session, act, trajectory.id)
    second = [d for d in deadlines(session, trajectory, K.MEASUREMENT_2_DUE)]
    if 2 in recorded:
        assert all(d.status is not DeadlineStatus.OPEN for d in second)
    else:
        assert (
            open_one(session, trajectory, K.MEASUREMENT_2_DUE).due_at == before[K.MEASUREMENT_2_DUE]
        )
    assert open_one(session, trajectory, K.MEASUREMENT_3_DUE).due_at == before[K.MEASUREMENT_3_DUE]
    assert not [
        d
        for d in deadlines(session, trajectory, K.MEASUREMENT_1_DUE)
        if d.status is DeadlineStatus.OPEN
    ]
    assert_replay_holds(session, trajectory.id)


def test_reopen_before_measurement_1_makes_it_due_again(session, coordinator, act):
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.IMMEDIATE_SAFETY)
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="other")
    svc.reopen(session, act, trajectory.id)
    open_one(session, trajectory, K.MEASUREMENT_1_DUE)
    assert not [
        d
        for d in deadlines(session, trajectory, K.MEASUREMENT_2_DUE)
        if d.status is DeadlineStatus.OPEN
    ]


# --- replay (point 1) --------------------------------------------------------------------


def test_replay_holds_under_a_non_default_screening_rule(session):
    coordinator = factories.user(session)
    act = factories.actor(coordinator)
    lenient = wf.ScreeningRule.from_settings(
        wf.DEFAULT_SCREENING_RULE.required, wf.DEFAULT_SCREENING_RULE.others, 0
    )
    use_settings(session, replace(TEST_SETTINGS, screening_rule=lenient))
    trajectory = to_screening(session, act, coordinator)
    for key in wf.DEFAULT_SCREENING_RULE.required:
        svc.set_checklist_item(session, act, trajectory.id, key, True)
    for key in wf.DEFAULT_SCREENING_RULE.others:
        svc.set_checklist_item(session, act, trajectory.id, key, False)
    accepted = svc.fire_trigger(session, act, trajectory.id, "accept")
    assert accepted.state is S.TEAM_FORMING
    assert_replay_holds(session, trajectory.id)
    # And it keeps holding when the setting goes back to the default.
    use_settings(session, TEST_SETTINGS)
    assert_replay_holds(session, trajectory.id)


def test_replay_follows_a_transfer_that_unassigns_the_coordinator(session):
    manager = factories.user(session, Role.COORDINATOR, ["UTR", "AMA"])
    local = factories.user(session, Role.COORDINATOR, ["UTR"])
    act = factories.actor(manager)
    trajectory = factories.trajectory(session, local)
    moved = svc.transfer(session, act, trajectory.id, "AMA")
    assert (moved.region_code, moved.coordinator_id) == ("AMA", None)
    replayed = svc.replay_events(session, moved)
    assert (replayed.region, replayed.coordinator_id) == ("AMA", None)
    assert_replay_holds(session, trajectory.id)


def test_replay_holds_through_suspension_relapse_close_and_reopen(session, coordinator, act):
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.RECOVERY)
    svc.suspend(session, act, trajectory.id, "wacht op opname")
    svc.resume(session, act, trajectory.id)
    svc.fire_trigger(session, act, trajectory.id, "relapse", incident_date=today_nl())
    complete(session, act, session.get(Trajectory, trajectory.id))
    svc.suspend(session, act, trajectory.id, "wacht op opname")
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="stepped_down")
    svc.reopen(session, act, trajectory.id)
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    assert (row.relapses, row.reentries, row.suspended_at) == (1, 1, None)
    assert_replay_holds(session, trajectory.id)


# --- lists load coordinators with the page (structure) -------------------------------------


def test_a_list_loads_its_coordinators_with_the_page(session, coordinator, act):
    for _ in range(4):
        factories.trajectory(session, factories.user(session, Role.COORDINATOR, ["UTR"]))
    session.expunge_all()  # nothing in the identity map: each lazy load would be a query
    statements = []

    def count(*args, **kwargs):
        statements.append(args[2])

    bind = session.connection().engine
    event.listen(bind, "before_cursor_execute", count)
    try:
        rows, _total = svc.list_trajectories(session, act)
        before = len(statements)
        summaries = [trajectory_summary(row) for row in rows]
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(summaries) >= 4
    assert all(s["coordinator"] is not None for s in summaries)
    assert len(statements) == before, statements[before:]


# --- the shared preamble of a change -------------------------------------------------------


def test_trajectory_change_checks_the_version_and_needs_one_event(session, coordinator, act):
    from mda.services.errors import Conflict

    trajectory = factories.trajectory(session, coordinator)
    with (
        pytest.raises(Conflict),
        svc.trajectory_change(session, act, trajectory.id, expected_version=trajectory.version + 1),
    ):
        pass  # pragma: no cover - never reached
    with (
        pytest.raises(RuntimeError, match="must record its event"),
        svc.trajectory_change(session, act, trajectory.id) as change,
    ):
        change.trajectory.referred_back_to = "ergens"
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    assert (row.version, row.referred_back_to) == (1, None)
    with svc.trajectory_change(session, act, trajectory.id, expected_version=1) as change:
        change.record("coordinator", data={"coordinator_id": coordinator.id})
        with pytest.raises(RuntimeError, match="one event"):
            change.record("coordinator")
    assert session.get(Trajectory, trajectory.id).version == 2


def test_resume_keeps_its_reason_in_the_event(session):
    coordinator = factories.user(session)
    act = factories.actor(coordinator)
    trajectory = factories.trajectory(session, coordinator)
    svc.suspend(session, act, trajectory.id, "gezin tijdelijk uit beeld")
    svc.resume(session, act, trajectory.id, reason="  gezin weer bereikbaar ")
    event = session.scalars(
        select(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == trajectory.id)
        .order_by(TrajectoryEvent.seq.desc())
    ).first()
    assert (event.kind, event.reason) == ("resumed", "gezin weer bereikbaar")
