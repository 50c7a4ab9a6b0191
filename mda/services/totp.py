"""The second factor: time-based one-time passwords (RFC 6238) with pyotp, and enrolment.

A secret is shown once, while the user enrols; once the first code is confirmed it is never
shown again (an admin can only reset it, after which the user enrols afresh). Secrets and codes
are never logged.
"""

from __future__ import annotations

import time

import pyotp
import segno
from pyotp import utils as otp_utils
from sqlalchemy.orm import Session

from mda.models import User
from mda.services.audit import log_access
from mda.services.context import Actor
from mda.services.errors import Conflict, Forbidden, ValidationError
from mda.services.messages import msg
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction

ISSUER = "MDA++"
# One step either side: allows 30 s of clock drift between the phone and the server.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def matching_counter(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step whose code equals ``code`` (within the drift window), else None."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    otp = pyotp.TOTP(secret)
    now = otp.timecode(at if at is not None else time.time())
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if otp_utils.strings_equal(code, otp.generate_otp(step)):
            return step
    return None


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code, rendered on the server (no script, no CDN)."""
    return segno.make(uri, error="m").svg_inline(scale=4, title="QR code", border=2)


def begin_enrolment(session: Session, actor: Actor, user: User) -> str:
    """Give ``user`` a fresh pending secret and return it (to show once, with its QR code)."""
    with unit_of_work(session):
        _require_self(actor, user)
        if user.totp_enabled:
            raise Conflict(
                msg(
                    "A second factor is already set up; an admin can reset it if the device is "
                    "lost."
                )
            )
        secret = new_secret()
        user.totp_secret = secret
        user.totp_last_counter = None
        return secret


def confirm_enrolment(session: Session, actor: Actor, user: User, code: str) -> None:
    """Switch the second factor on once the user proves the authenticator app has the secret."""
    with unit_of_work(session):
        _require_self(actor, user)
        if user.totp_enabled:
            raise Conflict(msg("A second factor is already set up."))
        counter = matching_counter(user.totp_secret, code) if user.totp_secret else None
        if counter is None:
            raise ValidationError(
                msg(
                    "The code does not match. Check the time on your phone and enter the "
                    "current 6-digit code."
                ),
                {"code": "does not match"},
            )
        user.totp_enabled = True
        user.totp_last_counter = counter
        log_access(session, actor, AccessAction.CHANGE, "user", user.id, details={"totp": "on"})


def _require_self(actor: Actor, user: User) -> None:
    if actor.user_id != user.id:
        raise Forbidden(msg("Only the user can set up their own second factor."))
