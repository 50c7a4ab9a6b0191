"""Bearer tokens: sign in for a token, see who it is for, revoke it."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.exceptions import Forbidden, Unauthorized

from mda.extensions import db
from mda.services import auth as auth_service
from mda.services import tokens as token_service
from mda.web.api.blueprint import bp
from mda.web.api.schemas import TokenInfoSchema, TokenRequestSchema, TokenSchema
from mda.web.api.security import current_actor, current_token


@bp.route("/tokens", methods=["POST"], endpoint="issue_token")
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@bp.doc(security=[], tags=["tokens"])
def issue_token(data: dict[str, Any]) -> dict[str, Any]:
    """Sign in for a bearer token

    Username and password, and the authenticator code as `second_factor` when the account
    has a second factor. The token is shown once; it expires (`expires_at`) and can be
    revoked. Failed attempts are throttled like the sign-in page's (429 with Retry-After).
    """
    remote_addr = request.remote_addr or ""
    user = auth_service.authenticate(db.session, data["username"], data["password"], remote_addr)
    if user is None:
        raise Unauthorized("Unknown username or wrong password.")
    if user.totp_enabled:
        code = data.get("second_factor")
        if not code:
            raise Unauthorized("This account has a second factor: send its code as second_factor.")
        if not auth_service.verify_second_factor(db.session, user, code, remote_addr):
            raise Unauthorized("The second-factor code is wrong or was used already.")
    elif current_app.config.get("REQUIRE_SECOND_FACTOR"):
        raise Forbidden("Set up a second factor by signing in to the web pages first.")
    if user.must_change_password:
        raise Forbidden("Change your password by signing in to the web pages first.")
    lifetime = current_app.config.get("API_TOKEN_LIFETIME", token_service.DEFAULT_LIFETIME)
    text, row = token_service.issue_token(db.session, user, lifetime)
    return {"id": row.id, "token": text, "token_type": "Bearer", "expires_at": row.expires_at}


@bp.route("/tokens/current", methods=["GET"], endpoint="token_info")
@bp.response(200, TokenInfoSchema)
@bp.doc(tags=["tokens"])
def token_info() -> dict[str, Any]:
    """Who the token is for

    The user, role and regions the token acts for, and when it expires.
    """
    actor = current_actor()
    row = current_token()
    return {
        "id": row.id,
        "username": actor.username,
        "role": str(actor.role),
        "regions": sorted(actor.region_codes),
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }


@bp.route("/tokens/current", methods=["DELETE"], endpoint="revoke_token")
@bp.response(204)
@bp.doc(tags=["tokens"])
def revoke_token() -> None:
    """Revoke the token of this request

    It stops working at once; sign in again for a new one.
    """
    token_service.revoke_token(db.session, current_actor(), current_token().id)
