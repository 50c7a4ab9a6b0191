"""marshmallow schemas at the API's edge: what a request may carry and what a response holds.

Input is strict, because JSON has types: a number sent as a string, a boolean sent as 1, an
unknown field or an unknown enum value is refused with a message naming what is allowed,
before any service runs. The OpenAPI document is generated from these same schemas.
"""

from __future__ import annotations

import numbers
from enum import Enum
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from mda.services.text import text_problem
from mda.vocabulary import (
    REPORT_INDICATORS,
    BlockStatus,
    ChildrenBucket,
    ClosureReason,
    DeadlineKind,
    DeadlineStatus,
    MdaStatus,
    Phase,
    ReferralSource,
    TrajectoryState,
    ViolenceLevel,
    ViolenceType,
)
from mda.workflows import trajectory as workflow

# The triggers of DESIGN.md section 3; a trigger outside this list is refused at the edge.
TRIGGERS = workflow.TRIGGER_NAMES
CHECKLIST_KEYS = tuple(workflow.CHECKLIST_STATE)
PERIOD_RE = r"^[0-9]{4}-H[12]$"
REGION_CODE_RE = r"^[A-Z]{2,8}$"
CHECKLIST_KEY_RE = r"^[a-z][a-z0-9_]{0,47}$"


class StrictBoolean(fields.Boolean):
    """Only JSON ``true`` and ``false``; not 1, "yes" or "true"."""

    default_error_messages = {"invalid": "Not a boolean: use true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Ids are 32-bit integer columns: a larger one names nothing (and a database may refuse it).
ID_MAX = 2**31 - 1


class StrictInteger(fields.Integer):
    """Only a JSON whole number within 64 bits; not "3", 3.5, true or 2**63.

    A number no database column can hold is refused here (422) before a driver would raise
    ``OverflowError`` on it; fields narrow the range further with ``validate.Range``.
    """

    default_error_messages = {
        "invalid": "Not a whole number.",
        "too_large": "Out of range: a whole number from -2**63 to 2**63 - 1.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        if not INT64_MIN <= int(value) <= INT64_MAX:
            raise self.make_error("too_large")
        return super()._deserialize(value, attr, data, **kwargs)


def id_range() -> validate.Range:
    """An id: from 1 to the largest a 32-bit column holds (documented in OpenAPI)."""
    return validate.Range(min=1, max=ID_MAX)


def enum_field(enum_cls: type, **kwargs: Any) -> fields.Enum:
    """An enum by value; the error names every allowed value."""
    return fields.Enum(enum_cls, by_value=True, **kwargs)


def enum_out(enum_cls: type[Enum], **kwargs: Any) -> fields.String:
    """An enum value in a response (documented with its values; the services give strings)."""
    return fields.String(validate=validate.OneOf([m.value for m in enum_cls]), **kwargs)


def text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class StrictSchema(ma.Schema):
    """Unknown fields are an error, not silently dropped; so is text no database can store."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def refuse_unstorable_text(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict):
            errors = {}
            for key, value in data.items():
                values = value if isinstance(value, list) else [value]
                for item in values:
                    problem = isinstance(item, str) and text_problem(item)
                    if problem:
                        errors[str(key)] = [f"The text {problem}."]
                        break
            if errors:
                raise ma.ValidationError(errors)
        return data


# --- problems ---------------------------------------------------------------------------


class ProblemSchema(ma.Schema):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type = fields.String(metadata={"description": "A URI naming the kind of problem."})
    title = fields.String(required=True, metadata={"description": "Short summary."})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status."})
    detail = fields.String(required=True, metadata={"description": "What went wrong."})
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Per field: what is wrong with it (validation errors)."},
    )
    unmet = fields.List(
        fields.String(),
        metadata={"description": "A refused trigger: every condition that does not hold."},
    )
    allowed = fields.List(fields.String(), metadata={"description": "Allowed methods (405)."})
    current_version = fields.Integer(
        metadata={"description": "A conflict (409): the version the record is at now."}
    )


# --- tokens -----------------------------------------------------------------------------


class TokenRequestSchema(StrictSchema):
    username = text(64, required=True)
    password = text(1024, required=True)
    second_factor = fields.String(
        validate=validate.Regexp(r"^[0-9]{6,8}$", error="A code of 6 to 8 digits."),
        metadata={"description": "The current code of the authenticator app, when enabled."},
    )


class TokenSchema(ma.Schema):
    id = fields.Integer(required=True)
    token = fields.String(required=True, metadata={"description": "Shown once; keep it secret."})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_at = fields.DateTime(required=True)


class TokenInfoSchema(ma.Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    regions = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)


# --- regions ----------------------------------------------------------------------------


class RegionSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    mda_status = enum_out(MdaStatus, required=True)


class RegionPathSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(REGION_CODE_RE))


class BuildingBlockSchema(StrictSchema):
    block = StrictInteger(required=True, validate=validate.Range(min=1, max=5))
    status = enum_field(BlockStatus, required=True)


class BlockOutSchema(ma.Schema):
    block = fields.Integer(required=True)
    status = enum_out(BlockStatus, required=True)


class ImplementationSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    status = enum_out(MdaStatus, required=True)
    status_label = fields.String(required=True)
    status_changed_at = fields.DateTime(required=True, allow_none=True)
    version = fields.Integer(required=True, metadata={"description": "Also the ETag."})
    blocks = fields.List(fields.Nested(BlockOutSchema), required=True)


class ImplementationUpdateSchema(StrictSchema):
    status = enum_field(MdaStatus)
    blocks = fields.List(fields.Nested(BuildingBlockSchema), validate=validate.Length(max=5))
    reason = text(500, metadata={"description": "Needed when the status moves down."})


class ReportUpdateSchema(StrictSchema):
    mda_status = enum_field(
        MdaStatus,
        metadata={
            "description": "Optional, and best left out: the report takes the region's status "
            "at the end of the period from its status history; a different value answers 422."
        },
    )
    vision_in_regional_plan = StrictBoolean()
    professionals_trained = StrictBoolean()
    working_by_vision = StrictBoolean()
    vision_in_procurement = StrictBoolean()
    local_teams_quality_framework_steps = StrictBoolean()


class ReportPathSchema(StrictSchema):
    code = fields.String(required=True)
    period = fields.String(
        required=True, validate=validate.Regexp(PERIOD_RE, error="A half year like 2020-H2.")
    )


class ReportSchema(ma.Schema):
    region = fields.String(required=True)
    period = fields.String(required=True)
    mda_status = enum_out(MdaStatus, required=True)
    vision_in_regional_plan = fields.Boolean(required=True)
    professionals_trained = fields.Boolean(required=True)
    working_by_vision = fields.Boolean(required=True)
    vision_in_procurement = fields.Boolean(required=True)
    local_teams_quality_framework_steps = fields.Boolean(required=True)
    version = fields.Integer(required=True, metadata={"description": "Also the ETag."})


# --- programme --------------------------------------------------------------------------


class PeriodQuerySchema(ma.Schema):
    period = fields.String(
        required=True,
        validate=validate.Regexp(PERIOD_RE, error="A half year like 2020-H2."),
        metadata={
            "example": "2020-H2",
            "description": "A half year from 2015-H1 (the GHNT programme's start) up to the "
            "current half year; one outside that range answers 422.",
        },
    )


class OverviewLineSchema(ma.Schema):
    count = fields.Integer(required=True, metadata={"description": "Regions this period."})
    out_of = fields.Integer(required=True, metadata={"description": "Regions in all."})
    previous = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Regions the period before (null: no reports then)."},
    )


StatusCountsSchema = ma.Schema.from_dict(
    {status.value: fields.Nested(OverviewLineSchema, required=True) for status in MdaStatus},
    name="StatusCounts",
)
IndicatorCountsSchema = ma.Schema.from_dict(
    {name: fields.Nested(OverviewLineSchema, required=True) for name in REPORT_INDICATORS},
    name="IndicatorCounts",
)


class OverviewSchema(ma.Schema):
    period = fields.String(required=True)
    previous_period = fields.String(
        required=True, metadata={"description": "The half year before `period`, like 2020-H1."}
    )
    regions = fields.Integer(required=True)
    reported = fields.Integer(required=True)
    previous_reported = fields.Integer(required=True)
    statuses = fields.Nested(StatusCountsSchema, required=True)
    indicators = fields.Nested(IndicatorCountsSchema, required=True)


# --- trajectories -----------------------------------------------------------------------


class TrajectoryCreateSchema(StrictSchema):
    region = fields.String(required=True, validate=validate.Regexp(REGION_CODE_RE))
    reference = text(
        200,
        required=True,
        metadata={
            "description": "The referrer's own file number; never stored, only its pseudonym."
        },
    )
    referral_source = enum_field(ReferralSource, required=True)
    violence_types = fields.List(
        enum_field(ViolenceType),
        required=True,
        validate=validate.Length(min=1, max=len(ViolenceType)),
    )
    children = enum_field(ChildrenBucket, required=True)
    coordinator_id = StrictInteger(
        validate=id_range(),
        metadata={"description": "The coordinator to assign; by default the caller."},
    )
    referred_on = fields.Date(
        metadata={
            "description": "The day the referral reached the team (ISO date, the Dutch "
            "date); by default today. At most 365 days back, never in the future. Deadlines "
            "that count from the referral count from it."
        },
    )


class LookupSchema(StrictSchema):
    reference = text(200, required=True)


class TrajectoryListQuerySchema(ma.Schema):
    state = enum_field(TrajectoryState)
    phase = enum_field(Phase)
    overdue = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ChecklistPathSchema(StrictSchema):
    trajectory_id = fields.Integer(required=True, validate=id_range())
    item = fields.String(
        required=True,
        validate=validate.OneOf(
            CHECKLIST_KEYS, error="Unknown checklist item; use one of: {choices}."
        ),
    )


class ChecklistUpdateSchema(StrictSchema):
    done = StrictBoolean(
        required=True,
        allow_none=True,
        metadata={"description": "true or false; null makes a criterion unassessed again."},
    )
    details = fields.String(
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"description": "For items that take them (e.g. the disciplines committed)."},
    )


class TransitionSchema(StrictSchema):
    trigger = fields.String(
        required=True,
        validate=validate.OneOf(TRIGGERS, error="Unknown trigger; use one of: {choices}."),
        metadata={"enum": list(TRIGGERS)},
    )
    reason = text(2000)
    closure_reason = enum_field(ClosureReason)
    incident_date = fields.Date()
    referred_back_to = text(120)


class MeasurementCreateSchema(StrictSchema):
    number = StrictInteger(required=True, validate=validate.Range(min=1, max=99))
    measured_on = fields.Date(required=True)
    violence_level = enum_field(ViolenceLevel, required=True)
    safety_score = StrictInteger(allow_none=True, validate=validate.Range(min=0, max=10))


class CoordinatorUpdateSchema(StrictSchema):
    coordinator_id = StrictInteger(
        required=True,
        allow_none=True,
        validate=id_range(),
        metadata={"description": "A coordinator of the trajectory's region; null: none."},
    )


class SuspendSchema(StrictSchema):
    reason = text(2000, required=True)


class DeadlineNoteSchema(StrictSchema):
    note = text(2000, load_default=None, allow_none=True)


class TransferSchema(StrictSchema):
    region = fields.String(required=True, validate=validate.Regexp(REGION_CODE_RE))


# --- trajectory output --------------------------------------------------------------------


class CoordinatorSchema(ma.Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class ChecklistEntrySchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    done = fields.Boolean(required=True, allow_none=True)
    details = fields.String(required=True, allow_none=True)


class TriggerStatusSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.OneOf(TRIGGERS))
    allowed = fields.Boolean(required=True)
    unmet = fields.List(fields.String(), required=True)


class DeadlineSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = enum_out(DeadlineKind, required=True)
    status = enum_out(DeadlineStatus, required=True)
    opened_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    next_action_at = fields.DateTime(required=True, allow_none=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    # How the due moment was computed (see docs/workflows.md, Deadlines); null on old rows.
    computation = fields.Dict(required=True, allow_none=True)


class MeasurementSchema(ma.Schema):
    number = fields.Integer(required=True)
    measured_on = fields.Date(required=True)
    violence_level = enum_out(ViolenceLevel, required=True)
    safety_score = fields.Integer(required=True, allow_none=True)


class EventSchema(ma.Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    kind = fields.String(required=True)
    trigger = fields.String(required=True, allow_none=True)
    from_state = fields.String(required=True, allow_none=True)
    to_state = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class _TrajectoryHeadSchema(ma.Schema):
    """What every listing of trajectories shows of each (not a schema of its own in the API)."""

    id = fields.Integer(required=True)
    pseudonym = fields.String(required=True)
    region = fields.String(required=True)
    state = enum_out(TrajectoryState, required=True)
    phase = enum_out(Phase, required=True)
    version = fields.Integer(required=True)


class TrajectorySummarySchema(_TrajectoryHeadSchema):
    coordinator = fields.Nested(CoordinatorSchema, required=True, allow_none=True)
    suspended = fields.Boolean(required=True)
    referred_on = fields.Date(required=True)
    created_at = fields.DateTime(required=True)
    state_entered_at = fields.DateTime(required=True)


class TrajectorySchema(TrajectorySummarySchema):
    state_label = fields.String(required=True)
    suspended_at = fields.DateTime(required=True, allow_none=True)
    suspension_reason = fields.String(required=True, allow_none=True)
    referral_source = enum_out(ReferralSource, required=True)
    violence_types = fields.List(enum_out(ViolenceType), required=True)
    children = enum_out(ChildrenBucket, required=True)
    closure_reason = enum_out(ClosureReason, required=True, allow_none=True)
    referred_back_to = fields.String(required=True, allow_none=True)
    relapses = fields.Integer(required=True)
    reentries = fields.Integer(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)
    checklist = fields.List(fields.Nested(ChecklistEntrySchema), required=True)
    triggers = fields.List(fields.Nested(TriggerStatusSchema), required=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema), required=True)
    measurements = fields.List(fields.Nested(MeasurementSchema), required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


class TrajectoryPageSchema(ma.Schema):
    items = fields.List(fields.Nested(TrajectorySummarySchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


# --- the worklist -------------------------------------------------------------------------


class WorklistQuerySchema(ma.Schema):
    state = enum_field(TrajectoryState)
    phase = enum_field(Phase)
    region = fields.String(
        validate=validate.Length(min=1, max=8),
        metadata={"description": "One of your regions (default: all of them).", "example": "UTR"},
    )
    mine = fields.Boolean(metadata={"description": "Only trajectories you coordinate."})
    overdue = fields.Boolean(metadata={"description": "Only those with a deadline past due."})
    pseudonym = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A pseudonym code or its beginning.", "example": "K7QM"},
    )
    cursor = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The `next_cursor` of the previous page."},
    )
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class WorklistItemSchema(_TrajectoryHeadSchema):
    coordinator = fields.String(required=True, allow_none=True)
    next_deadline_kind = enum_out(DeadlineKind, required=True, allow_none=True)
    next_due_at = fields.DateTime(required=True, allow_none=True)
    overdue = fields.Boolean(required=True)


class WorklistPageSchema(ma.Schema):
    items = fields.List(fields.Nested(WorklistItemSchema), required=True)
    total = fields.Integer(required=True)
    next_cursor = fields.String(required=True, allow_none=True)


# --- statistics releases ----------------------------------------------------------------

RELEASE_PERIOD_RE = r"^[0-9]{4}-(0[1-9]|1[0-2]|H[12])$"


class ReleaseListQuerySchema(ma.Schema):
    period = fields.String(
        validate=validate.Regexp(RELEASE_PERIOD_RE, error="A month like 2026-10 or 2026-H2."),
        metadata={"example": "2026-10", "description": "Only the versions of this period."},
    )


class ReleaseSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    period = fields.String(required=True, metadata={"example": "2026-10"})
    period_type = fields.String(required=True, metadata={"example": "month"})
    version = fields.Integer(
        required=True, metadata={"description": "A recomputation is a new version."}
    )
    created_at = fields.DateTime(required=True)
    checksum = fields.String(
        required=True, metadata={"description": "SHA-256 of the published content."}
    )


class ReleaseCellSchema(ma.Schema):
    coords = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"example": {"region": "UTR", "state": "risk_care"}},
    )
    value = fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "type": "number",
            "nullable": True,
            "description": "A count rounded to the base, days, or a percentage; null where "
            "suppressed.",
        },
    )
    status = fields.String(metadata={"description": "`suppressed` where the value is null."})


class ReleaseTableSchema(ma.Schema):
    name = fields.String(required=True, metadata={"example": "active_by_state"})
    title = fields.String(required=True)
    kind = fields.String(
        required=True, metadata={"description": "count, days (lead times) or percentage"}
    )
    dimensions = fields.List(
        fields.String(), required=True, metadata={"description": "`region` first."}
    )
    cells = fields.List(fields.Nested(ReleaseCellSchema), required=True)


class ReleaseSettingsSchema(ma.Schema):
    threshold = fields.Integer(required=True)
    rounding_base = fields.Integer(required=True)


class ReleaseSchema(ReleaseSummarySchema):
    settings = fields.Nested(ReleaseSettingsSchema, required=True)
    tables = fields.List(fields.Nested(ReleaseTableSchema), required=True)
