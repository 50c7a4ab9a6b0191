"""On PostgreSQL, two sessions firing at the same trajectory at once: one wins, one conflicts."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Trajectory, TrajectoryEvent
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import Conflict
from mda.vocabulary import TrajectoryState
from tests.conftest import fresh_postgres_database, migrate
from tests.services.steps import complete, drive
from tests.support import factories

ROUNDS = 25


@pytest.mark.postgres
def test_concurrent_triggers_one_wins_one_conflicts(postgres_server):
    engine = fresh_postgres_database(postgres_server, "mda_concurrency")
    try:
        migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            coordinator = factories.user(session)
            act = factories.actor(coordinator)
            trajectory = drive(
                session, act, factories.trajectory(session, coordinator), TrajectoryState.RISK_CARE
            )
            trajectory_id = trajectory.id

        outcomes: list[str] = []
        lock = threading.Lock()

        def contender(trigger: str, version: int, barrier: threading.Barrier, **kwargs) -> None:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait()
                try:
                    svc.fire_trigger(
                        own, act, trajectory_id, trigger, expected_version=version, **kwargs
                    )
                    result = "won"
                except Conflict:
                    result = "conflict"
            with lock:
                outcomes.append(result)

        for round_number in range(ROUNDS):
            with Session(engine, expire_on_commit=False) as session:
                row = session.get(Trajectory, trajectory_id)
                if row.state is TrajectoryState.IMMEDIATE_SAFETY:
                    complete(session, act, row)
                    row = session.get(Trajectory, trajectory_id, populate_existing=True)
                version, state = row.version, row.state
            if state is TrajectoryState.RISK_CARE:
                trigger, kwargs = "relapse", {"incident_date": today_nl()}
            else:
                trigger, kwargs = "safety_established", {}
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=contender, args=(trigger, version, barrier), kwargs=kwargs)
                for _ in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(outcomes[-2:]) == ["conflict", "won"], round_number

        with Session(engine) as session:
            row = session.get(Trajectory, trajectory_id)
            events = list(
                session.scalars(
                    select(TrajectoryEvent)
                    .where(TrajectoryEvent.trajectory_id == trajectory_id)
                    .order_by(TrajectoryEvent.seq)
                )
            )
            assert [e.seq for e in events] == list(range(1, row.version + 1))
            contested = [e for e in events if e.trigger in ("relapse", "safety_established")]
            # One event per round for the winner, plus the one safety_established of the drive.
            assert len(contested) == ROUNDS + 1
            assert outcomes.count("won") == ROUNDS
            assert row.relapses == sum(1 for e in contested if e.trigger == "relapse")
            assert (
                svc.replay_events(session, row).snapshot()
                == svc.current_facts(session, row).snapshot()
            )
    finally:
        engine.dispose()
