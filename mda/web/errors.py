"""Error pages in the product's style, and domain exceptions mapped to HTTP statuses.

A refused attempt to reach a trajectory is written to the access log by the service's unit of
work (a ``denied`` entry) before it arrives here as a :class:`Forbidden`.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from mda.services.errors import DomainError
from mda.web.i18n import error_text

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Bad request"),
    403: _l("No access"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    409: _l("Changed in the meantime"),
    413: _l("Too large"),
    422: _l("Invalid input"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Busy"),
}
EXPLANATIONS = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l("You do not have access to this page. The attempt has been noted."),
    404: _l("This page does not exist, or no longer exists."),
    405: _l("This page cannot be used this way."),
    409: _l(
        "Someone else changed this in the meantime. Reload the page and make your change again."
    ),
    413: _l("What you sent is too large."),
    422: _l("What you entered is not valid."),
    429: _l("Too many attempts in a short time. Wait a moment and try again."),
    500: _l("An unexpected error occurred. It has been logged; please try again later."),
    503: _l("Many changes are being saved at this moment; nothing of yours was saved. Try again."),
}


def _render(code: int, message: str | None, headers: dict[str, str] | None = None):
    if request.path.startswith("/api/"):
        # API routes that do not handle their own errors still answer in JSON.
        body = {"status": code, "title": str(TITLES.get(code, "")), "detail": message or ""}
        return body, code, headers or {}
    page = render_template(
        "error.html",
        code=code,
        title=TITLES.get(code, ""),
        explanation=EXPLANATIONS.get(code, ""),
        message=message,
    )
    return page, code, headers or {}


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code >= 500:
            return _render(code, None)
        # Werkzeug's stock descriptions are English and generic; ours explain in the UI's
        # language, and an explicit description (abort(400, description=...)) is kept.
        default = type(exc).description
        message = exc.description if exc.description != default else None
        headers = {}
        if code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return _render(code, message, headers)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        headers = {}
        retry_after = exc.details.get("retry_after") if exc.details else None
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return _render(exc.status, error_text(exc), headers)

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError):
        original = getattr(exc, "original_exception", None)
        if original is not None:
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
        return _render(500, None)
