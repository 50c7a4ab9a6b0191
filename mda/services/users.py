"""User accounts: creation by an admin or from the command line."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Region, User
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import ValidationError
from mda.services.passwords import check_password_rules, hash_password
from mda.services.uow import unit_of_work
from mda.vocabulary import Role

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Roles that work within regions; the others are national or functional.
REGIONAL_ROLES = frozenset({Role.COORDINATOR, Role.MANAGER})


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationError(
            f"Unknown role {value!r}; use one of {known}.", {"role": f"one of {known}"}
        ) from None


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: Role | str,
    region_codes: list[str] | tuple[str, ...] = (),
    must_change_password: bool = False,
) -> User:
    """Create a user; coordinators and managers need at least one region, others none."""
    with unit_of_work(session):
        require_role(actor, Role.ADMIN)
        role = parse_role(role) if isinstance(role, str) else role
        username = username.strip().lower()
        if not USERNAME_RE.match(username):
            raise ValidationError(
                "A username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'.",
                {"username": "invalid"},
            )
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise ValidationError(f"The username {username!r} is taken.", {"username": "taken"})
        check_password_rules(password, username)
        codes = sorted({code.strip().upper() for code in region_codes if code.strip()})
        regions = list(session.scalars(select(Region).where(Region.code.in_(codes))))
        unknown = sorted(set(codes) - {r.code for r in regions})
        if unknown:
            raise ValidationError(
                f"Unknown region code(s): {', '.join(unknown)}.", {"regions": unknown}
            )
        if role in REGIONAL_ROLES and not regions:
            raise ValidationError(
                f"A {role.value} needs at least one region.", {"regions": "required"}
            )
        if role not in REGIONAL_ROLES and regions:
            raise ValidationError(
                f"A {role.value} works nationally and takes no region.", {"regions": "not allowed"}
            )
        user = User(
            username=username,
            password_hash=hash_password(password),
            role=role,
            regions=regions,
            must_change_password=must_change_password,
            session_token=secrets.token_hex(16),
            active=True,
        )
        session.add(user)
        session.flush()
        return user
