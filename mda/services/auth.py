"""Sign-in: checking a password and loading the signed-in user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import LoginAttempt, User, utcnow
from mda.services.passwords import hash_password, needs_rehash, verify_password
from mda.services.uow import unit_of_work

# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = hash_password("no such user, constant-time dummy")


def authenticate(session: Session, username: str, password: str, remote_addr: str) -> User | None:
    """The user when the password is right and the account active; records the attempt."""
    with unit_of_work(session):
        name = username.strip().lower()[:64]
        user = session.scalar(select(User).where(User.username == name))
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        ok = ok and user is not None and user.active
        session.add(LoginAttempt(username=name, remote_addr=remote_addr[:64], succeeded=ok))
        if not ok:
            return None
        assert user is not None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = utcnow()
        return user


def load_session_user(session: Session, token: str) -> User | None:
    """Flask-Login's loader: the id and the session token must both match."""
    user_id, _, session_token = token.partition(":")
    if not user_id.isdigit() or not session_token:
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != session_token:
        return None
    return user
