"""Property: random trigger sequences with random checklist changes keep the trajectory sound.

Always a valid state, the version counts the accepted changes (one event each, ``seq`` equal to
the version), and replaying the event log reproduces the row. Each walk starts at a random
state of the path, so later phases are explored too. Runs on SQLite, in its own
transaction that is rolled back at the end.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Trajectory, TrajectoryEvent
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import DomainError
from mda.vocabulary import ClosureReason, TrajectoryState
from mda.workflows import trajectory as wf
from tests.services.steps import FORWARD, PATH, drive
from tests.support import factories

CLOSURES = [None, *(r.value for r in ClosureReason)]

fire = st.tuples(
    st.just("fire"),
    st.sampled_from(wf.TRIGGER_NAMES),
    st.sampled_from(CLOSURES),
    st.sampled_from([None, "wijkteam"]),
    # An incident date within the trajectory's life (it was registered today), or none.
    st.sampled_from([None, "today"]),
)
tick = st.tuples(
    st.just("tick"),
    st.sampled_from(sorted(wf.CHECKLIST_STATE)),
    st.sampled_from([True, True, False, None]),
)
measure = st.tuples(st.just("measure"), st.integers(min_value=1, max_value=4))
other = st.sampled_from([("suspend",), ("resume",), ("resume",), ("unassign",), ("assign",)])
# Forward progress is rare when every step is uniform: "complete" ticks every item of the
# current state (and records measurement 1 there), "forward" fires the state's next trigger.
progress = st.sampled_from([("complete",), ("forward",)])
step = st.one_of(fire, tick, measure, other, *[progress] * 6)


@pytest.fixture
def sqlite_session(sqlite_engine):
    with sqlite_engine.connect() as connection:
        outer = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session
        outer.rollback()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=st.sampled_from(PATH), steps=st.lists(step, min_size=15, max_size=60))
def test_random_sequences_keep_the_trajectory_sound(sqlite_session, start, steps):
    session = sqlite_session
    coordinator = factories.user(session)
    act = factories.actor(coordinator)
    trajectory = factories.trajectory(session, coordinator)
    # Start the random walk anywhere on the path, so the later phases (risk, recovery,
    # aftercare: relapse and reopen) are explored as often as the intake.
    trajectory = drive(session, act, trajectory, start)
    event(f"started in {start.value}")
    accepted = trajectory.version - 1

    def attempt(call, *args, **kwargs):
        nonlocal accepted
        try:
            call(session, act, trajectory.id, *args, **kwargs)
            accepted += 1
        except DomainError:
            pass

    for action in steps:
        kind = action[0]
        state = session.get(Trajectory, trajectory.id).state
        if kind == "complete":
            for spec in wf.CHECKLISTS.get(state, ()):
                attempt(svc.set_checklist_item, spec.key, True)
            attempt(
                svc.record_measurement,
                number=1,
                measured_on=today_nl(),
                violence_level="none",
            )
            action = ("skip",)
        elif kind == "forward":
            action = ("fire", FORWARD.get(state, "reopen"), None, None, None)
        kind = action[0]
        try:
            if kind == "skip":
                continue
            if kind == "fire":
                _, trigger, closure, back_to, incident = action
                svc.fire_trigger(
                    session,
                    act,
                    trajectory.id,
                    trigger,
                    closure_reason=closure,
                    referred_back_to=back_to,
                    incident_date=today_nl() if incident == "today" else incident,
                )
            elif kind == "tick":
                svc.set_checklist_item(session, act, trajectory.id, action[1], action[2])
            elif kind == "measure":
                svc.record_measurement(
                    session,
                    act,
                    trajectory.id,
                    number=action[1],
                    measured_on=today_nl(),
                    violence_level="moderate",
                )
            elif kind == "suspend":
                svc.suspend(session, act, trajectory.id, "wacht op opname")
            elif kind == "resume":
                svc.resume(session, act, trajectory.id)
            else:
                svc.assign_coordinator(
                    session, act, trajectory.id, coordinator.id if kind == "assign" else None
                )
            accepted += 1
        except DomainError:
            pass
        row = session.get(Trajectory, trajectory.id, populate_existing=True)
        assert row.state in TrajectoryState
        assert (row.state is TrajectoryState.CLOSED) == (row.closure_reason is not None)
        assert (row.state is TrajectoryState.CLOSED) == (row.closed_at is not None)
        assert row.version == 1 + accepted
        seqs = list(
            session.scalars(
                select(TrajectoryEvent.seq)
                .where(TrajectoryEvent.trajectory_id == row.id)
                .order_by(TrajectoryEvent.seq)
            )
        )
        assert seqs == list(range(1, row.version + 1))
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    event(f"ended in {row.state.value}")
    assert svc.replay_events(session, row).snapshot() == svc.current_facts(row).snapshot()
