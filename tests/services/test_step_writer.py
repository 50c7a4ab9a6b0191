"""The step writer (mda.services.trajectories.steps): one load, a few Core writes, a conflict
on a stale version, the deadline rules' cache, and the session's copy kept current."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.orm import Session

from mda.extensions import make_engine
from mda.models import AccessLogEntry, ChecklistItem, Deadline, Trajectory, TrajectoryEvent
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import Conflict
from mda.services.settings import use_settings
from mda.services.trajectories import steps
from mda.vocabulary import DeadlineKind, DeadlineStatus
from mda.vocabulary import TrajectoryState as S
from tests.conftest import TEST_SETTINGS, fresh_postgres_database, migrate
from tests.services.steps import complete, drive
from tests.support import factories

_TRAJECTORIES = Trajectory.__table__


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def committing_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of the test's own whose commits are real (no savepoints around them)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'steps.sqlite'}")
    else:
        server = request.getfixturevalue("postgres_server")
        engine = fresh_postgres_database(server, "mda_step_writer")
    migrate(engine)
    yield engine
    engine.dispose()


def new_session(engine: Engine) -> Session:
    return use_settings(Session(engine, expire_on_commit=False), TEST_SETTINGS)


# --- a stale version is a conflict, on the real commit path ------------------------------


def test_a_change_between_load_and_write_is_a_conflict(committing_engine):
    with new_session(committing_engine) as session:
        coordinator = factories.user(session)
        act = factories.actor(coordinator)
        tid = factories.trajectory(session, coordinator).id
        session.commit()
        version = session.get(Trajectory, tid).version

        what = "checklist lead_assigned"
        with (
            pytest.raises(Conflict) as caught,
            steps.trajectory_step(session, act, tid, what=what) as step,
        ):
            step.set_item("lead_assigned", True, None)
            step.record("checklist")
            # Someone else's change lands after the load: the row's version moves on.
            session.connection().execute(
                update(_TRAJECTORIES)
                .where(_TRAJECTORIES.c.id == tid)
                .values(version=_TRAJECTORIES.c.version + 1)
            )
        assert "changed by someone else" in str(caught.value)

    with new_session(committing_engine) as session:
        # Rolled back as a whole (the simulated change too), and the refusal kept in the log.
        assert session.get(Trajectory, tid).version == version
        assert session.scalar(select(ChecklistItem).filter_by(trajectory_id=tid)) is None
        refusal = session.scalars(
            select(AccessLogEntry).filter_by(trajectory_id=tid).order_by(AccessLogEntry.id)
        ).all()[-1]
        assert refusal.details == {
            "change": "checklist lead_assigned",
            "refused": True,
            "reason": "conflict",
        }


@pytest.mark.postgres
def test_two_sessions_racing_on_postgresql_one_conflicts(postgres_server):
    engine = fresh_postgres_database(postgres_server, "mda_step_race")
    try:
        migrate(engine)
        with new_session(engine) as session:
            coordinator = factories.user(session)
            act = factories.actor(coordinator)
            tid = drive(session, act, factories.trajectory(session, coordinator), S.TEAM_FORMING).id
            session.commit()

        with (
            new_session(engine) as first,
            new_session(engine) as second,
            pytest.raises(Conflict),
            steps.trajectory_step(first, act, tid, what="checklist lead_assigned") as step,
        ):
            step.set_item("lead_assigned", True, None)
            step.record("checklist")
            # The second session loads after the first and commits before it writes.
            svc.set_checklist_item(second, act, tid, "initial_plan", True)

        with new_session(engine) as session:
            row = session.get(Trajectory, tid)
            items = {i.key: i.done for i in row.checklist}
            assert items.get("initial_plan") is True
            assert "lead_assigned" not in items
            seqs = session.scalars(
                select(TrajectoryEvent.seq).filter_by(trajectory_id=tid).order_by("seq")
            ).all()
            assert seqs == list(range(1, row.version + 1))
    finally:
        engine.dispose()


# --- round trips per step --------------------------------------------------------------


class Statements:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement.split(None, 1)[0].upper())


def test_round_trips_per_step(committing_engine):
    """Each step: one SELECT, the versioned UPDATE and the step's own writes; nothing more.

    The limits are what the step writer does today (W1 measures what each one costs): a
    regression (a second SELECT, a write split in two) fails here.
    """
    sqlite = committing_engine.dialect.name == "sqlite"
    begin = 1 if sqlite else 0  # SQLite's BEGIN IMMEDIATE is a statement of its own

    def most(on_sqlite: int) -> int:
        # PostgreSQL: the load and one data-modifying statement carrying every write.
        return begin + on_sqlite if sqlite else 2

    with new_session(committing_engine) as session:
        coordinator = factories.user(session)
        act = factories.actor(coordinator)
        trajectory = drive(session, act, factories.trajectory(session, coordinator), S.SCREENING)
        session.commit()
        tid = trajectory.id
        session.expunge_all()
        svc.set_checklist_item(session, act, tid, "multiple_life_domains", True)  # warm caches

        with Statements(committing_engine) as counted:
            svc.set_checklist_item(session, act, tid, "interrelated_problems", True)
        # SELECT, UPDATE trajectory, INSERT item, INSERT event, INSERT access
        assert counted.seen.count("SELECT") == 1
        assert len(counted.seen) <= most(5), counted.seen

        for key in ("intergenerational", "severe_or_persistent", "needs_care_and_justice"):
            svc.set_checklist_item(session, act, tid, key, True)
        with Statements(committing_engine) as counted:
            svc.fire_trigger(session, act, tid, "accept")
        # SELECT, UPDATE trajectory, UPDATE deadline met, INSERT deadlines, event, access
        assert counted.seen.count("SELECT") == 1
        assert len(counted.seen) <= most(6), counted.seen

        session.expunge_all()
        complete(session, act, session.get(Trajectory, tid))
        svc.fire_trigger(session, act, tid, "form_team")
        with Statements(committing_engine) as counted:
            svc.record_measurement(
                session,
                act,
                tid,
                number=1,
                measured_on=today_nl(),
                violence_level="moderate",
            )
        # SELECT, UPDATE trajectory, UPDATE deadline met, INSERT measurement, INSERT deadlines,
        # event, access
        assert counted.seen.count("SELECT") == 1
        assert len(counted.seen) <= most(7), counted.seen


def test_round_trips_of_a_registration(committing_engine):
    """A registration: the region codes, the candidates' rows, the coordinator, the rule, the
    row in a savepoint, its event, access-log and deadline rows; nothing more."""
    sqlite = committing_engine.dialect.name == "sqlite"
    with new_session(committing_engine) as session:
        coordinator = factories.user(session)
        act = factories.actor(coordinator)
        factories.trajectory(session, coordinator)  # warm caches
        session.commit()
        session.expunge_all()
        with Statements(committing_engine) as counted:
            svc.register_referral(
                session,
                act,
                region="UTR",
                reference="ROUND-TRIPS-0001",
                referral_source="police",
                violence_types=["partner_violence"],
                children="1",
                coordinator_id=coordinator.id,
            )
        # (BEGIN IMMEDIATE,) 4 SELECTs, SAVEPOINT, INSERT trajectory, RELEASE, 3 INSERTs
        assert counted.seen.count("SELECT") == 4, counted.seen
        assert len(counted.seen) <= (11 if sqlite else 10), counted.seen


# --- the deadline rules' cache --------------------------------------------------------------


def test_a_rule_changed_in_the_database_is_seen_by_the_next_step(session, act, coordinator):
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.TEAM_FORMING)
    tid = trajectory.id
    complete(session, act, trajectory)
    svc.fire_trigger(session, act, tid, "form_team")  # the rules are now this process's copy
    # An admin (or anyone, by SQL) makes the safety plan due after 20 hours instead.
    session.execute(
        text("UPDATE deadline_rules SET amount = 20, unit = 'hours' WHERE kind = :k"),
        {"k": DeadlineKind.SAFETY_PLAN_DUE.value},
    )
    svc.fire_trigger(session, act, tid, "close", closure_reason="household_withdrew")
    svc.reopen(session, act, tid)
    opened = session.scalars(
        select(Deadline)
        .filter_by(trajectory_id=tid, kind=DeadlineKind.SAFETY_PLAN_DUE)
        .order_by(Deadline.id.desc())
    ).first()
    assert opened is not None
    assert opened.computation["amount"] == 20
    assert opened.computation["unit"] == "hours"


def test_the_rules_are_parsed_once_per_text():
    text_a = '[["plan_review_due", 6, "weeks", 1, 3, 5, 0, 1, 1]]'
    first = steps.rules_of(text_a)
    assert steps.rules_of(text_a) is first
    changed = steps.rules_of(text_a.replace("6,", "7,"))
    assert changed is not first
    assert changed[DeadlineKind.PLAN_REVIEW_DUE].amount == 7


# --- the session's copy after a step --------------------------------------------------------


def test_the_sessions_trajectory_shows_the_step(session, act, coordinator):
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.TEAM_FORMING)
    before = trajectory.version
    # Loaded, and so kept by the session: it must not keep the copy from before the step.
    assert "lead_assigned" not in {i.key for i in trajectory.checklist}
    returned = svc.set_checklist_item(session, act, trajectory.id, "lead_assigned", True)
    assert returned is trajectory
    assert trajectory.version == before + 1
    assert {i.key: i.done for i in trajectory.checklist}["lead_assigned"] is True
    open_kinds = {
        d.kind
        for d in session.scalars(
            select(Deadline).filter_by(trajectory_id=trajectory.id, status=DeadlineStatus.OPEN)
        )
    }
    assert trajectory.next_due_kind in open_kinds


def test_a_step_returns_the_trajectory_when_the_session_had_none(session, act, coordinator):
    tid = drive(session, act, factories.trajectory(session, coordinator), S.SCREENING).id
    session.expunge_all()
    returned = svc.set_checklist_item(session, act, tid, "multiple_life_domains", True)
    assert returned.id == tid
    assert returned.state is S.SCREENING
    assert {i.key for i in returned.checklist} == {"multiple_life_domains"}
    assert session.get(Trajectory, tid) is returned


def test_writes_compiled_once_fill_constant_defaults_and_leave_the_rest_to_execute(
    committing_engine,
):
    """``steps._run`` (SQLite's step writes): a deadline opened without ``stage``,
    ``escalations`` and ``version`` gets their columns' constants; an access-log row without
    ``details`` (a default made by a function) is left to ``execute``, which makes it. On
    PostgreSQL (named parameters) every statement is left to ``execute``."""
    from mda.models.base import utcnow
    from mda.vocabulary import AccessAction

    with new_session(committing_engine) as session:
        coordinator = factories.user(session)
        tid = factories.trajectory(session, coordinator).id
        session.commit()
    now = utcnow()
    opened = {
        "trajectory_id": tid,
        "region_code": "UTR",
        "kind": DeadlineKind.PLAN_REVIEW_DUE,
        "status": DeadlineStatus.OPEN,
        "opened_at": now,
        "due_at": now,
        "next_action_at": now,
        "computation": {"rule": "plan_review_due", "due": now.isoformat()},
    }
    access = {
        "at": now,
        "username": "writer test",
        "action": AccessAction.READ,
        "object_type": "trajectory",
        "trajectory_id": tid,
        "channel": "cli",
    }
    with committing_engine.begin() as conn:
        steps._run(conn, steps._INSERT["deadlines"], [opened])
        steps._run(conn, steps._INSERT_ACCESS, access)
    dialect = committing_engine.dialect
    deadline_key = (steps._INSERT["deadlines"], dialect, tuple(opened))
    access_key = (steps._INSERT_ACCESS, dialect, tuple(access))
    assert (steps._PREPARED[deadline_key] is not None) is (dialect.name == "sqlite")
    assert steps._PREPARED[access_key] is None

    with new_session(committing_engine) as session:
        row = session.scalars(
            select(Deadline).filter_by(trajectory_id=tid, kind=DeadlineKind.PLAN_REVIEW_DUE)
        ).one()
        assert (row.stage, row.escalations, row.version) == (0, 0, 1)
        assert row.kind is DeadlineKind.PLAN_REVIEW_DUE and row.status is DeadlineStatus.OPEN
        assert row.due_at == now and row.computation == opened["computation"]
        entry = session.scalars(select(AccessLogEntry).filter_by(username="writer test")).one()
        assert entry.details == {} and entry.at == now and entry.trajectory_id == tid
