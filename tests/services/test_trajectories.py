"""The trajectory services on both backends: state, version, event, access log, deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from mda.models import AccessLogEntry, Deadline, Trajectory, TrajectoryEvent
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import (
    Conflict,
    Forbidden,
    IdentifierFound,
    NotFound,
    TransitionRefused,
    ValidationError,
)
from mda.services.workdays import add_working_days_at, working_days_between
from mda.vocabulary import AccessAction, DeadlineKind, DeadlineStatus, Role, TrajectoryState
from mda.web.api.presenters import trajectory_view
from mda.workflows import trajectory as wf
from tests.services.steps import complete, drive
from tests.support import factories

S = TrajectoryState


def counts(session, trajectory_id):
    events = session.scalar(
        select(func.count())
        .select_from(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == trajectory_id)
    )
    version = session.scalar(select(Trajectory.version).where(Trajectory.id == trajectory_id))
    state = session.scalar(select(Trajectory.state).where(Trajectory.id == trajectory_id))
    return events, version, state


def good_params(trigger, state):
    return {
        "decline": {"referred_back_to": "wijkteam"},
        "relapse": {"incident_date": today_nl()},
        "close": {"closure_reason": "goals_met" if state is S.AFTERCARE else "stepped_down"},
    }.get(trigger, {})


def at_state(session, coordinator, act, state):
    trajectory = factories.trajectory(session, coordinator)
    if state is S.CLOSED:
        return drive(session, act, trajectory, S.CLOSED)
    trajectory = drive(session, act, trajectory, state)
    return trajectory


@pytest.mark.parametrize("state", list(S))
def test_every_trigger_from_every_state_through_the_service(session, coordinator, act, state):
    """Allowed triggers move (one event, one version); refused ones change nothing."""
    for trigger in wf.TRIGGER_NAMES:
        sources = wf.TRIGGERS[trigger][0]
        trajectory = at_state(session, coordinator, act, state)
        events, version, _ = counts(session, trajectory.id)
        if state in sources:
            # Without its inputs or checklist the trigger is refused, naming what is missing.
            if state is not S.CLOSED:
                for spec in wf.CHECKLISTS.get(state, ()):
                    svc.set_checklist_item(session, act, trajectory.id, spec.key, None)
                events, version, _ = counts(session, trajectory.id)
            refusable = trigger not in ("reopen",)
            if refusable:
                if trigger == "start_screening":
                    svc.assign_coordinator(session, act, trajectory.id, None)
                    events, version, _ = counts(session, trajectory.id)
                with pytest.raises(TransitionRefused) as refused:
                    svc.fire_trigger(session, act, trajectory.id, trigger)
                assert refused.value.unmet, trigger
                assert counts(session, trajectory.id) == (events, version, state)
                if trigger == "start_screening":
                    svc.assign_coordinator(session, act, trajectory.id, coordinator.id)
                complete(session, act, session.get(Trajectory, trajectory.id))
                events, version, _ = counts(session, trajectory.id)
            moved = svc.fire_trigger(
                session,
                act,
                trajectory.id,
                trigger,
                expected_version=version,
                **good_params(trigger, state),
            )
            assert moved.state is wf.TRIGGERS[trigger][1]
            assert counts(session, trajectory.id) == (events + 1, version + 1, moved.state)
            last = session.scalars(
                select(TrajectoryEvent)
                .where(TrajectoryEvent.trajectory_id == trajectory.id)
                .order_by(TrajectoryEvent.seq.desc())
            ).first()
            assert (last.seq, last.trigger, last.from_state, last.to_state) == (
                version + 1,
                trigger,
                state.value,
                moved.state.value,
            )
        else:
            with pytest.raises(TransitionRefused) as refused:
                svc.fire_trigger(session, act, trajectory.id, trigger)
            assert refused.value.unmet == [
                f"only possible from {', '.join(s.value for s in sources)}; "
                f"the trajectory is {state.value}"
            ]
            assert counts(session, trajectory.id) == (events, version, state)


def test_register_writes_event_access_and_screening_deadline(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    assert trajectory.state is S.REFERRED and trajectory.version == 1
    assert len(trajectory.pseudonym) == 14
    event = session.scalar(
        select(TrajectoryEvent).where(TrajectoryEvent.trajectory_id == trajectory.id)
    )
    assert (event.seq, event.kind, event.to_state) == (1, "registered", "referred")
    entry = session.scalar(
        select(AccessLogEntry).where(AccessLogEntry.trajectory_id == trajectory.id)
    )
    assert entry.action is AccessAction.CREATE and entry.user_id == coordinator.id
    deadline = session.scalar(select(Deadline).where(Deadline.trajectory_id == trajectory.id))
    assert deadline.kind is DeadlineKind.SCREENING_DUE and deadline.status is DeadlineStatus.OPEN
    assert deadline.due_at - deadline.opened_at >= timedelta(days=14)  # 10 working days
    assert deadline.next_action_at < deadline.due_at  # a reminder comes first


def test_registering_the_same_reference_twice_finds_it(session, coordinator, act, keys):
    first = factories.trajectory(session, coordinator, reference="VT-2021/00123")
    again, created = svc.register_referral(
        session,
        act,
        region="utr",
        reference=" vt 2021 00123 ",
        referral_source="police",
        violence_types=["child_abuse"],
        children="0",
        keys=keys,
    )
    assert not created and again.id == first.id
    assert session.scalar(select(func.count()).select_from(Trajectory)) == 1
    assert svc.find_by_reference(session, act, "VT202100123", keys=keys).id == first.id
    with pytest.raises(NotFound):
        svc.find_by_reference(session, act, "VT-2021/00124", keys=keys)


def test_register_checks_its_input(session, act, keys):
    base = dict(
        region="UTR",
        reference="AB-1234",
        referral_source="veilig_thuis",
        violence_types=["partner_violence"],
        children="1",
        keys=keys,
    )
    for field, value, words in [
        ("referral_source", "neighbour", "referral_source 'neighbour' is not one of"),
        ("violence_types", ["shouting"], "violence_types 'shouting' is not one of"),
        ("violence_types", [], "at least one violence type"),
        ("children", "4", "children '4' is not one of"),
        ("region", "XXX", "Unknown region"),
        ("reference", "a-b", "at least 4 letters or digits"),
    ]:
        with pytest.raises(ValidationError, match=words):
            svc.register_referral(session, act, **{**base, field: value})
    with pytest.raises(Forbidden):
        svc.register_referral(session, act, **{**base, "region": "AMA"})
    assert session.scalar(select(func.count()).select_from(Trajectory)) == 0


def test_only_coordinators_of_the_region_reach_a_trajectory(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    for role, regions in [
        (Role.COORDINATOR, ["AMA"]),
        (Role.MANAGER, ["UTR"]),
        (Role.PROGRAMME, []),
        (Role.ADMIN, []),
    ]:
        other = factories.actor(factories.user(session, role, regions))
        with pytest.raises(Forbidden):
            svc.get_trajectory(session, other, trajectory.id)
        with pytest.raises(Forbidden):
            svc.fire_trigger(session, other, trajectory.id, "start_screening")
    denied = session.scalar(
        select(func.count())
        .select_from(AccessLogEntry)
        .where(AccessLogEntry.action == AccessAction.DENIED)
    )
    assert denied == 8
    assert counts(session, trajectory.id)[:2] == (1, 1)


def test_stale_expected_version_is_a_conflict_and_writes_nothing(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    svc.fire_trigger(session, act, trajectory.id, "start_screening", expected_version=1)
    with pytest.raises(Conflict) as conflict:
        svc.set_checklist_item(
            session, act, trajectory.id, "intergenerational", True, expected_version=1
        )
    assert conflict.value.details == {"version": 2, "expected_version": 1}
    assert counts(session, trajectory.id) == (2, 2, S.SCREENING)


def test_checklist_guard_and_identifier_guard(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    with pytest.raises(TransitionRefused, match="belongs to screening; the trajectory is referred"):
        svc.set_checklist_item(session, act, trajectory.id, "multiple_life_domains", True)
    with pytest.raises(TransitionRefused, match="unknown checklist item"):
        svc.set_checklist_item(session, act, trajectory.id, "coffee", True)
    svc.fire_trigger(session, act, trajectory.id, "start_screening")
    with pytest.raises(IdentifierFound, match="details seems to contain a BSN"):
        svc.set_checklist_item(
            session, act, trajectory.id, "multiple_life_domains", True, "zie bsn 111222333"
        )
    assert counts(session, trajectory.id) == (2, 2, S.SCREENING)
    svc.set_checklist_item(
        session, act, trajectory.id, "multiple_life_domains", True, "wonen, werk en school"
    )
    view = trajectory_view(session, act, session.get(Trajectory, trajectory.id))
    item = next(i for i in view["checklist"] if i["key"] == "multiple_life_domains")
    assert item == {
        "key": "multiple_life_domains",
        "label": wf.CHECKLIST_LABELS["multiple_life_domains"],
        "done": True,
        "details": "wonen, werk en school",
    }
    accept = next(t for t in view["triggers"] if t["name"] == "accept")
    assert not accept["allowed"] and "criteria not yet assessed" in accept["unmet"][0]


def test_deadlines_follow_the_workflow(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator, children="2")
    trajectory = drive(session, act, trajectory, S.IMMEDIATE_SAFETY)

    def open_kinds():
        return {
            d.kind
            for d in session.scalars(
                select(Deadline).where(
                    Deadline.trajectory_id == trajectory.id,
                    Deadline.status == DeadlineStatus.OPEN,
                )
            )
        }

    assert open_kinds() == {
        DeadlineKind.SAFETY_PLAN_DUE,
        DeadlineKind.MEASUREMENT_1_DUE,
        DeadlineKind.PHASE_OVERRUN,
        DeadlineKind.PLAN_REVIEW_DUE,
    }
    svc.set_checklist_item(session, act, trajectory.id, "safety_plan_made", True)
    svc.record_measurement(
        session, act, trajectory.id, number=1, measured_on=today_nl(), violence_level="severe"
    )
    assert open_kinds() == {
        DeadlineKind.PHASE_OVERRUN,
        DeadlineKind.PLAN_REVIEW_DUE,
        DeadlineKind.MEASUREMENT_2_DUE,
        DeadlineKind.MEASUREMENT_3_DUE,
    }
    trajectory = drive(session, act, trajectory, S.RISK_CARE)
    svc.fire_trigger(session, act, trajectory.id, "relapse", incident_date=today_nl())
    assert DeadlineKind.SCHOOL_NOTICE_DUE in open_kinds()
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="other")
    assert open_kinds() == set()


def test_measurements_in_order_and_only_from_immediate_safety(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    with pytest.raises(TransitionRefused, match="recorded from immediate_safety on"):
        svc.record_measurement(
            session, act, trajectory.id, number=1, measured_on=today_nl(), violence_level="none"
        )
    trajectory = drive(session, act, trajectory, S.IMMEDIATE_SAFETY)
    with pytest.raises(TransitionRefused, match="measurement 1 comes first"):
        svc.record_measurement(
            session, act, trajectory.id, number=2, measured_on=today_nl(), violence_level="none"
        )
    with pytest.raises(ValidationError, match="safety_score runs from 0 to 10"):
        svc.record_measurement(
            session,
            act,
            trajectory.id,
            number=1,
            measured_on=today_nl(),
            violence_level="none",
            safety_score=11,
        )
    with pytest.raises(ValidationError, match="violence_level 'some' is not one of"):
        svc.record_measurement(
            session, act, trajectory.id, number=1, measured_on=today_nl(), violence_level="some"
        )


def test_suspension_moves_open_deadlines(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    deadline = session.scalar(select(Deadline).where(Deadline.trajectory_id == trajectory.id))
    due = deadline.due_at
    svc.suspend(session, act, trajectory.id, "huishouden tijdelijk in het buitenland")
    assert deadline.next_action_at is None  # no reminders while suspended
    with pytest.raises(TransitionRefused, match="suspended; resume it first"):
        svc.fire_trigger(session, act, trajectory.id, "start_screening")
    # Pretend the suspension started three days ago.
    row = session.get(Trajectory, trajectory.id)
    row.suspended_at = row.suspended_at - timedelta(days=3)
    session.flush()
    began = row.suspended_at
    svc.resume(session, act, trajectory.id)
    session.refresh(deadline)
    # A working-day deadline moves by the working days of the suspension (after the day it
    # began, up to and including today), not by the three days on the wall clock.
    (move,) = deadline.computation["suspensions"]
    assert move["from"] == began.isoformat()
    assert move["working_days"] == working_days_between(
        today_nl(began), today_nl(datetime.fromisoformat(move["to"]))
    )
    assert deadline.due_at == add_working_days_at(due, move["working_days"])
    assert deadline.next_action_at is not None
    with pytest.raises(TransitionRefused, match="not suspended"):
        svc.resume(session, act, trajectory.id)
    with pytest.raises(TransitionRefused, match="a reason is needed"):
        svc.suspend(session, act, trajectory.id, " ")


def test_transfer_moves_the_trajectory_and_its_deadlines(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    moved = svc.transfer(session, act, trajectory.id, "ama")
    assert moved.region_code == "AMA" and moved.coordinator_id is None
    deadline = session.scalar(select(Deadline).where(Deadline.trajectory_id == trajectory.id))
    assert deadline.region_code == "AMA"
    with pytest.raises(Forbidden):  # the old region's coordinator no longer reaches it
        svc.get_trajectory(session, act, trajectory.id)


def test_list_and_read_are_logged(session, coordinator, act):
    first = factories.trajectory(session, coordinator)
    factories.trajectory(session, factories.user(session, Role.COORDINATOR, ["AMA"]), region="AMA")
    svc.fire_trigger(session, act, first.id, "start_screening")
    rows, total = svc.list_trajectories(session, act)
    assert [r.id for r in rows] == [first.id] and total == 1
    rows, total = svc.list_trajectories(session, act, phase="intake", state="screening")
    assert total == 1
    rows, total = svc.list_trajectories(session, act, overdue=True)
    assert total == 0
    svc.get_trajectory(session, act, first.id)
    actions = [
        e.action
        for e in session.scalars(
            select(AccessLogEntry)
            .where(AccessLogEntry.user_id == coordinator.id)
            .order_by(AccessLogEntry.id)
        )
    ]
    assert actions[-4:] == [AccessAction.SEARCH] * 3 + [AccessAction.READ]
    with pytest.raises(ValidationError):
        svc.list_trajectories(session, act, per_page=0)


def test_replaying_the_event_log_gives_the_row(session, coordinator, act):
    trajectory = drive(session, act, factories.trajectory(session, coordinator), S.AFTERCARE)
    svc.fire_trigger(session, act, trajectory.id, "relapse", incident_date=today_nl())
    svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="household_withdrew")
    svc.fire_trigger(session, act, trajectory.id, "reopen")
    row = session.get(Trajectory, trajectory.id)
    assert row.relapses == 1 and row.reentries == 1
    assert svc.replay_events(session, row).snapshot() == svc.current_facts(session, row).snapshot()
