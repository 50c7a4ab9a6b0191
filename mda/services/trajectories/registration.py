"""Registering a referred household, and finding it again by its source reference."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mda.models import Region, Trajectory, TrajectoryEvent, utcnow
from mda.services import deadlines as deadline_rows
from mda.services.audit import access_entry, log_access
from mda.services.authz import require_region, require_role, require_trajectory_access
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError, parse_enum
from mda.services.pseudonyms import (
    PseudonymKeys,
    candidate_hashes,
    current_keys,
    pseudonymise,
    rekey_if_stale,
)
from mda.services.trajectories._common import coordinator_of
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
            found = _found_existing(session, actor, existing)
            rekey_if_stale(found, reference, keys)  # the reference is at hand only now
            return found, False
        if coordinator_id is not None:
            coordinator_of(session, coordinator_id, region)
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
        found = _found_existing(session, actor, trajectory)
        rekey_if_stale(found, reference, keys)  # the reference is at hand only now
        return found
