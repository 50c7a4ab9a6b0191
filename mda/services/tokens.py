"""Bearer tokens for the API: issued after sign-in, stored only as a SHA-256, expiring, revocable.

The token itself is 256 random bits, shown once to the client. Only its SHA-256 is stored, so
a copy of the database does not let anyone call the API: a plain (unkeyed) hash is enough here
because the token is random and long, unlike a BSN or a password.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from mda.models import ApiToken, User
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.messages import msg
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work

TOKEN_PREFIX = "mda_"  # noqa: S105 - a marker, not a secret
DEFAULT_LIFETIME = timedelta(hours=8)
# Recording every use would turn each API read into a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)

#: Loader options for a user about to act (an API call, a signed-in page): their regions and
#: organisation joined to the user's row, one statement where lazy loads would add two.
USER_WITH_REGIONS = (
    joinedload(User.regions),
    joinedload(User.organisation),
)


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256 of its text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, user: User, lifetime: timedelta = DEFAULT_LIFETIME
) -> tuple[str, ApiToken]:
    """A new token for ``user`` (already authenticated by the caller); returns (text, row).

    The text is returned once and never stored.
    """
    if lifetime <= timedelta(0):
        raise ValidationError(msg("A token lifetime must be positive."), {"lifetime": "positive"})
    now = settings_of(session).now()
    with unit_of_work(session):
        text = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            user_id=user.id,
            token_hash=hash_token(text),
            created_at=now,
            expires_at=now + lifetime,
        )
        session.add(row)
        session.flush()
        return text, row


def verify_token(
    session: Session, token: str, remote_addr: str | None = None, *, now: datetime | None = None
) -> tuple[Actor, ApiToken] | None:
    """The actor (channel ``api``) and the token row for a valid token, else None.

    A token is valid when it is known, not revoked, not expired, and its user is active.
    Unknown, revoked and expired tokens all answer None so a caller cannot tell them apart.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    now = now or settings_of(session).now()
    row = (
        session.execute(
            select(ApiToken)
            .where(ApiToken.token_hash == hash_token(token))
            # The user, their regions and organisation in the same statement: every API request
            # comes here first.
            .options(joinedload(ApiToken.user).options(*USER_WITH_REGIONS))
        )
        .unique()
        .scalar_one_or_none()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if user is None or not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        with unit_of_work(session):
            # A plain UPDATE: no version check needed, and concurrent requests may both write.
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        session.refresh(row)
    actor = Actor.from_user(user, channel="api", remote_addr=remote_addr)
    return actor, row


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens (idempotent: revoking twice keeps the first time)."""
    with unit_of_work(session):
        row = session.get(ApiToken, token_id)
        if row is None or (not actor.is_system and row.user_id != actor.user_id):
            raise NotFound(msg("No such token."))
        if row.revoked_at is None:
            row.revoked_at = settings_of(session).now()
        return row


def revoke_all_tokens(session: Session, user_id: int) -> int:
    """Revoke every live token of a user (password change, deactivation); returns the count."""
    with unit_of_work(session):
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=settings_of(session).now())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
