"""Bearer authentication for the API, and the If-Match / ETag helpers.

The API never looks at the session cookie: a request is authenticated by its
``Authorization: Bearer ...`` header alone, so a page's session cannot be used to call it
(and CSRF, a cookie attack, does not apply).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, g, request
from flask_smorest.exceptions import PreconditionRequired
from werkzeug.exceptions import Unauthorized

from mda.extensions import db
from mda.models import ApiToken
from mda.services import tokens
from mda.services.context import Actor
from mda.web.api.blueprint import bp

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
    actor, row = result
    # On whose behalf (NEN 7513): the user's organisation, through the calling system named by
    # its token ("Veilig Thuis Utrecht via api-token:12"); the token alone when there is none.
    system = f"api-token:{row.id}"
    organisation = actor.on_behalf_of
    on_behalf_of = f"{organisation[:100]} via {system}" if organisation else system
    g.api_actor = dataclasses.replace(actor, on_behalf_of=on_behalf_of)
    g.api_token = row


def current_actor() -> Actor:
    """The authenticated caller (channel ``api``)."""
    return g.api_actor


def current_token() -> ApiToken:
    return g.api_token


IF_MATCH_NEEDED = (
    "This change needs an If-Match header with the version you read (the ETag of your last GET)."
)

# The If-Match parameter of every change, for the OpenAPI document.
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": 'The version you read (the ETag of your last GET, like "3"). Missing '
    "answers 428; a stale one answers 409 with the current version.",
    "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,9}"?$'},
}


class IfMatchRequired(PreconditionRequired):
    """428: a change sent without saying which version it was made against."""

    description = IF_MATCH_NEEDED


def if_match_version(*, required: bool = True) -> int | None:
    """The version in ``If-Match`` (``"3"``, ``3`` or ``W/"3"``).

    Missing (or ``*``, which names no version) answers 428 when ``required``, else None. A
    value that is not one version number answers 400.
    """
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() in ("", "*"):
        if required:
            raise IfMatchRequired()
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not re.fullmatch(r"[0-9]{1,9}", value):
        abort(400, description=f"If-Match must be a version number (an ETag), not {raw!r}.")
    return int(value)


def expected_version() -> int:
    """The version in ``If-Match``; 428 when it is missing (see :func:`if_match_required`)."""
    version = if_match_version(required=True)
    assert version is not None
    return version


def if_match_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for a change endpoint: no If-Match, no change (428), checked before the body.

    Put it right under ``@bp.route`` so a request without If-Match is answered 428 before
    its body is parsed. It documents the required If-Match parameter and the 409 and 428
    answers. The version itself is compared by the service, inside the transaction that
    changes the row (see :func:`expected_version`).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if_match_version(required=True)
        return view(*args, **kwargs)

    # functools.wraps shares the view's flask-smorest ``_apidoc``; give the wrapper its own.
    wrapper._apidoc = copy.deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
    documented = bp.doc(parameters=[IF_MATCH])(wrapper)
    documented = bp.alt_response(409, response="CONFLICT")(documented)
    return bp.alt_response(428, response="PRECONDITION_REQUIRED")(documented)


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
