"""Authorisation, checked here so pages, API, CLI and worker share one set of rules.

DESIGN.md section 2: a coordinator reaches only trajectories of their own regions; managers,
the programme team, admins and auditors never reach an individual trajectory.
"""

from __future__ import annotations

from mda.services.audit import access_entry
from mda.services.context import Actor
from mda.services.errors import Forbidden
from mda.services.messages import msg, term
from mda.vocabulary import AccessAction, Role


def require_role(actor: Actor, *roles: Role) -> None:
    """Refuse unless the actor has one of ``roles`` (the system actor passes)."""
    if actor.is_system:
        return
    if actor.role not in roles:
        raise Forbidden(
            msg(
                "This needs the role %(allowed)s; you are signed in as %(role)s.",
                allowed=term("role", *roles),
                role=term("role", actor.role) if actor.role is not None else str(actor.role),
            )
        )


def require_region(actor: Actor, region_code: str) -> None:
    """Refuse unless ``region_code`` is one of the actor's regions."""
    if actor.is_system:
        return
    if region_code not in actor.region_codes:
        raise Forbidden(msg("Region %(code)s is not one of your regions.", code=region_code))


def require_trajectory_access(
    actor: Actor, trajectory_id: int | None, region_code: str, action: AccessAction
) -> None:
    """Only a coordinator of the trajectory's region; a refusal is logged as ``denied``."""
    if actor.is_system:
        return
    if actor.role is Role.COORDINATOR and region_code in actor.region_codes:
        return
    exc = Forbidden(msg("You have no access to this trajectory."))
    exc.audit = access_entry(
        actor,
        AccessAction.DENIED,
        "trajectory",
        trajectory_id,
        trajectory_id,
        {"attempted": action.value},
    )
    raise exc
