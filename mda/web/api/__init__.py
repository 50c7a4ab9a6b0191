"""The JSON API (``/api/v1``): the same services and rules as the pages, for other systems.

Bearer tokens, not cookies; marshmallow schemas at the edge; an OpenAPI 3 document generated
from them (``/api/v1/openapi.json``) and a readable page of it (``/api/v1/docs``); every error
as ``application/problem+json``.
"""

from __future__ import annotations

from flask import Flask

from mda.web.api import problems
from mda.web.api.blueprint import API_PREFIX, MdaApi, bp
from mda.web.api.resources import (  # noqa: F401
    deadlines,
    meta,
    notifications,
    programme,
    regions,
    statistics,
    tokens,
    trajectories,
    worklist,
)
from mda.web.api.security import authenticate_request, check_body

__all__ = ["API_PREFIX", "bp", "register"]

API_SETTINGS = {
    "API_TITLE": "MDA++ API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    # flask-smorest's own spec and UI routes stay off: we serve the document and its page.
    "OPENAPI_URL_PREFIX": None,
}

_SPEC_OPTIONS = {
    "info": {
        "description": (
            "The MDA++ trajectory engine's API for regional systems and the programme team. "
            "Sign in with POST /api/v1/tokens, then send 'Authorization: Bearer <token>'. "
            "Every change of a trajectory, a region or a report needs 'If-Match: <version>' "
            "(the ETag of your last GET; 428 without it, 409 when stale); errors are "
            "application/problem+json."
        )
    },
    "security": [{"bearerAuth": []}],
    "servers": [{"url": "/"}],
}

# Hooks and error handlers live on the blueprint object (registered once, at import).
bp.before_request(check_body)
bp.before_request(authenticate_request)
problems.register(bp)


def register(app: Flask) -> None:
    """Bind the API to ``app``: flask-smorest, the blueprint, CSRF exemption, error handlers."""
    from mda.extensions import csrf

    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("API_SPEC_OPTIONS", _SPEC_OPTIONS)
    api = MdaApi(app)
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/tokens."},
    )
    api.register_blueprint(bp)
    app.before_request(meta.routing_problem)
    # Bearer tokens travel in a header a browser never adds by itself: no CSRF to guard against.
    csrf.exempt(bp)
    app.extensions["mda.api"] = api
