"""Reading trajectories: one, a filtered page, the event log, and the log replayed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload

from mda.models import Deadline, Trajectory, TrajectoryEvent, User
from mda.services.audit import log_access, log_shown
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import ValidationError, parse_enum
from mda.services.messages import msg
from mda.services.settings import settings_of
from mda.services.trajectories._common import MAX_PER_PAGE, facts_of, load
from mda.services.uow import unit_of_work
from mda.vocabulary import (
    STATE_PHASE,
    AccessAction,
    DeadlineStatus,
    Phase,
    Role,
    TrajectoryState,
)
from mda.workflows import trajectory as workflow


def get_trajectory(session: Session, actor: Actor, trajectory_id: int) -> Trajectory:
    """One trajectory, with its coordinator; the read is logged."""
    with unit_of_work(session):
        trajectory = load(
            session,
            actor,
            trajectory_id,
            AccessAction.READ,
            # The coordinator's name comes with the row (a join), not with a query of its own.
            [joinedload(Trajectory.coordinator).load_only(User.id, User.username)],
        )
        log_access(session, actor, AccessAction.READ, "trajectory", trajectory.id, trajectory.id)
        return trajectory


def list_trajectories(
    session: Session,
    actor: Actor,
    *,
    state: str | None = None,
    phase: str | None = None,
    overdue: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Trajectory], int]:
    """The trajectories of the actor's regions, filtered; returns (page of rows, total).

    Each row comes with its coordinator loaded (one query for the page, not one per row).
    """
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValidationError(
                msg(
                    "page must be 1 or more and per_page between 1 and %(maximum)d.",
                    maximum=MAX_PER_PAGE,
                ),
                {"page": page, "per_page": per_page},
            )
        query = select(Trajectory)
        if not actor.is_system:
            query = query.where(Trajectory.region_code.in_(sorted(actor.region_codes)))
        if state:
            query = query.where(Trajectory.state == parse_enum(TrajectoryState, state, "state"))
        if phase:
            wanted = parse_enum(Phase, phase, "phase")
            query = query.where(
                Trajectory.state.in_([s for s, p in STATE_PHASE.items() if p is wanted])
            )
        if overdue is not None:
            late = exists().where(
                Deadline.trajectory_id == Trajectory.id,
                Deadline.status == DeadlineStatus.OPEN,
                Deadline.due_at < settings_of(session).now(),
            )
            query = query.where(late if overdue else ~late)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(
            session.scalars(
                query.options(joinedload(Trajectory.coordinator))
                .order_by(Trajectory.id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
        )
        criteria = {"state": state, "phase": phase, "overdue": overdue, "page": page}
        # The search itself, and one entry per trajectory it showed (so "who saw trajectory
        # X" is answered by its id), written together in one statement.
        log_shown(
            session,
            actor,
            {**criteria, "results": len(rows), "total": total},
            [row.id for row in rows],
            {"by": "list", **criteria},
        )
        return rows, total


def events_of(session: Session, trajectory: Trajectory) -> list[TrajectoryEvent]:
    """The trajectory's events in ``seq`` order (no logging)."""
    return list(
        session.scalars(
            select(TrajectoryEvent)
            .where(TrajectoryEvent.trajectory_id == trajectory.id)
            .order_by(TrajectoryEvent.seq)
        )
    )


def replay_events(session: Session, trajectory: Trajectory) -> workflow.TrajectoryFacts:
    """The workflow facts that the trajectory's event log leads to."""
    return workflow.replay(
        {
            "seq": e.seq,
            "kind": e.kind,
            "trigger": e.trigger,
            "to_state": e.to_state,
            "at": e.at,
            "data": e.data,
        }
        for e in events_of(session, trajectory)
    )


def current_facts(
    session: Session, trajectory: Trajectory, events: Sequence[TrajectoryEvent] | None = None
) -> workflow.TrajectoryFacts:
    """The workflow facts that the trajectory's row holds (and, for a closed one, its log:
    ``events`` when the caller has read them, else one query)."""
    return facts_of(session, trajectory, events)
