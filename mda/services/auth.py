"""Sign-in: passwords, throttling of failed attempts, the second factor, and session loading.

The web sign-in and the API's token endpoint both go through :func:`authenticate` and
:func:`verify_second_factor`, so they share one set of throttling rules.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mda.models import LoginAttempt, User, utcnow
from mda.services import tokens, totp
from mda.services.errors import DomainError
from mda.services.messages import msg_plural
from mda.services.passwords import hash_password, needs_rehash, verify_password
from mda.services.settings import ThrottleLimits, settings_of
from mda.services.text import sanitise
from mda.services.uow import unit_of_work

# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = hash_password("no such user, constant-time dummy")


class ThrottledError(DomainError):
    """Too many failed sign-ins for this account or from this address; ``retry_after`` in s."""

    status = 429
    title = "Too many attempts"

    def __init__(self, retry_at: datetime, scope: str, now: datetime | None = None) -> None:
        self.retry_at = retry_at
        self.scope = scope  # "account" or "address"
        moment = utcnow() if now is None else now
        self.retry_after = max(1, math.ceil((retry_at - moment).total_seconds()))
        minutes = max(1, math.ceil(self.retry_after / 60))
        if scope == "account":
            message = msg_plural(
                "Too many failed sign-in attempts for this account. "
                "Try again in %(num)d minute(s).",
                "Too many failed sign-in attempts for this account. "
                "Try again in %(num)d minute(s).",
                minutes,
            )
        else:
            message = msg_plural(
                "Too many failed sign-in attempts for this address. "
                "Try again in %(num)d minute(s).",
                "Too many failed sign-in attempts for this address. "
                "Try again in %(num)d minute(s).",
                minutes,
            )
        super().__init__(message, {"retry_after": self.retry_after, "scope": scope})

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _normalise(username: str) -> str:
    # Sanitised: the attempt is recorded even for a name no account can have.
    return sanitise(username.strip().lower()[:64])


def _serialise_attempts(session: Session, name: str, remote_addr: str) -> None:
    """Make concurrent attempts on one account or from one address take turns.

    Called inside the transaction that checks the throttle and records the attempt, so two
    simultaneous attempts cannot both pass a limit with one attempt left. On SQLite the unit
    of work's ``BEGIN IMMEDIATE`` already makes writers take turns; on PostgreSQL a
    transaction-scoped advisory lock per account and per address does it (taken in a fixed
    order, so two attempts can never deadlock), released at commit or rollback.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = {f"login:account:{name}"}
    if remote_addr:
        keys.add(f"login:address:{remote_addr[:64]}")
    for key in sorted(keys):
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, signed=True))))


def check_throttle(
    session: Session, username: str, remote_addr: str, limits: ThrottleLimits | None = None
) -> None:
    """Raise :class:`ThrottledError` when the account or the address has failed too often.

    Per account, failures count since the last successful sign-in within the window (a
    correct password and code reset it); per address they always count, so one valid account
    cannot be used to reset the counter while guessing at others. :func:`authenticate` and
    :func:`verify_second_factor` call it inside the transaction that records the attempt.
    """
    settings = settings_of(session)
    limits = limits or settings.throttle
    now = settings.now()
    since = now - limits.window
    name = _normalise(username)
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == name, LoginAttempt.succeeded.is_(True), LoginAttempt.at > since
        )
    )
    account_since = max(since, last_ok) if last_ok else since
    checks = [("account", LoginAttempt.username == name, limits.per_account, account_since)]
    if remote_addr:
        checks.append(
            ("address", LoginAttempt.remote_addr == remote_addr[:64], limits.per_address, since)
        )
    for scope, condition, limit, start in checks:
        failures = list(
            session.scalars(
                select(LoginAttempt.at)
                .where(condition, LoginAttempt.succeeded.is_(False), LoginAttempt.at > start)
                .order_by(LoginAttempt.at.desc())
                .limit(limit)
            )
        )
        if len(failures) >= limit:
            # Free again once the oldest of the last ``limit`` failures leaves the window.
            raise ThrottledError(failures[-1] + limits.window, scope, now)


def authenticate(session: Session, username: str, password: str, remote_addr: str) -> User | None:
    """The user when the password is right and the account active, else None.

    Raises :class:`ThrottledError` (status 429) when the account or the address has too many
    recent failures; then the password is not even checked. Every checked attempt is recorded.
    A user with a second factor is not signed in yet: the caller asks for the code and calls
    :func:`verify_second_factor`.
    """
    name = _normalise(username)
    now = settings_of(session).now()
    with unit_of_work(session):
        # Checked in the transaction that records the attempt, one attempt at a time per
        # account and address: two at once cannot both use the last attempt left.
        _serialise_attempts(session, name, remote_addr)
        check_throttle(session, name, remote_addr)
        user = session.scalar(select(User).where(User.username == name))
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        ok = ok and user is not None and user.active
        # A user who still has to pass a second factor has not succeeded yet: a success row
        # would reset the per-account counter before the code is checked.
        second_factor_pending = ok and user is not None and user.totp_enabled
        if not second_factor_pending:
            session.add(
                LoginAttempt(username=name, remote_addr=remote_addr[:64], succeeded=ok, at=now)
            )
        if not ok:
            return None
        assert user is not None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        if not second_factor_pending:
            user.last_login_at = now
        return user


def verify_second_factor(session: Session, user: User, code: str, remote_addr: str = "") -> bool:
    """Check a TOTP code for a user who passed the password; a code is accepted only once.

    A wrong code counts as a failed sign-in for the account (and the address), so guessing
    codes is throttled like guessing passwords; :class:`ThrottledError` when over the limit.
    Acceptance is one conditional UPDATE of ``totp_last_counter``: of two requests sending the
    same code at the same moment, only the one whose UPDATE changes the row gets in.
    """
    now = settings_of(session).now()
    with unit_of_work(session):
        _serialise_attempts(session, user.username, remote_addr)
        check_throttle(session, user.username, remote_addr)
        counter = None
        if user.active and user.totp_enabled and user.totp_secret:
            counter = totp.matching_counter(user.totp_secret, code)
        ok = counter is not None and _accept_counter(session, user, counter)
        session.add(
            LoginAttempt(username=user.username, remote_addr=remote_addr[:64], succeeded=ok, at=now)
        )
        if ok:
            user.last_login_at = now
        return ok


def _accept_counter(session: Session, user: User, counter: int) -> bool:
    """Record ``counter`` as the last accepted time step unless it (or a later one) was used.

    The comparison is made by the database in the UPDATE itself, never on the ``user`` object
    (which another request may have made stale): the row lock makes a second UPDATE wait and
    then find the condition false.
    """
    result = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_counter.is_(None), User.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(user, "totp_last_counter", counter)
    return True


def new_session_token() -> str:
    """A fresh value for ``users.session_token``: every web session holding the old one ends."""
    return secrets.token_hex(16)


def sign_out(session: Session, user: User) -> None:
    """End every web session of ``user``: this cookie and any copy of it stop working.

    The session token is part of what the signed session cookie stores (``User.get_id``) and
    the user loader compares it with the row on every request, so a new one signs out every
    browser of the account; API tokens are left alone.
    """
    with unit_of_work(session):
        user.session_token = new_session_token()


def sign_out_everywhere(session: Session, user: User) -> int:
    """End every web session and revoke every API token of ``user``; returns tokens revoked.

    Called inside the use case that changes the account (password change or reset, a role
    change, a region taken away, deactivation), so the change and the sign-out commit
    together.
    """
    with unit_of_work(session):
        user.session_token = new_session_token()
        return tokens.revoke_all_tokens(session, user.id)


def load_session_user(session: Session, token: str) -> User | None:
    """Flask-Login's loader: the id and the session token must both match."""
    user_id, _, session_token = token.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) < 10) or not session_token:
        return None
    # The regions and organisation with the row: every signed-in page needs them.
    user = session.get(User, int(user_id), options=tokens.USER_WITH_REGIONS)
    if user is None or not user.active or user.session_token != session_token:
        return None
    return user
