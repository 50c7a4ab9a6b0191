"""Changes to a trajectory's work: coordinator, checklist, workflow triggers, measurements.

Each runs in one unit of work: the new state, the incremented version, the event, the
access-log entry and the deadline rows are committed together, or nothing is. The steps of
the care path (checklist items, triggers, measurements) declare what they change to the step
writer (:func:`~mda.services.trajectories.steps.trajectory_step`), which loads and writes them
with a few Core statements; the rarer changes use :func:`trajectory_change` and the ORM.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from mda.models import Trajectory
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.errors import ValidationError, parse_enum
from mda.services.identifiers import check_free_text
from mda.services.messages import msg, term
from mda.services.trajectories._common import (
    MEASUREMENT_STATES,
    check_day,
    coordinator_of,
    first_day,
    measurement_starts,
    screening_rule,
    trajectory_change,
)
from mda.services.trajectories.steps import trajectory_after, trajectory_step
from mda.vocabulary import DeadlineStatus, TrajectoryState, ViolenceLevel
from mda.workflows import trajectory as workflow


def assign_coordinator(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    coordinator_id: int | None,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Make ``coordinator_id`` (a coordinator of the trajectory's region) its coordinator."""
    with trajectory_change(
        session, actor, trajectory_id, expected_version=expected_version, what="assign_coordinator"
    ) as change:
        trajectory = change.trajectory
        if trajectory.state is TrajectoryState.CLOSED:
            raise change.refuse(
                "assign_coordinator",
                [msg("the trajectory is closed")],
                msg("Assigning a coordinator"),
            )
        if coordinator_id is not None:
            coordinator_of(session, coordinator_id, trajectory.region_code)
        previous = trajectory.coordinator_id
        trajectory.coordinator_id = coordinator_id
        change.record("coordinator", data={"coordinator_id": coordinator_id, "previous": previous})
    return trajectory


def set_checklist_item(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    key: str,
    done: bool | None,
    details: str | None = None,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Tick (True), mark not met (False) or untick (None) a checklist item of the state."""
    with trajectory_step(
        session, actor, trajectory_id, expected_version=expected_version, what=f"checklist {key}"
    ) as step:
        if done is not None and not isinstance(done, bool):
            raise ValidationError(
                msg("done must be true, false or null."), {"done": "not a boolean"}
            )
        details = (details or "").strip() or None
        check_free_text({"details": details})
        problems = workflow.checklist_allowed(step.facts(), key)
        if problems:
            raise step.refuse(
                f"checklist {key}",
                problems,
                msg("Changing checklist item %(item)s", item=term("checklist", key)),
            )
        step.set_item(key, done, details)
        deadline_kind = workflow.MET_BY_CHECKLIST.get(key)
        changed: dict[str, list[str]] = {}
        if deadline_kind is not None and done is True:
            met = step.close([deadline_kind], DeadlineStatus.MET)
            changed = {"met": [d.kind.value for d in met]}
        step.record(
            "checklist", reason=details, data={"key": key, "done": done, "deadlines": changed}
        )
    return trajectory_after(session, trajectory_id)


def fire_trigger(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    trigger: str,
    *,
    expected_version: int | None = None,
    reason: str | None = None,
    closure_reason: str | None = None,
    incident_date: date | None = None,
    referred_back_to: str | None = None,
    now: datetime | None = None,
) -> Trajectory:
    """Fire a workflow trigger; a refusal lists every unmet condition (TransitionRefused).

    An ``incident_date`` (relapse) lies within the trajectory's life: from the day it was
    registered up to today, the Dutch date at ``now`` (default: this moment). The screening
    rule an ``accept`` was judged by is kept in its event, so replaying the log judges it the
    same way whatever the settings are later.
    """
    with trajectory_step(
        session, actor, trajectory_id, expected_version=expected_version, now=now, what=trigger
    ) as step:
        trajectory, now = step.state, step.now
        reason = (reason or "").strip() or None
        referred_back_to = (referred_back_to or "").strip() or None
        check_free_text({"reason": reason, "referred_back_to": referred_back_to})
        if incident_date is not None:
            check_day(
                "incident_date",
                incident_date,
                first_day(trajectory),
                msg("before the trajectory was registered"),
                today_nl(now),
            )
        facts = step.facts()
        rule = screening_rule(session)
        try:
            transition = workflow.fire(
                facts,
                trigger,
                now=now,
                closure_reason=closure_reason,
                incident_date=incident_date,
                referred_back_to=referred_back_to,
                screening_rule=rule,
            )
        except workflow.Refused as refused:
            raise step.refuse(trigger, refused.unmet) from None
        step.set(
            state=facts.state,
            state_entered_at=now,
            closure_reason=facts.closure_reason,
            closed_at=facts.closed_at,
            referred_back_to=facts.referred_back_to,
            relapses=facts.relapses,
            reentries=facts.reentries,
        )
        if not facts.suspended and trajectory.suspended_at is not None:
            step.set(suspended_at=None, suspension_reason=None)  # closing ends a suspension
        for key in transition.reset_checklist:
            step.set_item(key, None, None)
        # Measurements 2 and 3 count from measurement 1's date, also when reopen restores them.
        changed = step.apply(transition.deadlines, measurement_starts(trajectory))
        params = {
            key: (value.isoformat() if isinstance(value, date) else str(value))
            for key, value in transition.params.items()
        }
        data = {"params": params, "deadlines": changed}
        if trigger == "accept":
            data["screening_rule"] = rule.as_data()
        step.record(
            "transition",
            trigger=trigger,
            from_state=transition.source.value,
            to_state=transition.dest.value,
            reason=reason,
            data=data,
        )
    return trajectory_after(session, trajectory_id)


def record_measurement(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    *,
    number: int,
    measured_on: date,
    violence_level: str,
    safety_score: int | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Trajectory:
    """Record safety measurement ``number`` (1, 2, 3, ... in order), as the impact monitor.

    ``measured_on`` lies within the trajectory's life (from the day it was registered up to
    today, the Dutch date at ``now``) and not before an earlier measurement's date.
    Measurement 1 opens measurements 2 and 3, due 6 and 18 months after its ``measured_on``
    (not after the day it was typed in).
    """
    with trajectory_step(
        session,
        actor,
        trajectory_id,
        expected_version=expected_version,
        now=now,
        what=f"measurement {number}",
    ) as step:
        trajectory, now = step.state, step.now
        level = parse_enum(ViolenceLevel, violence_level, "violence_level")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ValidationError(msg("number must be 1 or more."), {"number": "1 or more"})
        earliest, since = first_day(trajectory), msg("before the trajectory was registered")
        for earlier in trajectory.measurements:
            if earlier.number < number and earlier.measured_on > earliest:
                earliest = earlier.measured_on
                since = msg("before measurement %(number)d's date", number=earlier.number)
        check_day("measured_on", measured_on, earliest, since, today_nl(now))
        if safety_score is not None and (
            not isinstance(safety_score, int) or not 0 <= safety_score <= 10
        ):
            raise ValidationError(msg("safety_score runs from 0 to 10."), {"safety_score": "0-10"})
        numbers = {m.number for m in trajectory.measurements}
        problems = []
        if trajectory.suspended_at is not None:
            problems.append(msg("the trajectory is suspended; resume it first"))
        if trajectory.state not in MEASUREMENT_STATES:
            problems.append(
                msg(
                    "measurements are recorded from %(first)s on; the trajectory is %(state)s",
                    first=term("state", TrajectoryState.IMMEDIATE_SAFETY),
                    state=term("state", trajectory.state),
                )
            )
        if number in numbers:
            problems.append(msg("measurement %(number)d is already recorded", number=number))
        elif number > 1 and number - 1 not in numbers:
            problems.append(msg("measurement %(number)d comes first", number=number - 1))
        if problems:
            raise step.refuse(
                f"measurement {number}",
                problems,
                msg("Recording safety measurement %(number)d", number=number),
            )
        step.add_measurement(
            {
                "number": number,
                "measured_on": measured_on,
                "violence_level": level,
                "safety_score": safety_score,
            }
        )
        changes = workflow.DeadlineChanges(
            open=workflow.OPENED_BY_MEASUREMENT.get(number, ()),
            meet=tuple(k for n, k in workflow.MET_BY_MEASUREMENT.items() if n == number),
        )
        changed = step.apply(changes, measurement_starts(trajectory))
        step.record(
            "measurement",
            data={
                "number": number,
                "measured_on": measured_on.isoformat(),
                "violence_level": level.value,
                "safety_score": safety_score,
                "deadlines": changed,
            },
        )
    return trajectory_after(session, trajectory_id)
