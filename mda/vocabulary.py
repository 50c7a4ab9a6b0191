"""The public vocabulary of DESIGN.md sections 2-7: roles, states, triggers' values, enums.

Plain Python, no Flask or SQLAlchemy, so workflows, models, services and the API share one
spelling. These values are a contract with outside tools: add to them, never rename.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    MANAGER = "manager"
    PROGRAMME = "programme"
    ADMIN = "admin"
    AUDITOR = "auditor"


class TrajectoryState(StrEnum):
    REFERRED = "referred"
    SCREENING = "screening"
    TEAM_FORMING = "team_forming"
    IMMEDIATE_SAFETY = "immediate_safety"
    RISK_CARE = "risk_care"
    RECOVERY = "recovery"
    AFTERCARE = "aftercare"
    CLOSED = "closed"


class Phase(StrEnum):
    INTAKE = "intake"
    SAFETY = "safety"
    RISK = "risk"
    RECOVERY = "recovery"
    AFTERCARE = "aftercare"
    CLOSED = "closed"


STATE_PHASE: dict[TrajectoryState, Phase] = {
    TrajectoryState.REFERRED: Phase.INTAKE,
    TrajectoryState.SCREENING: Phase.INTAKE,
    TrajectoryState.TEAM_FORMING: Phase.INTAKE,
    TrajectoryState.IMMEDIATE_SAFETY: Phase.SAFETY,
    TrajectoryState.RISK_CARE: Phase.RISK,
    TrajectoryState.RECOVERY: Phase.RECOVERY,
    TrajectoryState.AFTERCARE: Phase.AFTERCARE,
    TrajectoryState.CLOSED: Phase.CLOSED,
}


class ClosureReason(StrEnum):
    GOALS_MET = "goals_met"
    STEPPED_DOWN = "stepped_down"
    NOT_ELIGIBLE = "not_eligible"
    MOVED_OUT_OF_REGION = "moved_out_of_region"
    HOUSEHOLD_WITHDREW = "household_withdrew"
    OTHER = "other"


class ReferralSource(StrEnum):
    VEILIG_THUIS = "veilig_thuis"
    LOCAL_TEAM = "local_team"
    POLICE = "police"
    PUBLIC_PROSECUTOR = "public_prosecutor"
    CHILD_PROTECTION_BOARD = "child_protection_board"
    CERTIFIED_INSTITUTION = "certified_institution"
    HEALTHCARE = "healthcare"
    OTHER = "other"


class ViolenceType(StrEnum):
    PARTNER_VIOLENCE = "partner_violence"
    CHILD_ABUSE = "child_abuse"
    ELDER_ABUSE = "elder_abuse"
    SEXUAL_VIOLENCE = "sexual_violence"
    HONOUR_RELATED_VIOLENCE = "honour_related_violence"
    HUMAN_TRAFFICKING = "human_trafficking"


class ChildrenBucket(StrEnum):
    NONE = "0"
    ONE = "1"
    TWO = "2"
    THREE_OR_MORE = "3+"


class ViolenceLevel(StrEnum):
    NONE = "none"
    MODERATE = "moderate"
    SEVERE = "severe"


class DeadlineKind(StrEnum):
    SCREENING_DUE = "screening_due"
    TEAM_DUE = "team_due"
    SAFETY_PLAN_DUE = "safety_plan_due"
    MEASUREMENT_1_DUE = "measurement_1_due"
    MEASUREMENT_2_DUE = "measurement_2_due"
    MEASUREMENT_3_DUE = "measurement_3_due"
    PLAN_REVIEW_DUE = "plan_review_due"
    SCHOOL_NOTICE_DUE = "school_notice_due"
    PHASE_OVERRUN = "phase_overrun"


class DeadlineStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"
    ACKNOWLEDGED = "acknowledged"


class DueUnit(StrEnum):
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class NotificationKind(StrEnum):
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    DIGEST = "digest"


class NotificationStatus(StrEnum):
    """A delivery's status (one notification, one channel)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # Not sent: the deadline was met or acknowledged, or the person left, before it went out.
    CANCELLED = "cancelled"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"


class StepStatus(StrEnum):
    """A rung of a deadline's reminder ladder: delivered, or passed over (found behind)."""

    DELIVERED = "delivered"
    SKIPPED = "skipped"


class MdaStatus(StrEnum):
    NONE = "none"
    IN_DEVELOPMENT = "in_development"
    PILOT = "pilot"
    STRUCTURAL = "structural"


class BlockStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class AccessAction(StrEnum):
    READ = "read"
    SEARCH = "search"
    CREATE = "create"
    CHANGE = "change"
    EXPORT = "export"
    DENIED = "denied"


class PeriodType(StrEnum):
    MONTH = "month"
    HALF_YEAR = "half_year"


REPORT_INDICATORS = (
    "vision_in_regional_plan",
    "professionals_trained",
    "working_by_vision",
    "vision_in_procurement",
    "local_teams_quality_framework_steps",
)
