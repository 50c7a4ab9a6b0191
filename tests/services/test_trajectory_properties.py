"""Property: random trigger sequences with random checklist changes keep the trajectory sound.

Always a valid state, the version counts the accepted changes (one event each, ``seq`` equal to
the version), and after every step replaying the event log reproduces the row in every field
the events can change (state, version, region, coordinator, checklist, measurements, closure,
suspension, relapse and re-entry counters). The walks include transfers (which may unassign
the coordinator), suspensions and resumptions, closing and reopening, and run under a random
screening rule (``MDA_SCREENING_MIN_OTHERS`` 0 to 3), so a replay that judged an ``accept`` by
the default rule would fail. Each walk starts at a random state of the path, so later phases
are explored too. Runs on SQLite, in its own transaction that is rolled back at the end.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Trajectory, TrajectoryEvent
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import DomainError
from mda.services.settings import use_settings
from mda.vocabulary import ClosureReason, TrajectoryState
from mda.vocabulary import TrajectoryState as S
from mda.workflows import trajectory as wf
from tests.conftest import TEST_SETTINGS
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
other = st.sampled_from(
    [
        ("suspend",),
        ("resume",),
        ("resume",),
        ("unassign",),
        ("assign",),
        ("assign_local",),
        ("transfer", "AMA"),
        ("transfer", "UTR"),
    ]
)
# Forward progress is rare when every step is uniform: "complete" ticks every item of the
# current state (and records measurement 1 there), "forward" fires the state's next trigger.
progress = st.sampled_from([("complete",), ("forward",)])
# "assess" meets the required screening criteria and the others as drawn, so an accept that
# only a lenient rule allows happens often enough.
assess = st.tuples(st.just("assess"), st.tuples(st.booleans(), st.booleans(), st.booleans()))
step = st.one_of(fire, tick, measure, other, assess, *[progress] * 6)


@pytest.fixture
def sqlite_session(sqlite_engine):
    with sqlite_engine.connect() as connection:
        outer = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            use_settings(session, TEST_SETTINGS)
            yield session
        outer.rollback()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # accepted under "0 of the others": the default rule would refuse it on replay
    start=S.SCREENING, steps=[("assess", (False, False, False)), ("forward",)], min_others=0
)
@example(  # the colleague works in UTR only: the transfer unassigns them
    start=S.TEAM_FORMING, steps=[("transfer", "AMA")], min_others=1
)
@given(
    start=st.sampled_from(PATH),
    steps=st.lists(step, min_size=15, max_size=60),
    min_others=st.sampled_from([0, 1, 2, 3]),
)
def test_random_sequences_keep_the_trajectory_sound(sqlite_session, start, steps, min_others):
    # The services read the screening rule from the session's settings, as an app's would.
    rule = wf.ScreeningRule.from_settings(
        wf.DEFAULT_SCREENING_RULE.required, wf.DEFAULT_SCREENING_RULE.others, min_others
    )
    use_settings(sqlite_session, replace(TEST_SETTINGS, screening_rule=rule))
    walk(sqlite_session, start, steps)
    event(f"screening rule: at least {min_others} of the others")


def walk(session, start, steps):
    # The acting coordinator works in both regions, so a transfer keeps the trajectory in
    # reach; the colleague works in UTR only, so a transfer to AMA unassigns them.
    coordinator = factories.user(session, regions=["UTR", "AMA"])
    colleague = factories.user(session, regions=["UTR"])
    act = factories.actor(coordinator)
    trajectory = factories.trajectory(session, colleague)
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
        elif kind == "assess":
            if state is TrajectoryState.SCREENING:
                for key in wf.DEFAULT_SCREENING_RULE.required:
                    attempt(svc.set_checklist_item, key, True)
                for key, met in zip(wf.DEFAULT_SCREENING_RULE.others, action[1], strict=True):
                    attempt(svc.set_checklist_item, key, met)
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
            elif kind == "transfer":
                svc.transfer(session, act, trajectory.id, action[1])
                event("transferred")
            else:
                chosen = {"assign": coordinator.id, "assign_local": colleague.id}.get(kind)
                svc.assign_coordinator(session, act, trajectory.id, chosen)
            if kind == "fire" and action[1] == "reopen":
                event("reopened")
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
        replayed = svc.replay_events(session, row)
        assert replayed.snapshot() == svc.current_facts(session, row).snapshot()
        assert (replayed.region, replayed.coordinator_id) == (row.region_code, row.coordinator_id)
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    event(f"ended in {row.state.value}")
