"""Registering a referred household, and finding it again by its source reference.

Region walls (DESIGN.md 6): both ask for every candidate hash of the reference in one
statement (:class:`~mda.services.pseudonyms.Candidates`) and only then, in Python, keep the
rows in the actor's regions. A row elsewhere is simply invisible: nothing is refused, logged or
queried differently because of it, so neither answer, access log, statements nor timing tell a
coordinator whether another region knows the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mda.models import (
    AccessLogEntry,
    Deadline,
    Region,
    Trajectory,
    TrajectoryEvent,
    User,
    user_regions,
)
from mda.models.base import utcnow
from mda.services import deadlines as deadline_rows
from mda.services.audit import access_entry, access_values, log_access
from mda.services.authz import require_region, require_role, require_trajectory_access
from mda.services.clock import NL, today_nl
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError, parse_enum
from mda.services.messages import msg
from mda.services.pseudonyms import Candidates, PseudonymKeys, Salt, candidates, rekey_if_stale
from mda.services.settings import settings_of
from mda.services.trajectories._common import check_day, coordinator_of
from mda.services.trajectories.steps import DeadlineState
from mda.services.uow import unit_of_work
from mda.vocabulary import (
    AccessAction,
    ChildrenBucket,
    ReferralSource,
    Role,
    TrajectoryState,
    ViolenceType,
)
from mda.workflows import trajectory as workflow


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
    referred_on: date | None = None,
) -> tuple[Trajectory, bool]:
    """Register a referred household under a pseudonym of its source reference.

    The reference is pseudonymised (keyed HMAC, salted with the region and a generation) and
    then forgotten: it is stored and logged nowhere. Registering a reference already known in
    one of the actor's regions returns ``(existing, False)``; one known only in other regions
    is registered anew, exactly as an unknown one (the region walls).

    ``referred_on`` is the day the referral reached the team (default: today, the Dutch
    date), at most :data:`REFERRAL_MAX_DAYS_BACK` days back and never in the future. The
    deadlines opened on registration count from it, at the registration's time of day.
    """
    settings = settings_of(session)
    keys = keys or settings.keys()
    now = settings.now()
    today = today_nl(now)
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        region = (region or "").strip().upper()
        # Every region's code (the pseudonym's candidates need them all): known, or not a region.
        codes = _region_codes(session)
        if region not in codes:
            raise ValidationError(
                msg("Unknown region %(region)r.", region=region), {"region": "unknown"}
            )
        require_region(actor, region)
        source = parse_enum(ReferralSource, referral_source, "referral_source")
        bucket = parse_enum(ChildrenBucket, children, "children")
        if not violence_types:
            raise ValidationError(
                msg("Give at least one violence type."), {"violence_types": "required"}
            )
        types = sorted(
            {parse_enum(ViolenceType, v, "violence_types").value for v in violence_types}
        )
        if referred_on is None:
            referred_on = today
        check_day(
            "referred_on",
            referred_on,
            today - timedelta(days=REFERRAL_MAX_DAYS_BACK),
            msg("more than %(days)d days back", days=REFERRAL_MAX_DAYS_BACK),
            today,
        )
        found = candidates(reference, keys, codes)
        matches = _matches(session, found)
        existing = _visible_match(session, actor, matches)
        if existing is not None:
            return _found_existing(session, actor, existing, found, matches), False
        if coordinator_id is not None:
            _check_coordinator(session, coordinator_id, region)
        pseudonym = found.pseudonym(found.free_salt(region, _taken(matches)))
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
            referred_on=referred_on,
            created_at=now,
            state_entered_at=now,
            updated_at=now,
        )
        # The deadlines opened on registration, worked out before the row is written so that
        # it is written once, with its earliest deadline (a new trajectory has none open yet).
        counted_from = referral_moment(referred_on, now)
        opened = _opened_on_registration(session, region, now, counted_from)
        rows = [DeadlineState(0, d["kind"], d["due_at"], 1) for d in opened]
        deadline_rows.track_next_due(trajectory, rows, complete=False)
        try:
            with session.begin_nested():
                session.add(trajectory)
                session.flush()
        except IntegrityError:
            # Registered in this region by someone else a moment ago: find theirs instead.
            matches = _matches(session, found)
            existing = _visible_match(session, actor, matches)
            if existing is None:
                raise
            return _found_existing(session, actor, existing, found, matches), False
        # The rows that come with it, as plain Core INSERTs (no ORM objects built and read back).
        conn = session.connection()
        conn.execute(
            _INSERT_EVENT,
            {
                "trajectory_id": trajectory.id,
                "seq": 1,
                "at": now,
                "actor_id": actor.user_id,
                "kind": "registered",
                "trigger": None,
                "from_state": None,
                "to_state": TrajectoryState.REFERRED.value,
                "reason": None,
                "data": {
                    "region": region,
                    "referral_source": source.value,
                    "violence_types": types,
                    "children": bucket.value,
                    "coordinator_id": coordinator_id,
                    "referred_on": referred_on.isoformat(),
                },
            },
        )
        conn.execute(
            _INSERT_ACCESS,
            {
                "at": utcnow(),
                **access_values(
                    actor, AccessAction.CREATE, "trajectory", trajectory.id, trajectory.id
                ),
            },
        )
        if opened:
            conn.execute(_INSERT_DEADLINE, [{**d, "trajectory_id": trajectory.id} for d in opened])
        return trajectory, True


#: How far back a referral date may lie (a referral registered this late is still taken).
REFERRAL_MAX_DAYS_BACK = 365


def referral_moment(referred_on: date, registered_at: datetime) -> datetime:
    """Where deadlines counting from the referral start: ``referred_on`` at the local
    (Europe/Amsterdam) time of day of the registration, as a UTC moment."""
    local = registered_at.astimezone(NL)
    moment = datetime.combine(referred_on, local.time().replace(tzinfo=None)).replace(tzinfo=NL)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class _Match:
    """A stored row whose hash is one of the reference's candidates (whatever its region)."""

    id: int
    region_code: str
    salt: Salt | None
    open: bool
    created_at: datetime


_INSERT_EVENT = insert(cast(Table, TrajectoryEvent.__table__))
_INSERT_ACCESS = insert(cast(Table, AccessLogEntry.__table__))
_INSERT_DEADLINE = insert(cast(Table, Deadline.__table__))


def _opened_on_registration(
    session: Session, region: str, now: datetime, counted_from: datetime
) -> list[dict[str, Any]]:
    """The deadlines a new trajectory of ``region`` opens (as their rules say; a disabled or
    missing rule opens none)."""
    opened = []
    for kind in workflow.OPENED_ON_REGISTRATION:
        rule = deadline_rows.rule_for(session, kind)
        if rule is None or not rule.enabled:
            continue
        deadline_rows.workdays.refresh(session)
        values = deadline_rows.deadline_values(
            rule, 0, region, kind, now, suspended=False, counted_from=counted_from
        )
        opened.append(values)
    return opened


def _check_coordinator(session: Session, coordinator_id: int, region_code: str) -> None:
    """:func:`~mda.services.trajectories._common.coordinator_of`'s check in one statement."""
    row = session.execute(
        _COORDINATOR, {"coordinator_id": coordinator_id, "region_code": region_code}
    ).first()
    if row is None or not row[0] or row[1] is not Role.COORDINATOR or not row[2]:
        coordinator_of(session, coordinator_id, region_code)  # raises, with its message
        raise AssertionError("unreachable")


# Built once (each is executed with its parameters; nothing is rebuilt per registration).
_COORDINATOR = select(
    User.active,
    User.role,
    select(user_regions.c.user_id)
    .where(
        user_regions.c.user_id == User.id,
        user_regions.c.region_code == bindparam("region_code"),
    )
    .exists(),
).where(User.id == bindparam("coordinator_id"))
_REGION_CODES = select(Region.code).order_by(Region.code)
_MATCHES = select(
    Trajectory.id,
    Trajectory.region_code,
    Trajectory.pseudonym_hash,
    Trajectory.state,
    Trajectory.created_at,
).where(Trajectory.pseudonym_hash.in_(bindparam("hashes", expanding=True)))


def _region_codes(session: Session) -> list[str]:
    """Every region (a trajectory keeps the salt of its first region when transferred)."""
    return list(session.scalars(_REGION_CODES))


def _matches(session: Session, found: Candidates) -> list[_Match]:
    """The rows stored under any candidate, in every region: one statement, the same for a
    reference known nowhere, elsewhere or here. Who may see which is decided by the caller."""
    rows = session.execute(_MATCHES, {"hashes": list(found.hashes())})
    matches = []
    for row_id, region_code, pseudonym_hash, state, created_at in rows:
        candidate = found.get(pseudonym_hash)
        matches.append(
            _Match(
                id=row_id,
                region_code=region_code,
                salt=None if candidate is None else candidate.salt,
                open=state is not TrajectoryState.CLOSED,
                created_at=created_at,
            )
        )
    return matches


def _taken(matches: Sequence[_Match]) -> set[Salt]:
    """The salts the matching rows use, whatever their region or key version."""
    return {match.salt for match in matches if match.salt is not None}


def _visible_match(session: Session, actor: Actor, matches: Sequence[_Match]) -> Trajectory | None:
    """The match in the actor's regions: the newest open one, else the newest (more than one
    only for a coordinator of several regions). Rows elsewhere are not there for the actor."""
    visible = [m for m in matches if actor.is_system or m.region_code in actor.region_codes]
    if not visible:
        return None
    chosen = max(visible, key=lambda m: (m.open, m.created_at, m.id))
    return session.get(Trajectory, chosen.id)


def _found_existing(
    session: Session,
    actor: Actor,
    trajectory: Trajectory,
    found: Candidates,
    matches: Sequence[_Match],
) -> Trajectory:
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
    rekey_if_stale(trajectory, found, _taken(matches))  # the reference is at hand only now
    return trajectory


def find_by_reference(
    session: Session, actor: Actor, reference: str, *, keys: PseudonymKeys | None = None
) -> Trajectory:
    """The trajectory in the actor's regions registered under ``reference`` (under the current
    or an older key, from whichever region it was first registered in).

    A reference unknown and one known only in other regions get the same :class:`NotFound`,
    message and access-log entry, after the same statements.
    """
    keys = keys or settings_of(session).keys()
    with unit_of_work(session):
        require_role(actor, Role.COORDINATOR)
        found = candidates(reference, keys, _region_codes(session))
        matches = _matches(session, found)
        trajectory = _visible_match(session, actor, matches)
        if trajectory is None:
            exc = NotFound(msg("No trajectory is registered under this reference."))
            exc.audit = access_entry(
                actor, AccessAction.SEARCH, "trajectory", None, None, {"by": "reference"}
            )
            raise exc
        return _found_existing(session, actor, trajectory, found, matches)
