"""Password hashing with Argon2id (argon2-cffi's tuned defaults) and password rules."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mda.services.errors import ValidationError
from mda.services.messages import msg

_hasher = PasswordHasher()
MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_password_rules(password: str, username: str = "") -> None:
    """Length over complexity rules (NCSC and NIST guidance); not the username itself."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            msg("The password must be at least %(minimum)d characters long.", minimum=MIN_LENGTH),
            {"password": msg("at least %(minimum)d characters", minimum=MIN_LENGTH)},
        )
    if username and username.lower() in password.lower():
        raise ValidationError(
            msg("The password must not contain the username."),
            {"password": "contains the username"},
        )


def one_time_password() -> str:
    """A random password for a new account, shown once and changed at first sign-in."""
    return secrets.token_urlsafe(12)
