"""Trajectories: register, look up, list, read, and change through checklist, triggers and
measurements; every change takes ``If-Match: <version>`` and answers the new version."""

from __future__ import annotations

import math
from typing import Any

from flask import url_for
from marshmallow import RAISE

from mda.extensions import db
from mda.models import Trajectory
from mda.services import trajectories as trajectory_service
from mda.services.errors import NotFound
from mda.web.api.blueprint import bp
from mda.web.api.presenters import trajectory_summary, trajectory_view
from mda.web.api.schemas import (
    CHECKLIST_KEYS,
    ChecklistUpdateSchema,
    CoordinatorUpdateSchema,
    LookupSchema,
    MeasurementCreateSchema,
    SuspendSchema,
    TrajectoryCreateSchema,
    TrajectoryListQuerySchema,
    TrajectoryPageSchema,
    TrajectorySchema,
    TrajectorySummarySchema,
    TransferSchema,
    TransitionSchema,
)
from mda.web.api.security import (
    current_actor,
    etag_headers,
    expected_version,
    if_match_required,
)

TAGS = ["trajectories"]
CHECKLIST_ITEM = {
    "in": "path",
    "name": "item",
    "required": True,
    "description": "A checklist item (or screening criterion) of the trajectory's state.",
    "schema": {"type": "string", "enum": list(CHECKLIST_KEYS)},
}


def _view(trajectory: Trajectory, status: int = 200) -> tuple[dict[str, Any], int, dict]:
    """The full trajectory, with its version as ETag."""
    view = trajectory_view(db.session, current_actor(), trajectory)
    return view, status, etag_headers(view["version"])


@bp.route("/trajectories", methods=["POST"], endpoint="register_trajectory")
@bp.arguments(TrajectoryCreateSchema)
@bp.response(201, TrajectorySchema, description="Registered: a new trajectory.")
@bp.alt_response(
    200, schema=TrajectorySchema, description="The reference was known already in your regions."
)
@bp.doc(tags=TAGS)
def register_trajectory(data: dict[str, Any]) -> Any:
    """Register a referred household

    The `reference` (the referrer's own file number) is turned into a pseudonym and then
    forgotten. A reference already registered in one of the caller's regions answers 200 with
    that trajectory; one known only in another region is registered anew here (region walls:
    nothing tells the caller that another region knows the household). The
    calling coordinator is assigned unless `coordinator_id` names another coordinator of
    the region. Coordinators of the region only.
    """
    actor = current_actor()
    trajectory, created = trajectory_service.register_referral(
        db.session,
        actor,
        region=data["region"],
        reference=data["reference"],
        referral_source=data["referral_source"].value,
        violence_types=[v.value for v in data["violence_types"]],
        children=data["children"].value,
        coordinator_id=data.get("coordinator_id", actor.user_id),
        referred_on=data.get("referred_on"),
    )
    body, status, headers = _view(trajectory, 201 if created else 200)
    headers["Location"] = url_for("api.get_trajectory", trajectory_id=trajectory.id)
    return body, status, headers


@bp.route("/trajectories/lookup", methods=["POST"], endpoint="lookup_trajectory")
@bp.arguments(LookupSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def lookup_trajectory(data: dict[str, Any]) -> Any:
    """Find a trajectory by its source reference

    The reference is pseudonymised the same way and looked up (also under older keys). It
    is sent in the body, never in the URL, so it does not end up in server logs. 404 when
    unknown. Coordinators of the trajectory's region only; the search is logged.
    """
    return _view(
        trajectory_service.find_by_reference(db.session, current_actor(), data["reference"])
    )


@bp.route("/trajectories", methods=["GET"], endpoint="list_trajectories")
@bp.arguments(TrajectoryListQuerySchema, location="query", unknown=RAISE)
@bp.response(200, TrajectoryPageSchema)
@bp.doc(tags=TAGS)
def list_trajectories(query: dict[str, Any]) -> dict[str, Any]:
    """List the trajectories of your regions

    Filters: `state`, `phase`, `overdue` (has an open deadline past due). Paginated with
    `page` and `per_page` (at most 200). Coordinators only; the search is logged.
    """
    page, per_page = query["page"], query["per_page"]
    rows, total = trajectory_service.list_trajectories(
        db.session,
        current_actor(),
        state=query["state"].value if "state" in query else None,
        phase=query["phase"].value if "phase" in query else None,
        overdue=query.get("overdue"),
        page=page,
        per_page=per_page,
    )
    return {
        "items": [trajectory_summary(row) for row in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(total / per_page),
    }


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>", methods=["GET"], endpoint="get_trajectory"
)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def get_trajectory(trajectory_id: int) -> Any:
    """One trajectory

    State, phase, version (also the ETag), the checklist of the current state, the
    triggers with whether each is allowed and what is unmet, deadlines, measurements and
    events. Coordinators of its region only; the read is logged.
    """
    return _view(trajectory_service.get_trajectory(db.session, current_actor(), trajectory_id))


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/checklist/<string:item>",
    methods=["PUT"],
    endpoint="set_checklist_item",
    parameters=[CHECKLIST_ITEM],
)
@if_match_required
@bp.arguments(ChecklistUpdateSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def set_checklist_item(data: dict[str, Any], trajectory_id: int, item: str) -> Any:
    """Tick a checklist item or assess a criterion

    `done` true or false (a screening criterion met or not met), or null to clear it;
    `details` where an item takes them. Only items of the trajectory's current state.
    """
    if item not in CHECKLIST_KEYS:
        raise NotFound(
            f"There is no checklist item {item!r}; items are {', '.join(CHECKLIST_KEYS)}."
        )
    trajectory = trajectory_service.set_checklist_item(
        db.session,
        current_actor(),
        trajectory_id,
        item,
        data["done"],
        data.get("details"),
        expected_version=expected_version(),
    )
    return _view(trajectory)


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/transitions",
    methods=["POST"],
    endpoint="fire_trigger",
)
@if_match_required
@bp.arguments(TransitionSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def fire_trigger(data: dict[str, Any], trajectory_id: int) -> Any:
    """Fire a workflow trigger

    `trigger` and, where the trigger needs them, `reason`, `closure_reason`,
    `incident_date` (relapse) and `referred_back_to` (decline). A trigger whose conditions
    do not hold answers 422 with every unmet condition in `unmet`; nothing changes. An
    `incident_date` lies from the day the trajectory was registered up to today (the Dutch
    date); another answers 422 naming the allowed range.
    """
    trajectory = trajectory_service.fire_trigger(
        db.session,
        current_actor(),
        trajectory_id,
        data["trigger"],
        expected_version=expected_version(),
        reason=data.get("reason"),
        closure_reason=data["closure_reason"].value if "closure_reason" in data else None,
        incident_date=data.get("incident_date"),
        referred_back_to=data.get("referred_back_to"),
    )
    return _view(trajectory)


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/measurements",
    methods=["POST"],
    endpoint="record_measurement",
)
@if_match_required
@bp.arguments(MeasurementCreateSchema)
@bp.response(201, TrajectorySchema)
@bp.doc(tags=TAGS)
def record_measurement(data: dict[str, Any], trajectory_id: int) -> Any:
    """Record a safety measurement

    `number` (1, 2, 3, ... in order), `measured_on`, `violence_level` (none, moderate,
    severe) and optionally `safety_score` (0-10). From immediate_safety on. `measured_on`
    lies from the day the trajectory was registered (or the previous measurement's date) up
    to today (the Dutch date); another answers 422 naming the allowed range.
    """
    trajectory = trajectory_service.record_measurement(
        db.session,
        current_actor(),
        trajectory_id,
        number=data["number"],
        measured_on=data["measured_on"],
        violence_level=data["violence_level"].value,
        safety_score=data.get("safety_score"),
        expected_version=expected_version(),
    )
    return _view(trajectory, 201)


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/coordinator",
    methods=["PUT"],
    endpoint="assign_coordinator",
)
@if_match_required
@bp.arguments(CoordinatorUpdateSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def assign_coordinator(data: dict[str, Any], trajectory_id: int) -> Any:
    """Assign the coordinator

    A coordinator of the trajectory's region, or null for none.
    """
    trajectory = trajectory_service.assign_coordinator(
        db.session,
        current_actor(),
        trajectory_id,
        data["coordinator_id"],
        expected_version=expected_version(),
    )
    return _view(trajectory)


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/suspension",
    methods=["PUT"],
    endpoint="suspend_trajectory",
)
@if_match_required
@bp.arguments(SuspendSchema)
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def suspend_trajectory(data: dict[str, Any], trajectory_id: int) -> Any:
    """Suspend (opschorten) with a reason

    No reminders while suspended; on resuming, open deadlines move by the suspended time.
    """
    trajectory = trajectory_service.suspend(
        db.session,
        current_actor(),
        trajectory_id,
        data["reason"],
        expected_version=expected_version(),
    )
    return _view(trajectory)


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/suspension",
    methods=["DELETE"],
    endpoint="resume_trajectory",
)
@if_match_required
@bp.response(200, TrajectorySchema)
@bp.doc(tags=TAGS)
def resume_trajectory(trajectory_id: int) -> Any:
    """Resume a suspended trajectory"""
    trajectory = trajectory_service.resume(
        db.session, current_actor(), trajectory_id, expected_version=expected_version()
    )
    return _view(trajectory)


@bp.route(
    "/trajectories/<int(max=2147483647):trajectory_id>/transfer",
    methods=["POST"],
    endpoint="transfer_trajectory",
)
@if_match_required
@bp.arguments(TransferSchema)
@bp.response(200, TrajectorySummarySchema)
@bp.doc(tags=TAGS)
def transfer_trajectory(data: dict[str, Any], trajectory_id: int) -> Any:
    """Hand the trajectory over to another region

    Its deadlines follow it; a coordinator who does not work in the new region is unassigned.
    The answer is the summary only: the caller may have no access in the new region.
    """
    trajectory = trajectory_service.transfer(
        db.session,
        current_actor(),
        trajectory_id,
        data["region"],
        expected_version=expected_version(),
    )
    return trajectory_summary(trajectory), 200, etag_headers(trajectory.version)
