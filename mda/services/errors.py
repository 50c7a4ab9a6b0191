"""Domain exceptions raised by services; the web and API layers map them to responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mda.services.messages import Text, joined, msg, term


class DomainError(Exception):
    """Base class. ``message`` is for people; ``details`` is structured for the API.

    ``message`` is the English text (a plain ``str``); ``text`` is the message as given, a
    :class:`~mda.services.messages.Text` that the pages say in their own language (see
    :mod:`mda.services.messages`). Every service builds its messages with ``msg(...)``.
    """

    status = 400
    title = "Bad request"

    def __init__(self, message: str | Text, details: dict[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.text: str | Text = message
        self.details = details or {}
        # An access-log entry to keep even though the use case's transaction is rolled back
        # (a refused attempt to reach a trajectory is itself worth logging).
        self.audit: Any = None


class ValidationError(DomainError):
    """Input that breaks a rule; ``details`` may map field names to messages."""

    status = 422
    title = "Invalid input"


class IdentifierFound(ValidationError):
    """Free text that looks like a direct identifier (BSN, e-mail, phone, postcode...)."""

    title = "Text looks like an identifier"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """A change made against a stale version: someone else changed it first."""

    status = 409
    title = "Conflict"


class Busy(DomainError):
    """The database could not be locked for a change within the wait: try again shortly.

    Only the embedded default (SQLite, one writer at a time) gets here, and only when writers
    queue for longer than the lock timeout; nothing of the use case was written.
    """

    status = 503
    title = "Busy"

    def __init__(self, retry_after: int = 2) -> None:
        super().__init__(
            msg(
                "The database is busy with other changes; nothing was saved. Try again in a moment."
            ),
            {"retry_after": retry_after},
        )


class TransitionRefused(DomainError):
    """A trigger whose guard does not hold; ``unmet`` lists every unmet condition in words.

    ``trigger`` names what was attempted (a workflow trigger, or a change such as
    ``checklist lead_assigned``); ``action`` says it in words for a change that is not a
    trigger ("Suspending the trajectory"), else the trigger's label is shown.
    """

    status = 422
    title = "Transition refused"

    def __init__(self, trigger: str, unmet: Sequence[str], action: Text | None = None) -> None:
        conditions = joined("; ", unmet)
        if action is None:
            summary = msg(
                "'%(trigger)s' is not possible now: %(unmet)s",
                trigger=term("trigger", trigger),
                unmet=conditions,
            )
        else:
            summary = msg(
                "%(action)s is not possible now: %(unmet)s", action=action, unmet=conditions
            )
        super().__init__(summary, {"unmet": list(unmet)})
        self.trigger = str(trigger)
        self.unmet = list(unmet)


def parse_enum(enum_cls: Any, value: Any, field: str) -> Any:
    """``enum_cls(value)``, or a :class:`ValidationError` naming the field and allowed values."""
    try:
        return enum_cls(value)
    except ValueError:
        known = ", ".join(member.value for member in enum_cls)
        raise ValidationError(
            msg(
                "%(field)s %(value)r is not one of %(known)s.",
                field=term("field", field),
                value=value,
                known=known,
            ),
            {field: msg("one of %(known)s", known=known)},
        ) from None
