"""Regions: the list, each region's MDA++ implementation status and its half-yearly reports."""

from __future__ import annotations

from typing import Any

from mda.extensions import db
from mda.models import HalfYearReport
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
from mda.web.api.security import (
    IF_MATCH,  # noqa: F401  (re-exported: resources imported it from here)
    current_actor,
    etag_headers,
    expected_version,
    if_match_required,
    if_match_version,
)

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
@if_match_required
@bp.arguments(ImplementationUpdateSchema)
@bp.response(200, ImplementationSchema)
@bp.doc(tags=["regions"])
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


REPORT_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "To change a report: the version you read (the ETag of its GET, like "
    '"2"); a stale one answers 409. Leave it out to create the report: when it exists '
    "already that answers 409 too.",
    "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,9}"?$'},
}


def _report_out(report: HalfYearReport) -> dict[str, Any]:
    return {
        "region": report.region_code,
        "period": report.period,
        "mda_status": report.mda_status.value,
        **{name: getattr(report, name) for name in REPORT_INDICATORS},
        "version": report.version,
    }


@bp.route(
    "/regions/<string:code>/reports/<string:period>",
    methods=["GET"],
    endpoint="get_report",
    parameters=[REGION_CODE, PERIOD],
)
@bp.response(200, ReportSchema)
@bp.doc(tags=["regions"])
def get_report(code: str, period: str) -> Any:
    """A region's half-yearly report

    With its version (also the ETag, for If-Match when changing it); 404 when the report
    has not been written. Managers of the region, admins and the programme team.
    """
    report = region_service.get_report(db.session, current_actor(), code, period)
    return _report_out(report), 200, etag_headers(report.version)


@bp.route(
    "/regions/<string:code>/reports/<string:period>",
    methods=["PUT"],
    endpoint="upsert_report",
    parameters=[REGION_CODE, PERIOD],
)
@bp.arguments(ReportUpdateSchema)
@bp.response(200, ReportSchema, description="Changed (If-Match was sent).")
@bp.alt_response(201, schema=ReportSchema, description="Created (no If-Match).", success=True)
@bp.alt_response(409, response="CONFLICT")
@bp.doc(tags=["regions"], parameters=[REPORT_IF_MATCH])
def upsert_report(data: dict[str, Any], code: str, period: str) -> Any:
    """Create or change a region's half-yearly report

    Without If-Match the report is created (201, version 1), or 409 when it exists already;
    with If-Match (the version you read) it is changed (200), or 409 when the version is
    stale. `mda_status` is the region's status at the end of the period, taken from its
    status history (PUT .../implementation changes it, through the status machine); a
    `mda_status` sent that differs from it answers 422. Indicators left out keep their
    value (false on a new report). Managers of the region and admins.
    """
    indicators = {name: data[name] for name in REPORT_INDICATORS if name in data}
    status = data["mda_status"].value if "mda_status" in data else None
    version = if_match_version(required=False)
    report = region_service.upsert_report(
        db.session,
        current_actor(),
        code,
        period,
        mda_status=status,
        expected_version=version,
        **indicators,
    )
    return _report_out(report), 201 if version is None else 200, etag_headers(report.version)
