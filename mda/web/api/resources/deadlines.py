"""A trajectory's deadlines met or acknowledged by hand (DESIGN.md section 4).

``school_notice_due`` and ``plan_review_due`` are met by hand; any deadline that has fallen due
can be acknowledged with a note. Both are changes of the trajectory: they take
``If-Match: <trajectory version>`` and answer the trajectory with its new version.
"""

from __future__ import annotations

from typing import Any

from mda.extensions import db
from mda.services import deadlines as deadline_service
from mda.web.api.blueprint import bp
from mda.web.api.presenters import trajectory_view
from mda.web.api.schemas import DeadlineNoteSchema, TrajectorySchema
from mda.web.api.security import (
    current_actor,
    etag_headers,
    expected_version,
    if_match_required,
)

TAGS = ["trajectories"]
PATH = (
    "/trajectories/<int(max=2147483647):trajectory_id>/deadlines/<int(max=2147483647):deadline_id>"
)


def _answer(deadline) -> tuple[dict[str, Any], int, dict]:
    view = trajectory_view(db.session, current_actor(), deadline.trajectory)
    return view, 200, etag_headers(view["version"])


@bp.route(f"{PATH}/met", methods=["POST"], endpoint="meet_deadline")
@if_match_required
@bp.arguments(DeadlineNoteSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def meet_deadline(data: dict[str, Any], trajectory_id: int, deadline_id: int) -> Any:
    """Mark a deadline met by hand

    Only `school_notice_due` (the school was told) and `plan_review_due` (the plan was
    reviewed); the other kinds are met by the workflow and answer 422. An optional `note`
    (no direct identifiers). Meeting a plan review opens the next one, six weeks from now.
    """
    deadline = deadline_service.meet_deadline(
        db.session,
        current_actor(),
        deadline_id,
        data.get("note"),
        expected_version=expected_version(),
        trajectory_id=trajectory_id,
    )
    return _answer(deadline)


@bp.route(f"{PATH}/acknowledged", methods=["POST"], endpoint="acknowledge_deadline")
@if_match_required
@bp.arguments(DeadlineNoteSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def acknowledge_deadline(data: dict[str, Any], trajectory_id: int, deadline_id: int) -> Any:
    """Acknowledge a deadline that has fallen due

    Its reminders and escalations stop. A `note` saying why is required (422 without, and 422
    for a deadline not due yet). A plan review acknowledged opens the next one.
    """
    deadline = deadline_service.acknowledge_deadline(
        db.session,
        current_actor(),
        deadline_id,
        data.get("note"),
        expected_version=expected_version(),
        trajectory_id=trajectory_id,
    )
    return _answer(deadline)
