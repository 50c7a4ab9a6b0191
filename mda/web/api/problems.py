"""Every API error as ``application/problem+json`` (RFC 9457): title, detail, status, errors.

Handlers are registered on the API blueprint, one per HTTP status, so they take precedence
over the pages' HTML error handlers for API requests and leave the pages alone. Requests that
match no API route (unknown path, wrong method) are answered by
:func:`mda.web.api.resources.meta.routing_problem`.

A service's refusal (``detail``, ``unmet`` and the field ``errors``) is English, the API's
language, with the raw vocabulary values (``'accept' is not possible now``). A request with
``Accept-Language: nl`` gets it in Dutch instead, from the pages' catalogue and with the pages'
labels (:func:`mda.web.i18n.translate` under that locale); ``Content-Language`` says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, json, request
from flask_babel import force_locale
from werkzeug.exceptions import HTTPException, default_exceptions

from mda.services.errors import Conflict, DomainError, TransitionRefused
from mda.services.errors import ValidationError as DomainValidationError
from mda.services.messages import Text
from mda.web.i18n import translate

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors:
        body["errors"] = _stringify_keys(errors)
    body.update({key: value for key, value in extra.items() if value is not None})
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _stringify_keys(value: Any) -> Any:
    """JSON object keys must be strings (marshmallow keys list errors by index)."""
    if isinstance(value, Mapping):
        return {str(key): _stringify_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_stringify_keys(item) for item in value]
    return value


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """``{"a": {"0": ["x"]}}`` -> ``["a.0: x"]``: for a one-line detail."""
    if isinstance(errors, Mapping):
        lines: list[str] = []
        for key, value in errors.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            lines.extend(_flatten(value, path))
        return lines
    if isinstance(errors, list | tuple):
        return [line for item in errors for line in _flatten(item, prefix)]
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def _request_errors(exc: HTTPException) -> dict[str, Any]:
    """Field errors that webargs put on the exception, merged over their locations."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or {}
    merged: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, Mapping):
            merged.update(errors)
        else:
            merged[location] = errors
    return merged


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    title = exc.name
    errors = _request_errors(exc)
    headers: dict[str, str] = {}
    if errors.get("json") == ["Invalid JSON body."]:
        detail = "The request body is not valid JSON."
        errors = {}
    elif errors:
        detail = "The request has invalid fields: " + "; ".join(_flatten(errors))
    elif status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = f"The request body is larger than the limit of {limit} bytes."
    else:
        detail = exc.description or title
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="mda"'
    allowed = None
    if status == 405 and getattr(exc, "valid_methods", None):
        allowed = sorted(exc.valid_methods)  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(allowed)
    return problem(status, title, detail, errors=errors, headers=headers, allowed=allowed)


# The languages a service's refusal can be told in; English is the API's own.
MESSAGE_LANGUAGES = ("en", "nl")


def _language() -> str:
    """The language the request asks for (``Accept-Language``), English by default."""
    return request.accept_languages.best_match(MESSAGE_LANGUAGES, default="en") or "en"


def _said(value: Any, language: str) -> Any:
    """A message (or a list or mapping of them) in ``language``; other values unchanged."""
    if language == "en":
        return str(value) if isinstance(value, str) else value
    if isinstance(value, Mapping):
        return {key: _said(item, language) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_said(item, language) for item in value]
    return translate(value) if isinstance(value, Text) else value


def domain_error(exc: DomainError) -> Response:
    language = _language()
    with force_locale(language):
        detail = _said(exc.text, language)
        unmet = _said(exc.unmet, language) if isinstance(exc, TransitionRefused) else None
        errors = None
        if isinstance(exc, DomainValidationError) and exc.details:
            errors = _said(exc.details, language)
    headers = {"Content-Language": language, "Vary": "Accept-Language"}
    if unmet is not None:
        return problem(exc.status, exc.title, detail, headers=headers, unmet=unmet)
    extra: dict[str, Any] = {}
    if isinstance(exc, Conflict) and isinstance(exc.details.get("version"), int):
        extra["current_version"] = exc.details["version"]
    retry_after = exc.details.get("retry_after")
    if exc.status in (429, 503) and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return problem(exc.status, exc.title, detail, errors=errors, headers=headers, **extra)


def register(bp: Any) -> None:
    """Install the problem+json handlers on the API blueprint."""
    for code in default_exceptions:
        bp.register_error_handler(code, http_error)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(DomainError, domain_error)
