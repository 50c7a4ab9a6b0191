"""Text that a database cannot store, or that no person typed: refused with a clear message.

PostgreSQL refuses NUL characters in text, and a lone UTF-16 surrogate cannot be encoded at
all; left alone, either turns a bad request into a server error. Control characters other than
tab and line breaks have no place in the product's text either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mda.services.errors import ValidationError
from mda.services.messages import Text, joined, msg, term

_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(value: str) -> Text | None:
    """What is wrong with ``value``, or None when it is storable, ordinary text."""
    match = _BAD.search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return msg("contains invalid Unicode (a lone surrogate)")
    return msg("contains a control character (U+%(code)s)", code=f"{ord(char):04X}")


def require_clean_text(fields: Mapping[str, str | None] | Iterable[tuple[str, str | None]]) -> None:
    """Raise :class:`ValidationError` naming every field whose text cannot be accepted."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    problems = {
        name: problem
        for name, value in items
        if isinstance(value, str) and (problem := text_problem(value))
    }
    if problems:
        listed = joined(
            "; ",
            (
                msg("%(field)s %(problem)s", field=term("field", name), problem=problem)
                for name, problem in problems.items()
            ),
        )
        raise ValidationError(msg("%(listed)s.", listed=listed), problems)


def sanitise(value: str) -> str:
    """Replace what :func:`text_problem` objects to, for text that is only recorded."""
    return _BAD.sub("\ufffd", value)
