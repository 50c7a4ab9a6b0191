"""User accounts: creation and upkeep by an admin (or the command line), and own passwords.

Passwords and second-factor secrets never appear in a log or an access-log entry; a generated
one-time password is returned to the caller once, to show once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Organisation, Region, User
from mda.services.audit import log_access
from mda.services.auth import new_session_token, sign_out_everywhere
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import Forbidden, NotFound, ValidationError
from mda.services.messages import Text, msg, term
from mda.services.passwords import (
    check_password_rules,
    hash_password,
    one_time_password,
    verify_password,
)
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction, Role

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Roles that work within regions; the others are national or functional.
REGIONAL_ROLES = frozenset({Role.COORDINATOR, Role.MANAGER})


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationError(
            msg("Unknown role %(value)r; use one of %(known)s.", value=value, known=known),
            {"role": msg("one of %(known)s", known=known)},
        ) from None


def _regions_for(session: Session, role: Role, region_codes: list[str] | tuple[str, ...]):
    """The Region rows for ``region_codes``, checked against what ``role`` may have."""
    codes = sorted({code.strip().upper() for code in region_codes if code.strip()})
    regions = list(session.scalars(select(Region).where(Region.code.in_(codes))))
    unknown = sorted(set(codes) - {r.code for r in regions})
    if unknown:
        raise ValidationError(
            msg("Unknown region code(s): %(codes)s.", codes=", ".join(unknown)),
            {"regions": unknown},
        )
    if role in REGIONAL_ROLES and not regions:
        raise ValidationError(
            msg("A %(role)s needs at least one region.", role=term("role", role)),
            {"regions": "required"},
        )
    if role not in REGIONAL_ROLES and regions:
        raise ValidationError(
            msg("A %(role)s works nationally and takes no region.", role=term("role", role)),
            {"regions": "not allowed"},
        )
    return regions


def _organisation(session: Session, organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise ValidationError(msg("Unknown organisation."), {"organisation": "unknown"})
    return organisation


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: Role | str,
    region_codes: list[str] | tuple[str, ...] = (),
    must_change_password: bool = False,
    organisation_id: int | None = None,
) -> User:
    """Create a user; coordinators and managers need at least one region, others none."""
    with unit_of_work(session):
        require_role(actor, Role.ADMIN)
        role = parse_role(role) if isinstance(role, str) else role
        username = username.strip().lower()
        if not USERNAME_RE.match(username):
            raise ValidationError(
                msg("A username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'."),
                {"username": "invalid"},
            )
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise ValidationError(
                msg("The username %(username)r is taken.", username=username),
                {"username": "taken"},
            )
        check_password_rules(password, username)
        regions = _regions_for(session, role, region_codes)
        user = User(
            username=username,
            password_hash=hash_password(password),
            role=role,
            regions=regions,
            organisation=_organisation(session, organisation_id),
            must_change_password=must_change_password,
            session_token=new_session_token(),
            active=True,
        )
        session.add(user)
        session.flush()
        log_access(session, actor, AccessAction.CREATE, "user", user.id, details=_shape(user))
        return user


@dataclass(frozen=True)
class CreatedUser:
    user: User
    one_time_password: str


def invite_user(
    session: Session,
    actor: Actor,
    username: str,
    role: Role | str,
    region_codes: list[str] | tuple[str, ...] = (),
    organisation_id: int | None = None,
) -> CreatedUser:
    """Create a user with a generated one-time password, to be changed at first sign-in."""
    password = one_time_password()
    user = create_user(
        session,
        actor,
        username,
        password,
        role,
        region_codes,
        must_change_password=True,
        organisation_id=organisation_id,
    )
    return CreatedUser(user, password)


def list_users(session: Session, actor: Actor) -> list[User]:
    """Every account, for the admin's overview."""
    require_role(actor, Role.ADMIN)
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    require_role(actor, Role.ADMIN)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(msg("There is no user %(id)s.", id=user_id))
    return user


def _shape(user: User) -> dict[str, object]:
    """What an access-log entry records about an account change: never a secret."""
    return {
        "username": user.username,
        "role": user.role.value,
        "regions": user.region_list,
        "active": user.active,
    }


def _not_self(actor: Actor, user: User, refusal: Text) -> None:
    if actor.user_id == user.id:
        raise Forbidden(refusal)


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    role: Role | str,
    region_codes: list[str] | tuple[str, ...],
    active: bool,
    organisation_id: int | None = None,
) -> User:
    """Change an account's role, regions, organisation and whether it may sign in.

    Changing its role, taking a region away, deactivating or reactivating it signs the account
    out everywhere: every web session ends and every API token is revoked, in the same
    transaction (so a reactivated account starts with no token from before). Adding a region
    keeps the sessions. An admin cannot demote or deactivate their own account, so there is
    always an admin left.
    """
    with unit_of_work(session):
        user = get_user(session, actor, user_id)
        role = parse_role(role) if isinstance(role, str) else role
        if role != user.role or not active:
            _not_self(
                actor,
                user,
                msg(
                    "You cannot change the role of or deactivate your own account; ask another "
                    "admin."
                ),
            )
        regions = _regions_for(session, role, region_codes)
        signs_out = (
            role != user.role
            or bool(user.region_codes - {region.code for region in regions})
            or user.active != active
        )
        user.role = role
        user.regions = regions
        user.organisation = _organisation(session, organisation_id)
        user.active = active
        if signs_out:
            sign_out_everywhere(session, user)
        log_access(session, actor, AccessAction.CHANGE, "user", user.id, details=_shape(user))
        return user


def reset_password(session: Session, actor: Actor, user_id: int) -> str:
    """Give an account a new one-time password (returned once) and sign it out everywhere
    (web sessions and API tokens)."""
    with unit_of_work(session):
        user = get_user(session, actor, user_id)
        password = one_time_password()
        user.password_hash = hash_password(password)
        user.must_change_password = True
        sign_out_everywhere(session, user)
        log_access(
            session, actor, AccessAction.CHANGE, "user", user.id, details={"reset": "password"}
        )
        return password


def reset_second_factor(session: Session, actor: Actor, user_id: int) -> User:
    """Remove an account's second factor (a lost phone); the user enrols again.

    The account is signed out everywhere (web sessions and API tokens): whoever has the phone
    may have signed in with it.
    """
    with unit_of_work(session):
        user = get_user(session, actor, user_id)
        user.totp_secret = None
        user.totp_enabled = False
        user.totp_last_counter = None
        sign_out_everywhere(session, user)
        log_access(session, actor, AccessAction.CHANGE, "user", user.id, details={"reset": "totp"})
        return user


def change_own_password(
    session: Session, actor: Actor, user: User, current_password: str, new_password: str
) -> User:
    """A user changes their own password; the account is signed out everywhere.

    Every web session ends and every API token is revoked, in the same transaction. The web
    caller signs its own session in again with the new session token.
    """
    with unit_of_work(session):
        if actor.user_id != user.id:
            raise Forbidden(msg("Only the user can change their own password this way."))
        if not verify_password(user.password_hash, current_password):
            raise ValidationError(
                msg("The current password is not right."), {"current_password": "wrong"}
            )
        if current_password == new_password:
            raise ValidationError(
                msg("The new password must differ from the current one."),
                {"password": "unchanged"},
            )
        check_password_rules(new_password, user.username)
        user.password_hash = hash_password(new_password)
        user.must_change_password = False
        sign_out_everywhere(session, user)
        log_access(
            session, actor, AccessAction.CHANGE, "user", user.id, details={"changed": "password"}
        )
        return user
