"""A trajectory's life outside the care path: suspend, resume, transfer, reopen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mda.models import Region, Trajectory
from mda.services import deadlines as deadline_rows
from mda.services.context import Actor
from mda.services.errors import ValidationError
from mda.services.identifiers import check_free_text
from mda.services.messages import msg
from mda.services.trajectories._common import trajectory_change
from mda.services.trajectories.changes import fire_trigger
from mda.vocabulary import TrajectoryState


def suspend(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Suspend (opschorten) with a reason: no reminders until it is resumed."""
    with trajectory_change(
        session, actor, trajectory_id, expected_version=expected_version, what="suspend"
    ) as change:
        trajectory = change.trajectory
        reason = (reason or "").strip()
        problems = []
        if not reason:
            problems.append(msg("a reason is needed to suspend"))
        if trajectory.state is TrajectoryState.CLOSED:
            problems.append(msg("the trajectory is closed"))
        if trajectory.suspended_at is not None:
            problems.append(msg("the trajectory is already suspended"))
        if problems:
            raise change.refuse("suspend", problems, msg("Suspending the trajectory"))
        check_free_text({"reason": reason})
        trajectory.suspended_at = change.now
        trajectory.suspension_reason = reason
        deadline_rows.pause(session, trajectory)
        change.record("suspended", reason=reason)
    return trajectory


def resume(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    *,
    expected_version: int | None = None,
    reason: str | None = None,
) -> Trajectory:
    """Resume a suspended trajectory; its open deadlines move by the time it was suspended.

    ``reason`` (optional) says why it goes on, kept in the event like a suspension's.
    """
    with trajectory_change(
        session, actor, trajectory_id, expected_version=expected_version, what="resume"
    ) as change:
        trajectory = change.trajectory
        reason = (reason or "").strip() or None
        check_free_text({"reason": reason})
        if trajectory.suspended_at is None:
            raise change.refuse(
                "resume", [msg("the trajectory is not suspended")], msg("Resuming the trajectory")
            )
        suspended_for = change.now - trajectory.suspended_at
        deadline_rows.shift(session, trajectory, suspended_for, change.now)
        trajectory.suspended_at = None
        trajectory.suspension_reason = None
        change.record(
            "resumed",
            reason=reason,
            data={"suspended_seconds": int(suspended_for.total_seconds())},
        )
    return trajectory


def transfer(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    region: str,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Hand the trajectory over to another region (its deadlines follow it).

    A coordinator who does not work in the new region is unassigned; the event keeps the
    coordinator the trajectory ends up with, so replaying it gives the same row.
    """
    with trajectory_change(
        session, actor, trajectory_id, expected_version=expected_version, what="transfer"
    ) as change:
        trajectory = change.trajectory
        region = (region or "").strip().upper()
        if session.get(Region, region) is None:
            raise ValidationError(
                msg("Unknown region %(region)r.", region=region), {"region": "unknown"}
            )
        problems = []
        if region == trajectory.region_code:
            problems.append(msg("the trajectory is in %(region)s already", region=region))
        if trajectory.state is TrajectoryState.CLOSED:
            problems.append(msg("the trajectory is closed"))
        if problems:
            raise change.refuse("transfer", problems, msg("Transferring the trajectory"))
        previous = trajectory.region_code
        trajectory.region_code = region
        coordinator = trajectory.coordinator
        if coordinator is not None and region not in coordinator.region_codes:
            trajectory.coordinator_id = None  # the new region assigns its own
        deadline_rows.move_region(session, trajectory, region)
        change.record(
            "transferred",
            data={
                "from_region": previous,
                "to_region": region,
                "coordinator_id": trajectory.coordinator_id,
            },
        )
    return trajectory


def reopen(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Trajectory:
    """Reopen a closed trajectory into immediate_safety (a re-entry).

    Only a trajectory that was accepted, not closed as ``not_eligible``, and closed less than
    12 months ago; a refusal names each unmet condition. The impact monitor's clock comes
    back: measurement 1 is due again if it was never recorded, and measurements 2 and 3 not
    yet recorded are due again 6 and 18 months after measurement 1's date.
    """
    return fire_trigger(
        session,
        actor,
        trajectory_id,
        "reopen",
        reason=reason,
        expected_version=expected_version,
        now=now,
    )
