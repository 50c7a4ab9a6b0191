"""Bearer authentication for the API, and the If-Match / ETag helpers.

The API never looks at the session cookie: a request is authenticated by its
``Authorization: Bearer ...`` header alone, so a page's session cannot be used to call it
(and CSRF, a cookie attack, does not apply).
"""

from __future__ import annotations

import re

from flask import abort, current_app, g, request
from werkzeug.exceptions import Unauthorized

from mda.extensions import db
from mda.models import ApiToken
from mda.services import tokens
from mda.services.context import Actor

# Endpoints that answer without a token: signing in, and the API's own description.
PUBLIC_ENDPOINTS = frozenset({"api.issue_token", "api.openapi_json", "api.api_docs"})


class BearerRequired(Unauthorized):
    pass


def authenticate_request() -> None:
    """``before_request`` of the API blueprint: sets ``g.api_actor`` or answers 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise BearerRequired("This needs an 'Authorization: Bearer <token>' header.")
    result = tokens.verify_token(db.session, token, request.remote_addr)
    if result is None:
        raise BearerRequired("The token is unknown, expired or revoked; request a new one.")
    g.api_actor, g.api_token = result


def current_actor() -> Actor:
    """The authenticated caller (channel ``api``)."""
    return g.api_actor


def current_token() -> ApiToken:
    return g.api_token


def expected_version() -> int | None:
    """The version in ``If-Match`` (``"3"``, ``3`` or ``W/"3"``); None when absent or ``*``."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not re.fullmatch(r"[0-9]{1,9}", value):
        abort(400, description=f"If-Match must be a version number (an ETag), not {raw!r}.")
    return int(value)


def etag_headers(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def check_body() -> None:
    """``before_request``: refuse a too large or non-JSON body before anything reads it."""
    if request.method not in BODY_METHODS:
        return
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        abort(413)
    has_body = bool(length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if has_body and not request.is_json:
        abort(
            415,
            description=(
                "The request body must be JSON, sent with 'Content-Type: application/json'."
            ),
        )
