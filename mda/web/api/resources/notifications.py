"""The caller's own notifications: reminders, overdue notices, escalations and digests.

Nobody reads another person's notifications. A manager's escalation names the coordinator,
the deadline kind and how late it is, never a pseudonym or a trajectory; only a coordinator of
the trajectory's region is given its ``trajectory_id``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import abort, request
from marshmallow import RAISE, fields, validate

from mda.extensions import db
from mda.models import Notification
from mda.services import notifications as service
from mda.services.context import Actor
from mda.vocabulary import DeadlineKind, NotificationKind
from mda.web.api.blueprint import bp
from mda.web.api.security import current_actor
from mda.web.hardening import JsonRefused, loads_checked

TAGS = ["notifications"]


class NotificationQuerySchema(ma.Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "Only the unread ones."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class NotificationDeadlineSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in DeadlineKind]))
    due_at = fields.DateTime(required=True)


class NotificationSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in NotificationKind]),
        metadata={"example": "escalation"},
    )
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)
    title = fields.String(required=True, metadata={"description": "What it says, in English."})
    deadline = fields.Nested(NotificationDeadlineSchema, allow_none=True, required=True)
    trajectory_id = fields.Integer(
        metadata={"description": "For a coordinator of the trajectory's region only."}
    )
    details = fields.Dict(
        required=True,
        metadata={
            "description": "Coordinator (user name), how late (working days, hours), region; "
            "for a digest the counts overdue, today and this week. Never a pseudonym."
        },
    )


class NotificationPageSchema(ma.Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


def notification_view(actor: Actor, row: Notification) -> dict[str, Any]:
    """A notification as the API shows it to its own recipient."""
    details = dict(row.details or {})
    deadline = None
    if row.deadline_id is not None and details.get("deadline_kind"):
        deadline = {
            "id": row.deadline_id,
            "kind": details["deadline_kind"],
            "due_at": datetime.fromisoformat(details["due_at"]) if details.get("due_at") else None,
        }
    view: dict[str, Any] = {
        "id": row.id,
        "kind": row.kind.value,
        "created_at": row.created_at,
        "read_at": row.read_at,
        "title": str(service.describe(row).title),
        "deadline": deadline,
        "details": {k: v for k, v in details.items() if k not in ("deadline_kind", "due_at")},
    }
    trajectory_id = service.trajectory_of(db.session, actor, row)
    if trajectory_id is not None:
        view["trajectory_id"] = trajectory_id
    return view


@bp.route("/notifications", methods=["GET"], endpoint="list_notifications")
@bp.arguments(NotificationQuerySchema, location="query", unknown=RAISE)
@bp.response(200, NotificationPageSchema)
@bp.doc(tags=TAGS)
def list_notifications(query: dict[str, Any]) -> dict[str, Any]:
    """Your notifications

    Newest first; `unread=true` for the unread ones only. Paginated with `page` and
    `per_page` (at most 200). Every role has its own.
    """
    actor = current_actor()
    page, per_page = query["page"], query["per_page"]
    rows, total = service.list_notifications(
        db.session, actor, unread=query["unread"], page=page, per_page=per_page
    )
    return {
        "items": [notification_view(actor, row) for row in rows],
        "total": total,
        "unread": service.unread_count(db.session, actor),
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(total / per_page),
    }


@bp.route(
    "/notifications/<int(max=2147483647):notification_id>/read",
    methods=["POST"],
    endpoint="read_notification",
)
@bp.response(200, NotificationSchema)
@bp.doc(tags=TAGS)
def read_notification(notification_id: int) -> dict[str, Any]:
    """Mark one of your notifications read

    Marking it again changes nothing. 404 for a notification that is not yours. No body is
    needed (one sent must still be valid JSON).
    """
    if request.content_length:  # checked like every body (depth, syntax), then not used
        try:
            loads_checked(request.get_data())
        except ValueError as exc:
            detail = str(exc) if isinstance(exc, JsonRefused) else "The body is not valid JSON."
            abort(400, description=detail)
    actor = current_actor()
    return notification_view(actor, service.mark_read(db.session, actor, notification_id))
