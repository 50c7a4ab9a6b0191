"""The API describing itself: the OpenAPI document, a readable page of it; and unknown API
paths and wrong methods answered as problem+json."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from mda.web.api import problems
from mda.web.api.blueprint import API_PREFIX, bp

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 document generated from the schemas and routes."""
    return current_app.extensions["mda.api"].spec.to_dict()


@bp.route("/openapi.json", methods=["GET"], endpoint="openapi_json")
@bp.doc(
    security=[],
    tags=["meta"],
    summary="This API's OpenAPI 3 document",
    responses={
        "200": {
            "description": "The document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def openapi_json() -> Any:
    return jsonify(openapi_document())


@bp.route("/docs", methods=["GET"], endpoint="api_docs")
@bp.doc(
    security=[],
    tags=["meta"],
    summary="This API's documentation as a page",
    responses={
        "200": {
            "description": "The page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
def api_docs() -> Any:
    spec = openapi_document()
    return render_template("api/docs.html", spec=spec, operations=_operations(spec))


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations grouped for reading: path, method, summary, parameters, body, responses."""
    schemas = spec.get("components", {}).get("schemas", {})
    responses = spec.get("components", {}).get("responses", {})
    rows = []
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            rows.append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "tag": (operation.get("tags") or ["api"])[0],
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "public": operation.get("security") == [],
                    "parameters": shared + operation.get("parameters", []),
                    "body": _fields(body.get("schema", {}), schemas) if body else None,
                    "body_name": _ref_name(body.get("schema", {})) if body else None,
                    "responses": [
                        _response(code, response, responses)
                        for code, response in operation.get("responses", {}).items()
                    ],
                }
            )
    return rows


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _fields(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    name = _ref_name(schema)
    resolved = schemas.get(name, {}) if name else schema
    required = set(resolved.get("required", []))
    out = []
    for field, prop in resolved.get("properties", {}).items():
        kind = prop.get("type") or ("string" if prop.get("enum") else None)
        kind = kind or _ref_name(prop) or "object"
        if kind == "array":
            kind = f"list of {prop.get('items', {}).get('type') or _ref_name(prop) or 'object'}"
        enum = prop.get("enum") or prop.get("items", {}).get("enum")
        out.append(
            {
                "name": field,
                "type": kind + (f" ({prop['format']})" if prop.get("format") else ""),
                "required": field in required,
                "enum": enum,
                "description": prop.get("description", ""),
            }
        )
    return out


def _response(code: str, response: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in response:
        response = components.get(response["$ref"].rsplit("/", 1)[-1], {})
    content = response.get("content", {})
    media = next(iter(content), "")
    return {
        "code": code,
        "description": response.get("description", ""),
        "media": media,
        "schema": _ref_name(content.get(media, {}).get("schema", {})) if media else None,
    }


# --- unknown paths and wrong methods ----------------------------------------------------


def routing_problem() -> Any:
    """App ``before_request``: an API path that matched no route answers problem+json.

    A request that matches no route belongs to no blueprint, so the API blueprint's error
    handlers would never see it (nor would a converter's refusal, such as an id out of range);
    it is answered here, before Flask raises the routing error for the pages' handlers.
    """
    exc = request.routing_exception
    if exc is None or not (request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")):
        return None
    if isinstance(exc, MethodNotAllowed):
        return problems.http_error(
            MethodNotAllowed(
                valid_methods=exc.valid_methods,
                description=f"{request.method} is not allowed on {request.path}.",
            )
        )
    if isinstance(exc, NotFound):
        return problems.http_error(
            NotFound(f"No API resource at {request.path}; see {API_PREFIX}/docs.")
        )
    return None  # a redirect (a missing trailing slash) goes its usual way
