"""What every request may carry and what every response says about caching, pages and API alike.

- JSON bodies nested deeper than :data:`JSON_MAX_DEPTH` are refused before the parser recurses
  (Python's parser would raise ``RecursionError`` at about 1,000 levels: a 500), and so are
  numbers too long for Python to convert; both as a ``ValueError``, which Flask answers 400.
- ``<int:...>`` in a URL is bounded to the 64-bit signed range, so a huge id is a 404 and never
  reaches the database driver (``OverflowError``: a 500).
- Every response except static assets carries ``Cache-Control: no-store`` and
  ``Pragma: no-cache``: pages and API answers hold personal or case data, or a new token.
"""

from __future__ import annotations

import builtins
import json
import re
from itertools import accumulate
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, Map, ValidationError
from werkzeug.wrappers import Response

JSON_MAX_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# A JSON string, or an unterminated one up to the end of the text. Possessive, and matching at
# every quote it starts at, so removing all strings takes linear time whatever the text holds.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonRefused(ValueError):
    """A JSON document this application will not parse; the message says why."""


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (0 for a scalar), without recursing."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def decode_json_bytes(data: str | bytes | bytearray) -> str:
    """The text of a JSON document, decoded the way :func:`json.loads` would."""
    if isinstance(data, str):
        return data
    return bytes(data).decode(json.detect_encoding(data), "surrogatepass")


def check_json(text: str, max_depth: int = JSON_MAX_DEPTH) -> None:
    """Raise :class:`JsonRefused` when ``text`` nests deeper than ``max_depth``."""
    if json_depth(text) > max_depth:
        raise JsonRefused(
            f"The request body is nested more than {max_depth} levels deep; "
            "no request of this application needs that."
        )


def loads_checked(data: str | bytes | bytearray, **kwargs: Any) -> Any:
    """:func:`json.loads` that refuses deep nesting and over-long numbers with a clear message.

    Invalid JSON still raises :class:`json.JSONDecodeError` (or ``UnicodeDecodeError``), as
    before; what this refuses raises :class:`JsonRefused`. Both are ``ValueError``.
    """
    text = decode_json_bytes(data)
    check_json(text)
    try:
        return json.loads(text, **kwargs)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise
    except ValueError:
        # int() refuses more than sys.get_int_max_str_digits() digits (4300).
        raise JsonRefused("The request body holds a number with too many digits.") from None


class CheckedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, loading through :func:`loads_checked` (``request.get_json``)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_checked(s, **kwargs)


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that never yields a number outside the 64-bit signed range.

    A route may narrow it further (``<int(max=2147483647):id>``) but not widen it.
    """

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        low = INT64_MIN if min is None else builtins.max(min, INT64_MIN)
        high = INT64_MAX if max is None else builtins.min(max, INT64_MAX)
        super().__init__(map, fixed_digits=fixed_digits, min=low, max=high, signed=signed)

    def to_python(self, value: str) -> Any:
        if len(value.lstrip("-").lstrip("0")) > len(str(INT64_MAX)):
            # Out of range whatever the digits; also spares int() a very long string.
            raise ValidationError()
        return super().to_python(value)


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def no_store(response: Response) -> Response:
    """``after_request``: nothing but static assets is kept by a browser or a proxy."""
    if not _is_static():
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    """Install the JSON provider, the bounded ``int`` converter and the no-store hook.

    Call before any blueprint is registered: rules pick their converter when they are added.
    """
    app.json = CheckedJSONProvider(app)
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.after_request(no_store)
