"""Use cases on household trajectories (DESIGN.md sections 3, 4 and 6).

Every function takes ``(session, actor, ...)``, authorises, and runs in one
:func:`unit_of_work`: the new state, the incremented version, the event, the access-log entry
and the deadline rows are committed together, or nothing is. The workflow module decides; this
module loads, checks and writes. A change made against a stale version is a :class:`Conflict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mda.models import (
    ChecklistItem,
    Deadline,
    Region,
    SafetyMeasurement,
    Trajectory,
    TrajectoryEvent,
    User,
    utcnow,
)
from mda.services import deadlines as deadline_rows
from mda.services.audit import access_entry, log_access
from mda.services.authz import require_region, require_role, require_trajectory_access
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.errors import (
    Conflict,
    NotFound,
    TransitionRefused,
    ValidationError,
    parse_enum,
)
from mda.services.identifiers import check_free_text
from mda.services.pseudonyms import (
    PseudonymKeys,
    candidate_hashes,
    current_keys,
    pseudonymise,
)
from mda.services.uow import unit_of_work
from mda.vocabulary import (
    STATE_PHASE,
    AccessAction,
    ChildrenBucket,
    DeadlineStatus,
    Phase,
    ReferralSource,
    Role,
    TrajectoryState,
    ViolenceLevel,
    ViolenceType,
)
from mda.workflows import trajectory as workflow

MEASUREMENT_STATES = frozenset(
    {
        TrajectoryState.IMMEDIATE_SAFETY,
        TrajectoryState.RISK_CARE,
        TrajectoryState.RECOVERY,
        TrajectoryState.AFTERCARE,
    }
)
MAX_PER_PAGE = 200


# --- helpers ----------------------------------------------------------------------------


def _load(session: Session, actor: Actor, trajectory_id: int, action: AccessAction) -> Trajectory:
    """The trajectory as the database has it now (never a stale copy from the identity map)."""
    trajectory = session.get(
        Trajectory,
        trajectory_id,
        options=[selectinload(Trajectory.checklist), selectinload(Trajectory.measurements)],
        populate_existing=True,
    )
    if trajectory is None:
        raise NotFound(f"There is no trajectory {trajectory_id}.")
    require_trajectory_access(actor, trajectory.id, trajectory.region_code, action)
    return trajectory


def _check_version(trajectory: Trajectory, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != trajectory.version:
        raise Conflict(
            f"Trajectory {trajectory.pseudonym} is at version {trajectory.version}, not "
            f"{expected_version}: someone changed it in the meantime; reload and try again.",
            {"version": trajectory.version, "expected_version": expected_version},
        )


def screening_rule(config: Mapping[str, Any] | None = None) -> workflow.ScreeningRule:
    """The inclusion rule from the settings (``MDA_SCREENING_*``), defaults as DESIGN.md."""
    if config is None:
        from flask import current_app, has_app_context

        # Outside an app (scripts, pure service tests) the defaults of DESIGN.md apply.
        config = current_app.config if has_app_context() else {}
    default = workflow.DEFAULT_SCREENING_RULE
    return workflow.ScreeningRule.from_settings(
        config.get("SCREENING_REQUIRED", default.required),
        config.get("SCREENING_OTHERS", default.others),
        int(config.get("SCREENING_MIN_OTHERS", default.min_others)),
    )


def _facts(trajectory: Trajectory) -> workflow.TrajectoryFacts:
    return workflow.TrajectoryFacts(
        state=trajectory.state,
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
    )


def _record(
    session: Session,
    actor: Actor,
    trajectory: Trajectory,
    kind: str,
    now: datetime,
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> TrajectoryEvent:
    """One accepted change: bump the version, append the event, log the access."""
    trajectory.version += 1
    trajectory.updated_at = now
    event = TrajectoryEvent(
        trajectory_id=trajectory.id,
        seq=trajectory.version,
        at=now,
        actor_id=actor.user_id,
        kind=kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )
    session.add(event)
    log_access(
        session,
        actor,
        AccessAction.CHANGE,
        "trajectory",
        trajectory.id,
        trajectory.id,
        {"change": trigger or kind, "version": trajectory.version},
    )
    return event


def _refused(actor: Actor, trajectory: Trajectory, what: str, unmet: list[str]) -> Exception:
    exc = TransitionRefused(what, unmet)
    # The attempt itself is an access to the trajectory: keep it in the log.
    exc.audit = access_entry(
        actor,
        AccessAction.CHANGE,
        "trajectory",
        trajectory.id,
        trajectory.id,
        {"change": what, "refused": True},
    )
    return exc


def _set_item(
    trajectory: Trajectory, key: str, done: bool | None, details: str | None, actor: Actor, now
) -> None:
    for item in trajectory.checklist:
        if item.key == key:
            item.done = done
            item.details = details
            item.updated_at = now
            item.updated_by_id = actor.user_id
            return
    trajectory.checklist.append(
        ChecklistItem(
            key=key, done=done, details=details, updated_at=now, updated_by_id=actor.user_id
        )
    )


def _coordinator(session: Session, coordinator_id: int, region_code: str) -> User:
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
            f"User {coordinator_id} is not an active coordinator of region {region_code}.",
            {"coordinator_id": "not an active coordinator of this region"},
        )
    return user


# --- registering and finding --------------------------------------------------------------


def register_referral(
    session: Session,
    actor: Actor,
    *,
    region: str,
    reference: str,
    referral_source: str,
    violence_types: list[str],
    children: str,
    coordinator_id: int | None = None,
    keys: PseudonymKeys | None = None,
) -> tuple[Trajectory, bool]:
    """Register a referred household under a pseudonym of its source reference.

    The reference is pseudonymised (keyed HMAC) and then forgotten: it is stored and logged
    nowhere. Registering a reference that is already known returns ``(existing, False)``.
    """
    keys = keys or current_keys()
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        region = (region or "").strip().upper()
        if session.get(Region, region) is None:
            raise ValidationError(f"Unknown region {region!r}.", {"region": "unknown"})
        require_region(actor, region)
        source = parse_enum(ReferralSource, referral_source, "referral_source")
        bucket = parse_enum(ChildrenBucket, children, "children")
        if not violence_types:
            raise ValidationError(
                "Give at least one violence type.", {"violence_types": "required"}
            )
        types = sorted(
            {parse_enum(ViolenceType, v, "violence_types").value for v in violence_types}
        )
        hashes = candidate_hashes(reference, keys)
        existing = session.scalar(select(Trajectory).where(Trajectory.pseudonym_hash.in_(hashes)))
        if existing is not None:
            return _found_existing(session, actor, existing), False
        if coordinator_id is not None:
            _coordinator(session, coordinator_id, region)
        pseudonym = pseudonymise(reference, keys)
        now = utcnow()
        trajectory = Trajectory(
            pseudonym_hash=pseudonym.hash,
            pseudonym=pseudonym.code,
            key_version=pseudonym.key_version,
            region_code=region,
            state=TrajectoryState.REFERRED,
            version=1,
            coordinator_id=coordinator_id,
            referral_source=source,
            violence_types=types,
            children=bucket,
            created_at=now,
            state_entered_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(trajectory)
                session.flush()
        except IntegrityError:
            # Registered by someone else a moment ago: find theirs instead of a duplicate.
            existing = session.scalar(
                select(Trajectory).where(Trajectory.pseudonym_hash.in_(hashes))
            )
            if existing is None:
                raise
            return _found_existing(session, actor, existing), False
        session.add(
            TrajectoryEvent(
                trajectory_id=trajectory.id,
                seq=1,
                at=now,
                actor_id=actor.user_id,
                kind="registered",
                to_state=TrajectoryState.REFERRED.value,
                data={
                    "region": region,
                    "referral_source": source.value,
                    "violence_types": types,
                    "children": bucket.value,
                    "coordinator_id": coordinator_id,
                },
            )
        )
        log_access(session, actor, AccessAction.CREATE, "trajectory", trajectory.id, trajectory.id)
        for kind in workflow.OPENED_ON_REGISTRATION:
            deadline_rows.open_deadline(session, trajectory, kind, now)
        session.flush()
        return trajectory, True


def _found_existing(session: Session, actor: Actor, trajectory: Trajectory) -> Trajectory:
    require_trajectory_access(actor, trajectory.id, trajectory.region_code, AccessAction.SEARCH)
    log_access(
        session,
        actor,
        AccessAction.SEARCH,
        "trajectory",
        trajectory.id,
        trajectory.id,
        {"by": "reference", "found": True},
    )
    return trajectory


def find_by_reference(
    session: Session, actor: Actor, reference: str, *, keys: PseudonymKeys | None = None
) -> Trajectory:
    """The trajectory registered under ``reference`` (under the current or an older key)."""
    keys = keys or current_keys()
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        hashes = candidate_hashes(reference, keys)
        trajectory = session.scalar(select(Trajectory).where(Trajectory.pseudonym_hash.in_(hashes)))
        if trajectory is None:
            exc = NotFound("No trajectory is registered under this reference.")
            exc.audit = access_entry(
                actor, AccessAction.SEARCH, "trajectory", None, None, {"by": "reference"}
            )
            raise exc
        return _found_existing(session, actor, trajectory)


def get_trajectory(session: Session, actor: Actor, trajectory_id: int) -> Trajectory:
    """One trajectory; the read is logged."""
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.READ)
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
    """The trajectories of the actor's regions, filtered; returns (page of rows, total)."""
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValidationError(
                f"page must be 1 or more and per_page between 1 and {MAX_PER_PAGE}.",
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
                Deadline.due_at < utcnow(),
            )
            query = query.where(late if overdue else ~late)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(
            session.scalars(
                query.order_by(Trajectory.id).offset((page - 1) * per_page).limit(per_page)
            )
        )
        log_access(
            session,
            actor,
            AccessAction.SEARCH,
            "trajectory",
            details={
                "state": state,
                "phase": phase,
                "overdue": overdue,
                "page": page,
                "results": [t.id for t in rows],
            },
        )
        return rows, total


# --- changes ------------------------------------------------------------------------------


def assign_coordinator(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    coordinator_id: int | None,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Make ``coordinator_id`` (a coordinator of the trajectory's region) its coordinator."""
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        if trajectory.state is TrajectoryState.CLOSED:
            raise _refused(actor, trajectory, "assign_coordinator", ["the trajectory is closed"])
        if coordinator_id is not None:
            _coordinator(session, coordinator_id, trajectory.region_code)
        previous = trajectory.coordinator_id
        trajectory.coordinator_id = coordinator_id
        _record(
            session,
            actor,
            trajectory,
            "coordinator",
            utcnow(),
            data={"coordinator_id": coordinator_id, "previous": previous},
        )
        session.flush()
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
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        if done is not None and not isinstance(done, bool):
            raise ValidationError("done must be true, false or null.", {"done": "not a boolean"})
        details = (details or "").strip() or None
        check_free_text({"details": details})
        problems = workflow.checklist_allowed(_facts(trajectory), key)
        if problems:
            raise _refused(actor, trajectory, f"checklist {key}", problems)
        now = utcnow()
        _set_item(trajectory, key, done, details, actor, now)
        deadline_kind = workflow.MET_BY_CHECKLIST.get(key)
        changed: dict[str, list[str]] = {}
        if deadline_kind is not None and done is True:
            met = deadline_rows.close_deadlines(
                session, trajectory, [deadline_kind], DeadlineStatus.MET, now, actor.user_id
            )
            changed = {"met": [d.kind.value for d in met]}
        _record(
            session,
            actor,
            trajectory,
            "checklist",
            now,
            reason=details,
            data={"key": key, "done": done, "deadlines": changed},
        )
        session.flush()
        return trajectory


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
    registered up to today, the Dutch date at ``now`` (default: this moment).
    """
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        reason = (reason or "").strip() or None
        referred_back_to = (referred_back_to or "").strip() or None
        check_free_text({"reason": reason, "referred_back_to": referred_back_to})
        now = now or utcnow()
        if incident_date is not None:
            _check_day(
                "incident_date",
                incident_date,
                _first_day(trajectory),
                "before the trajectory was registered",
                today_nl(now),
            )
        facts = _facts(trajectory)
        try:
            transition = workflow.fire(
                facts,
                trigger,
                now=now,
                closure_reason=closure_reason,
                incident_date=incident_date,
                referred_back_to=referred_back_to,
                screening_rule=screening_rule(),
            )
        except workflow.Refused as refused:
            raise _refused(actor, trajectory, trigger, refused.unmet) from None
        trajectory.state = facts.state
        trajectory.state_entered_at = now
        trajectory.closure_reason = facts.closure_reason
        trajectory.closed_at = facts.closed_at
        trajectory.referred_back_to = facts.referred_back_to
        trajectory.relapses = facts.relapses
        trajectory.reentries = facts.reentries
        if not facts.suspended and trajectory.suspended_at is not None:
            trajectory.suspended_at = None  # closing ends a suspension
            trajectory.suspension_reason = None
        for key in transition.reset_checklist:
            _set_item(trajectory, key, None, None, actor, now)
        changed = deadline_rows.apply_changes(
            session, trajectory, transition.deadlines, now, actor.user_id
        )
        params = {
            key: (value.isoformat() if isinstance(value, date) else str(value))
            for key, value in transition.params.items()
        }
        _record(
            session,
            actor,
            trajectory,
            "transition",
            now,
            trigger=trigger,
            from_state=transition.source.value,
            to_state=transition.dest.value,
            reason=reason,
            data={"params": params, "deadlines": changed},
        )
        session.flush()
        return trajectory


def _first_day(trajectory: Trajectory) -> date:
    """The first day of the trajectory's life: the Dutch date it was registered."""
    return today_nl(trajectory.created_at)


def _check_day(field: str, day: Any, earliest: date, too_early: str, today: date) -> None:
    """``day`` must be a calendar date from ``earliest`` up to ``today``, both included.

    ``too_early`` says in words what a day before ``earliest`` lies before. A refusal is a
    :class:`ValidationError` naming the field and the allowed range.
    """
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError(f"{field} must be a date like 2024-03-01.", {field: "a date"})
    if earliest <= day <= today:
        return
    allowed = f"a date from {earliest.isoformat()} to {today.isoformat()}"
    where = "in the future" if day > today else too_early
    raise ValidationError(
        f"{field} {day.isoformat()} lies {where}: give {allowed} (today's date in the "
        "Netherlands is the latest).",
        {field: allowed},
    )


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
    """
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        now = now or utcnow()
        level = parse_enum(ViolenceLevel, violence_level, "violence_level")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ValidationError("number must be 1 or more.", {"number": "1 or more"})
        earliest, since = _first_day(trajectory), "before the trajectory was registered"
        for earlier in trajectory.measurements:
            if earlier.number < number and earlier.measured_on > earliest:
                earliest = earlier.measured_on
                since = f"before measurement {earlier.number}'s date"
        _check_day("measured_on", measured_on, earliest, since, today_nl(now))
        if safety_score is not None and (
            not isinstance(safety_score, int) or not 0 <= safety_score <= 10
        ):
            raise ValidationError("safety_score runs from 0 to 10.", {"safety_score": "0-10"})
        numbers = {m.number for m in trajectory.measurements}
        problems = []
        if trajectory.suspended_at is not None:
            problems.append("the trajectory is suspended; resume it first")
        if trajectory.state not in MEASUREMENT_STATES:
            problems.append(
                "measurements are recorded from immediate_safety on; the trajectory is "
                + trajectory.state.value
            )
        if number in numbers:
            problems.append(f"measurement {number} is already recorded")
        elif number > 1 and number - 1 not in numbers:
            problems.append(f"measurement {number - 1} comes first")
        if problems:
            raise _refused(actor, trajectory, f"measurement {number}", problems)
        trajectory.measurements.append(
            SafetyMeasurement(
                number=number,
                measured_on=measured_on,
                violence_level=level,
                safety_score=safety_score,
                recorded_at=now,
                recorded_by_id=actor.user_id,
            )
        )
        changes = workflow.DeadlineChanges(
            open=workflow.OPENED_BY_MEASUREMENT.get(number, ()),
            meet=tuple(k for n, k in workflow.MET_BY_MEASUREMENT.items() if n == number),
        )
        changed = deadline_rows.apply_changes(session, trajectory, changes, now, actor.user_id)
        _record(
            session,
            actor,
            trajectory,
            "measurement",
            now,
            data={
                "number": number,
                "measured_on": measured_on.isoformat(),
                "violence_level": level.value,
                "safety_score": safety_score,
                "deadlines": changed,
            },
        )
        session.flush()
        return trajectory


def suspend(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Suspend (opschorten) with a reason: no reminders until it is resumed."""
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        reason = (reason or "").strip()
        problems = []
        if not reason:
            problems.append("a reason is needed to suspend")
        if trajectory.state is TrajectoryState.CLOSED:
            problems.append("the trajectory is closed")
        if trajectory.suspended_at is not None:
            problems.append("the trajectory is already suspended")
        if problems:
            raise _refused(actor, trajectory, "suspend", problems)
        check_free_text({"reason": reason})
        now = utcnow()
        trajectory.suspended_at = now
        trajectory.suspension_reason = reason
        deadline_rows.pause(session, trajectory)
        _record(session, actor, trajectory, "suspended", now, reason=reason)
        session.flush()
        return trajectory


def resume(
    session: Session, actor: Actor, trajectory_id: int, *, expected_version: int | None = None
) -> Trajectory:
    """Resume a suspended trajectory; its open deadlines move by the time it was suspended."""
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        if trajectory.suspended_at is None:
            raise _refused(actor, trajectory, "resume", ["the trajectory is not suspended"])
        now = utcnow()
        suspended_for = now - trajectory.suspended_at
        deadline_rows.shift(session, trajectory, suspended_for, now)
        trajectory.suspended_at = None
        trajectory.suspension_reason = None
        _record(
            session,
            actor,
            trajectory,
            "resumed",
            now,
            data={"suspended_seconds": int(suspended_for.total_seconds())},
        )
        session.flush()
        return trajectory


def transfer(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    region: str,
    *,
    expected_version: int | None = None,
) -> Trajectory:
    """Hand the trajectory over to another region (its deadlines follow it)."""
    with unit_of_work(session):
        trajectory = _load(session, actor, trajectory_id, AccessAction.CHANGE)
        _check_version(trajectory, expected_version)
        region = (region or "").strip().upper()
        if session.get(Region, region) is None:
            raise ValidationError(f"Unknown region {region!r}.", {"region": "unknown"})
        problems = []
        if region == trajectory.region_code:
            problems.append(f"the trajectory is in {region} already")
        if trajectory.state is TrajectoryState.CLOSED:
            problems.append("the trajectory is closed")
        if problems:
            raise _refused(actor, trajectory, "transfer", problems)
        previous = trajectory.region_code
        trajectory.region_code = region
        coordinator = trajectory.coordinator
        if coordinator is not None and region not in coordinator.region_codes:
            trajectory.coordinator_id = None  # the new region assigns its own
        deadline_rows.move_region(session, trajectory, region)
        _record(
            session,
            actor,
            trajectory,
            "transferred",
            utcnow(),
            data={
                "from_region": previous,
                "to_region": region,
                "coordinator_id": trajectory.coordinator_id,
            },
        )
        session.flush()
        return trajectory


# --- reading ------------------------------------------------------------------------------


def events_of(session: Session, trajectory: Trajectory) -> list[TrajectoryEvent]:
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
            "kind": e.kind,
            "trigger": e.trigger,
            "to_state": e.to_state,
            "at": e.at,
            "data": e.data,
        }
        for e in events_of(session, trajectory)
    )


def current_facts(trajectory: Trajectory) -> workflow.TrajectoryFacts:
    """The workflow facts that the trajectory's row holds."""
    return _facts(trajectory)


def trajectory_summary(trajectory: Trajectory) -> dict[str, Any]:
    """The few fields a list shows; no checklist, deadlines or events (no logging)."""
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
        "created_at": trajectory.created_at,
        "state_entered_at": trajectory.state_entered_at,
    }


def trajectory_view(session: Session, actor: Actor, trajectory: Trajectory) -> dict[str, Any]:
    """A plain dict of everything a coordinator sees of one trajectory (no logging)."""
    require_trajectory_access(actor, trajectory.id, trajectory.region_code, AccessAction.READ)
    facts = _facts(trajectory)
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
    now, rule = utcnow(), screening_rule()
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
            for e in events_of(session, trajectory)
        ],
    }
