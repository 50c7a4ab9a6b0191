"""Optimistic locking, shared by every use case that changes a versioned row.

A change names the version it was made against (a page's hidden ``version``, the API's
``If-Match``); when the row is at another version someone else changed it first, and the
change is a :class:`Conflict` with nothing applied. Trajectories (``trajectory_change``),
regions and half-year reports all check through :func:`require_version`.
"""

from __future__ import annotations

from mda.services.errors import Conflict
from mda.services.messages import Text, msg


def require_version(what: str | Text, current: int, expected: int | None) -> None:
    """Refuse a change made against ``expected`` when ``what`` is at ``current``.

    ``expected`` None means the caller made no claim (creation, or a service-internal
    change); the API and the pages always make one.
    """
    if expected is not None and expected != current:
        raise Conflict(
            msg(
                "%(what)s is at version %(current)s, not %(expected)s: someone changed it in "
                "the meantime; reload and try again.",
                what=what,
                current=current,
                expected=expected,
            ),
            {"version": current, "expected_version": expected},
        )
