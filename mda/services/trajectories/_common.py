"""What every trajectory use case shares: loading, the screening rule, the workflow facts, and
:func:`trajectory_change`, the load / authorise / version-check / record preamble of a change.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.interfaces import ORMOption

from mda.models import (
    AccessLogEntry,
    SafetyMeasurement,
    Trajectory,
    TrajectoryEvent,
    User,
)
from mda.services.audit import access_entry, log_access
from mda.services.authz import require_trajectory_access
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.errors import (
    Conflict,
    DomainError,
    NotFound,
    TransitionRefused,
    ValidationError,
)
from mda.services.messages import Text, msg, term
from mda.services.settings import settings_of
from mda.services.trajectories.steps import MeasurementState, StepState
from mda.services.uow import unit_of_work
from mda.services.versions import require_version
from mda.vocabulary import AccessAction, DeadlineKind, Role, TrajectoryState
from mda.workflows import trajectory as workflow

NL = ZoneInfo("Europe/Amsterdam")
MEASUREMENT_STATES = frozenset(
    {
        TrajectoryState.IMMEDIATE_SAFETY,
        TrajectoryState.RISK_CARE,
        TrajectoryState.RECOVERY,
        TrajectoryState.AFTERCARE,
    }
)
MAX_PER_PAGE = 200
# States a trajectory can only be in once it was accepted after screening.
_ACCEPTED_STATES = frozenset(TrajectoryState) - {
    TrajectoryState.REFERRED,
    TrajectoryState.SCREENING,
    TrajectoryState.CLOSED,
}


def load(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    action: AccessAction,
    options: Sequence[ORMOption] = (),
) -> Trajectory:
    """The trajectory as the database has it now (never a stale copy from the identity map),
    with its checklist and measurements, and whatever else ``options`` load with it."""
    trajectory = session.get(
        Trajectory,
        trajectory_id,
        options=[
            selectinload(Trajectory.checklist),
            selectinload(Trajectory.measurements),
            *options,
        ],
        populate_existing=True,
    )
    if trajectory is None:
        raise NotFound(msg("There is no trajectory %(id)s.", id=trajectory_id))
    require_trajectory_access(actor, trajectory.id, trajectory.region_code, action)
    return trajectory


def check_version(trajectory: Trajectory | StepState, expected_version: int | None) -> None:
    """A change made against another version than the row's is a :class:`Conflict`."""
    if expected_version is None or expected_version == trajectory.version:
        return  # no claim, or the right one: no message to make (every step comes here)
    require_version(
        msg("Trajectory %(pseudonym)s", pseudonym=trajectory.pseudonym),
        trajectory.version,
        expected_version,
    )


def screening_rule(session: Session) -> workflow.ScreeningRule:
    """The inclusion rule of the session's settings (``MDA_SCREENING_*``)."""
    return settings_of(session).screening_rule


def was_accepted(
    session: Session,
    trajectory: Trajectory | StepState,
    events: Sequence[TrajectoryEvent] | None = None,
) -> bool:
    """Whether the trajectory was ever accepted after screening.

    Only a closed trajectory needs its event log for this: ``events`` when the caller has
    read them already, else one query. Every other state says it by itself.
    """
    if trajectory.state is not TrajectoryState.CLOSED:
        return trajectory.state in _ACCEPTED_STATES
    if events is not None:
        return any(e.kind == "transition" and e.trigger == "accept" for e in events)
    return bool(
        session.scalar(
            select(
                exists().where(
                    TrajectoryEvent.trajectory_id == trajectory.id,
                    TrajectoryEvent.kind == "transition",
                    TrajectoryEvent.trigger == "accept",
                )
            )
        )
    )


def facts_of(
    session: Session,
    trajectory: Trajectory | StepState,
    events: Sequence[TrajectoryEvent] | None = None,
) -> workflow.TrajectoryFacts:
    """The workflow facts that the trajectory's row (and, when closed, its log: ``events``
    when the caller has them) holds."""
    return workflow.TrajectoryFacts(
        state=trajectory.state,
        version=trajectory.version,
        region=trajectory.region_code,
        coordinator_id=trajectory.coordinator_id,
        checklist={item.key: item.done for item in trajectory.checklist},
        measurements={m.number for m in trajectory.measurements},
        children=trajectory.children.value,
        closure_reason=trajectory.closure_reason,
        referred_back_to=trajectory.referred_back_to,
        closed_at=trajectory.closed_at,
        suspended=trajectory.suspended_at is not None,
        relapses=trajectory.relapses,
        reentries=trajectory.reentries,
        accepted=was_accepted(session, trajectory, events),
    )


def refused(
    actor: Actor,
    trajectory: Trajectory | StepState,
    what: str,
    unmet: Sequence[str],
    action: Text | None = None,
) -> Exception:
    """A :class:`TransitionRefused` that still leaves its access-log entry.

    ``what`` names the attempt (a trigger, or a change like ``checklist lead_assigned``);
    ``action`` says a change that is not a trigger in words ("Suspending the trajectory").
    """
    exc = TransitionRefused(what, unmet, action)
    # The attempt itself is an access to the trajectory: keep it in the log.
    exc.audit = refusal_entry(actor, trajectory.id, what, exc)
    return exc


def refusal_entry(actor: Actor, trajectory_id: int, what: str, exc: DomainError) -> AccessLogEntry:
    """The access-log entry of a change to trajectory ``trajectory_id`` refused with ``exc``.

    It names the attempt and the kind of refusal only: never the message or the values,
    which may quote the text that looked like an identifier.
    """
    return access_entry(
        actor,
        AccessAction.CHANGE,
        "trajectory",
        trajectory_id,
        trajectory_id,
        {"change": what, "refused": True, "reason": _snake(type(exc).__name__)},
    )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def coordinator_of(session: Session, coordinator_id: int, region_code: str) -> User:
    """The active coordinator ``coordinator_id`` of ``region_code``, or a ValidationError."""
    # One refusal for "no such user", "inactive", "not a coordinator" and "another region",
    # naming only the id the caller gave: it must not tell who an id belongs to, or whether
    # it exists outside the caller's reach.
    user = session.get(User, coordinator_id)
    if (
        user is None
        or not user.active
        or user.role is not Role.COORDINATOR
        or region_code not in user.region_codes
    ):
        raise ValidationError(
            msg(
                "User %(id)s is not an active coordinator of region %(code)s.",
                id=coordinator_id,
                code=region_code,
            ),
            {"coordinator_id": "not an active coordinator of this region"},
        )
    return user


def first_day(trajectory: Trajectory | StepState) -> date:
    """The first day of the trajectory's life: the Dutch date it was registered."""
    return today_nl(trajectory.created_at)


def check_day(field: str, day: Any, earliest: date, too_early: str, today: date) -> None:
    """``day`` must be a calendar date from ``earliest`` up to ``today``, both included.

    ``too_early`` says in words what a day before ``earliest`` lies before (a ``msg(...)``
    text, so the pages can say it in Dutch). A refusal is a :class:`ValidationError` naming
    the field and the allowed range.
    """
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError(
            msg("%(field)s must be a date like 2024-03-01.", field=term("field", field)),
            {field: "a date"},
        )
    if earliest <= day <= today:
        return
    allowed = msg(
        "a date from %(earliest)s to %(today)s",
        earliest=earliest.isoformat(),
        today=today.isoformat(),
    )
    where = msg("in the future") if day > today else too_early
    raise ValidationError(
        msg(
            "%(field)s %(day)s lies %(where)s: give %(allowed)s (today's date in the "
            "Netherlands is the latest).",
            field=term("field", field),
            day=day.isoformat(),
            where=where,
            allowed=allowed,
        ),
        {field: allowed},
    )


def measurement_clock(measurement: SafetyMeasurement | MeasurementState) -> datetime:
    """Where the follow-up measurements' clock starts: measurement 1's ``measured_on``.

    The Dutch date it was measured, at the local time of day it was recorded, so recording it
    and restoring the clock on reopen give the same due moments.
    """
    recorded = measurement.recorded_at.astimezone(NL)
    local = datetime.combine(measurement.measured_on, recorded.time().replace(tzinfo=None))
    return local.replace(tzinfo=NL).astimezone(UTC)


def measurement_starts(trajectory: Trajectory | StepState) -> dict[DeadlineKind, datetime]:
    """The start of each deadline that counts from measurement 1 (none before it exists)."""
    first = next((m for m in trajectory.measurements if m.number == 1), None)
    if first is None:
        return {}
    start = measurement_clock(first)
    return {kind: start for kind in workflow.OPENED_BY_MEASUREMENT.get(1, ())}


class Change:
    """One change under way on a loaded trajectory (see :func:`trajectory_change`)."""

    def __init__(self, session: Session, actor: Actor, trajectory: Trajectory, now: datetime):
        self.session = session
        self.actor = actor
        self.trajectory = trajectory
        self.now = now
        self.event: TrajectoryEvent | None = None

    def refuse(self, what: str, unmet: Sequence[str], action: Text | None = None) -> Exception:
        """The exception to raise for a refused change (logged as an access)."""
        return refused(self.actor, self.trajectory, what, unmet, action)

    def facts(self) -> workflow.TrajectoryFacts:
        return facts_of(self.session, self.trajectory)

    def record(
        self,
        kind: str,
        *,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> TrajectoryEvent:
        """The accepted change: bump the version, append the event, log the access."""
        if self.event is not None:
            raise RuntimeError("a change records one event")
        trajectory = self.trajectory
        trajectory.version += 1
        trajectory.updated_at = self.now
        self.event = TrajectoryEvent(
            trajectory_id=trajectory.id,
            seq=trajectory.version,
            at=self.now,
            actor_id=self.actor.user_id,
            kind=kind,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            data=data or {},
        )
        self.session.add(self.event)
        log_access(
            self.session,
            self.actor,
            AccessAction.CHANGE,
            "trajectory",
            trajectory.id,
            trajectory.id,
            {"change": trigger or kind, "version": trajectory.version},
        )
        return self.event


@contextmanager
def trajectory_change(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    what: str = "change",
) -> Iterator[Change]:
    """One change to one trajectory, in one unit of work.

    Loads the trajectory fresh, authorises the actor for a change, checks ``expected_version``
    and hands a :class:`Change` to the block, which validates, writes and calls
    :meth:`Change.record` exactly once. On leaving, the session is flushed and the unit of
    work commits; an exception rolls everything back. A :class:`DomainError` raised once the
    trajectory is loaded (a version conflict, invalid input, an identifier found, a refused
    transition) keeps an access-log entry of the attempt, naming ``what`` was attempted.
    """
    with unit_of_work(session):
        trajectory = load(session, actor, trajectory_id, AccessAction.CHANGE)
        change = Change(session, actor, trajectory, now or settings_of(session).now())
        try:
            check_version(trajectory, expected_version)
            yield change
            if change.event is None:
                raise RuntimeError("a trajectory change must record its event")
            session.flush()
        except StaleDataError as exc:
            conflict = Conflict(
                msg(
                    "This record was changed by someone else in the meantime; reload and try again."
                )
            )
            conflict.audit = refusal_entry(actor, trajectory_id, what, conflict)
            raise conflict from exc
        except DomainError as exc:
            # Refused after the trajectory was loaded (conflict, invalid input, identifier
            # found): the attempt is an access too, kept although the change rolls back.
            if exc.audit is None:
                exc.audit = refusal_entry(actor, trajectory_id, what, exc)
            raise
