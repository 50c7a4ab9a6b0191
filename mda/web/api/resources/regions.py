"""Regions: the list, each region's MDA++ implementation status and its half-yearly reports."""

from __future__ import annotations

from typing import Any

from mda.extensions import db
from mda.reference import REGIONS
from mda.services import regions as region_service
from mda.services.errors import ValidationError
from mda.vocabulary import REPORT_INDICATORS
from mda.web.api.blueprint import bp
from mda.web.api.schemas import (
    ImplementationSchema,
    ImplementationUpdateSchema,
    RegionSchema,
    ReportSchema,
    ReportUpdateSchema,
)
from mda.web.api.security import current_actor, etag_headers, expected_version

REGION_CODE = {
    "in": "path",
    "name": "code",
    "required": True,
    "description": "The region's short code (GET /api/v1/regions lists them).",
    "schema": {"type": "string", "enum": [code for code, _name in REGIONS]},
}
PERIOD = {
    "in": "path",
    "name": "period",
    "required": True,
    "description": "A half year, like 2020-H2: from 2015-H1 (the GHNT programme's start) up "
    "to the current half year; one outside that range answers 422.",
    "schema": {"type": "string", "pattern": r"^[0-9]{4}-H[12]$"},
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The version you read (its ETag); a stale one answers 409.",
    "schema": {"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,9}"?)$'},
}


@bp.route("/regions", methods=["GET"], endpoint="list_regions")
@bp.response(200, RegionSchema(many=True))
@bp.doc(tags=["regions"])
def list_regions() -> list[Any]:
    """The 28 regions

    Code, name and MDA++ status of every region; for every signed-in role.
    """
    return region_service.list_regions(db.session, current_actor())


def _implementation_out(view: dict[str, Any]) -> dict[str, Any]:
    blocks = [{"block": block, "status": status} for block, status in view["blocks"].items()]
    return {**view, "blocks": sorted(blocks, key=lambda b: b["block"])}


@bp.route(
    "/regions/<string:code>/implementation",
    methods=["GET"],
    endpoint="get_implementation",
    parameters=[REGION_CODE],
)
@bp.response(200, ImplementationSchema)
@bp.doc(tags=["regions"])
def get_implementation(code: str) -> Any:
    """A region's MDA++ implementation

    Status (none, in_development, pilot, structural), building blocks 1-5 and the version
    (also the ETag). Managers of the region, admins and the programme team.
    """
    view = region_service.get_implementation(db.session, current_actor(), code)
    return _implementation_out(view), 200, etag_headers(view["version"])


@bp.route(
    "/regions/<string:code>/implementation",
    methods=["PUT"],
    endpoint="update_implementation",
    parameters=[REGION_CODE],
)
@bp.arguments(ImplementationUpdateSchema)
@bp.response(200, ImplementationSchema)
@bp.doc(tags=["regions"], parameters=[IF_MATCH])
def update_implementation(data: dict[str, Any], code: str) -> Any:
    """Change a region's status and/or building blocks

    Moving the status up needs the building blocks behind it (pilot: blocks 3 and 4 under
    way; structural: all five done); moving down needs a `reason`. A refusal (422) lists
    the unmet conditions. Managers of the region and admins.
    """
    blocks = None
    if "blocks" in data:
        numbers = [entry["block"] for entry in data["blocks"]]
        if len(numbers) != len(set(numbers)):
            raise ValidationError("Each building block at most once.", {"blocks": "repeated"})
        blocks = {entry["block"]: entry["status"].value for entry in data["blocks"]}
    view = region_service.update_implementation(
        db.session,
        current_actor(),
        code,
        status=data["status"].value if "status" in data else None,
        blocks=blocks,
        reason=data.get("reason"),
        expected_version=expected_version(),
    )
    return _implementation_out(view), 200, etag_headers(view["version"])


@bp.route(
    "/regions/<string:code>/reports/<string:period>",
    methods=["PUT"],
    endpoint="upsert_report",
    parameters=[REGION_CODE, PERIOD],
)
@bp.arguments(ReportUpdateSchema)
@bp.response(200, ReportSchema)
@bp.doc(tags=["regions"])
def upsert_report(data: dict[str, Any], code: str, period: str) -> dict[str, Any]:
    """Create or update a region's half-yearly report

    `mda_status` (by default the region's status now) and the yes/no indicators; fields
    left out keep their value. Managers of the region and admins.
    """
    indicators = {name: data[name] for name in REPORT_INDICATORS if name in data}
    status = data["mda_status"].value if "mda_status" in data else None
    report = region_service.upsert_report(
        db.session, current_actor(), code, period, mda_status=status, **indicators
    )
    return {
        "region": report.region_code,
        "period": report.period,
        "mda_status": report.mda_status.value,
        **{name: getattr(report, name) for name in REPORT_INDICATORS},
    }
