"""Trajectories as the API and the pages show them: plain dicts built from domain objects.

The services return :class:`~mda.models.Trajectory` rows; what a list or a detail page shows
of them (and which triggers are allowed now) is decided here. Nothing here logs an access:
the service that loaded the trajectory did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Deadline, Trajectory, TrajectoryEvent
from mda.services.authz import require_trajectory_access
from mda.services.context import Actor
from mda.services.settings import settings_of
from mda.services.trajectories import current_facts, events_of
from mda.vocabulary import STATE_PHASE, AccessAction
from mda.workflows import trajectory as workflow


def trajectory_summary(trajectory: Trajectory) -> dict[str, Any]:
    """The few fields a list shows; no checklist, deadlines or events."""
    coordinator = trajectory.coordinator
    return {
        "id": trajectory.id,
        "pseudonym": trajectory.pseudonym,
        "region": trajectory.region_code,
        "state": trajectory.state.value,
        "phase": STATE_PHASE[trajectory.state].value,
        "version": trajectory.version,
        "coordinator": None
        if coordinator is None
        else {"id": coordinator.id, "username": coordinator.username},
        "suspended": trajectory.suspended_at is not None,
        "referred_on": trajectory.referred_on,
        "created_at": trajectory.created_at,
        "state_entered_at": trajectory.state_entered_at,
    }


def trajectory_view(
    session: Session,
    actor: Actor,
    trajectory: Trajectory,
    events: Sequence[TrajectoryEvent] | None = None,
    facts: workflow.TrajectoryFacts | None = None,
) -> dict[str, Any]:
    """Everything a coordinator sees of one trajectory, with the triggers allowed now.

    ``events`` and ``facts`` are the trajectory's log and workflow facts when the caller has
    them already (read once per request, not once per use).
    """
    require_trajectory_access(actor, trajectory.id, trajectory.region_code, AccessAction.READ)
    if events is None:
        events = events_of(session, trajectory)
    if facts is None:
        facts = current_facts(session, trajectory, events)
    items = {item.key: item for item in trajectory.checklist}
    checklist = [
        {
            "key": spec.key,
            "label": spec.label,
            "done": items[spec.key].done if spec.key in items else None,
            "details": items[spec.key].details if spec.key in items else None,
        }
        for spec in workflow.checklist_for(trajectory.state)
    ]
    triggers = []
    settings = settings_of(session)
    now, rule = settings.now(), settings.screening_rule
    for name in workflow.TRIGGER_NAMES:
        sources = workflow.TRIGGERS[name][0]
        if trajectory.state not in sources:
            continue
        unmet = workflow.unmet_conditions(facts, name, now=now, screening_rule=rule)
        triggers.append({"name": name, "allowed": not unmet, "unmet": unmet})
    deadline_list = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id).order_by(Deadline.due_at)
    )
    return {
        **trajectory_summary(trajectory),
        "state_label": workflow.STATE_LABELS[trajectory.state],
        "suspended_at": trajectory.suspended_at,
        "suspension_reason": trajectory.suspension_reason,
        "referral_source": trajectory.referral_source.value,
        "violence_types": list(trajectory.violence_types),
        "children": trajectory.children.value,
        "closure_reason": trajectory.closure_reason.value if trajectory.closure_reason else None,
        "referred_back_to": trajectory.referred_back_to,
        "relapses": trajectory.relapses,
        "reentries": trajectory.reentries,
        "closed_at": trajectory.closed_at,
        "checklist": checklist,
        "triggers": triggers,
        "deadlines": [
            {
                "id": d.id,
                "kind": d.kind.value,
                "status": d.status.value,
                "opened_at": d.opened_at,
                "due_at": d.due_at,
                "next_action_at": d.next_action_at,
                "closed_at": d.closed_at,
                "note": d.note,
                "computation": d.computation,
            }
            for d in deadline_list
        ],
        "measurements": [
            {
                "number": m.number,
                "measured_on": m.measured_on,
                "violence_level": m.violence_level.value,
                "safety_score": m.safety_score,
            }
            for m in trajectory.measurements
        ],
        "events": [
            {
                "seq": e.seq,
                "at": e.at,
                "actor_id": e.actor_id,
                "kind": e.kind,
                "trigger": e.trigger,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": e.reason,
            }
            for e in events
        ],
    }
