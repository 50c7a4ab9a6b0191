"""Driving a trajectory through the real services to a given state, for the tests."""

from __future__ import annotations

from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.vocabulary import TrajectoryState as S
from mda.workflows.trajectory import CHECKLISTS

PATH = [
    S.REFERRED,
    S.SCREENING,
    S.TEAM_FORMING,
    S.IMMEDIATE_SAFETY,
    S.RISK_CARE,
    S.RECOVERY,
    S.AFTERCARE,
]
FORWARD = {
    S.REFERRED: "start_screening",
    S.SCREENING: "accept",
    S.TEAM_FORMING: "form_team",
    S.IMMEDIATE_SAFETY: "safety_established",
    S.RISK_CARE: "risks_addressed",
    S.RECOVERY: "recovery_completed",
}


def complete(session, act, trajectory) -> None:
    """Tick everything the current state's forward trigger needs."""
    for spec in CHECKLISTS.get(trajectory.state, ()):
        svc.set_checklist_item(session, act, trajectory.id, spec.key, True)
    if trajectory.state is S.IMMEDIATE_SAFETY and 1 not in {
        m.number for m in trajectory.measurements
    }:
        svc.record_measurement(
            session,
            act,
            trajectory.id,
            number=1,
            measured_on=today_nl(),
            violence_level="moderate",
            safety_score=4,
        )


def drive(session, act, trajectory, target: S):
    """Move ``trajectory`` forward (or close it) until it is in ``target``.

    ``closed`` closes it once it was accepted (from team_forming), so it can be reopened.
    """
    if target is S.CLOSED:
        trajectory = drive(session, act, trajectory, S.TEAM_FORMING)
        return svc.fire_trigger(session, act, trajectory.id, "close", closure_reason="other")
    while trajectory.state is not target:
        complete(session, act, trajectory)
        trajectory = svc.fire_trigger(session, act, trajectory.id, FORWARD[trajectory.state])
    return trajectory
