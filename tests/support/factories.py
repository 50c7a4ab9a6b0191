"""Factories: build valid rows with sensible defaults, override what a test cares about."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sqlalchemy.orm import Session

from mda.models import User
from mda.services.context import Actor
from mda.services.users import create_user
from mda.vocabulary import Role

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"


def user(
    session: Session,
    role: Role | str = Role.COORDINATOR,
    regions: Iterable[str] | None = None,
    username: str | None = None,
    password: str = PASSWORD,
) -> User:
    """A user through the real service; coordinators and managers default to region UTR."""
    role = Role(role)
    if regions is None:
        regions = ["UTR"] if role in (Role.COORDINATOR, Role.MANAGER) else []
    name = username or f"{role.value}{next(_counter)}"
    return create_user(session, Actor.system("cli"), name, password, role, list(regions))


def actor(user_row: User, channel: str = "web") -> Actor:
    return Actor.from_user(user_row, channel=channel, remote_addr="127.0.0.1")


# --- trajectories (workflow engine) -------------------------------------------------------


def pseudonym_keys():
    """The keys the trajectory factory registers under (the testing config's key)."""
    from config import TestingConfig
    from mda.services.pseudonyms import PseudonymKeys

    return PseudonymKeys(1, TestingConfig.PSEUDONYM_KEY.encode())


def trajectory(
    session: Session,
    coordinator: User | None = None,
    *,
    region: str = "UTR",
    reference: str | None = None,
    children: str = "1",
    assign: bool = True,
):
    """A registered trajectory (state ``referred``) through the real service."""
    from mda.services.trajectories import register_referral

    coordinator = coordinator or user(session, Role.COORDINATOR, [region])
    row, _created = register_referral(
        session,
        actor(coordinator),
        region=region,
        reference=reference or f"VT-{next(_counter):07d}",
        referral_source="veilig_thuis",
        violence_types=["partner_violence"],
        children=children,
        coordinator_id=coordinator.id if assign else None,
        keys=pseudonym_keys(),
    )
    return row
