"""SQLAlchemy 2 typed models, one module per aggregate. Import from here."""

from mda.models.audit import AccessLogEntry
from mda.models.base import Base, utcnow
from mda.models.deadline import CalendarDay, Deadline, DeadlineRule
from mda.models.notification import (
    Delivery,
    LadderStep,
    Notification,
    NotificationSettings,
    SweepRun,
)
from mda.models.region import (
    HalfYearReport,
    HalfYearReportVersion,
    Region,
    RegionBuildingBlock,
    RegionStatusChange,
)
from mda.models.stats import StatsRelease, StatsReleaseFile, StatsSuppression
from mda.models.system import WorkerHeartbeat
from mda.models.trajectory import ChecklistItem, SafetyMeasurement, Trajectory, TrajectoryEvent
from mda.models.user import ApiToken, LoginAttempt, Organisation, User, user_regions

__all__ = [
    "AccessLogEntry",
    "ApiToken",
    "Base",
    "CalendarDay",
    "ChecklistItem",
    "Deadline",
    "DeadlineRule",
    "Delivery",
    "HalfYearReport",
    "HalfYearReportVersion",
    "LadderStep",
    "LoginAttempt",
    "Notification",
    "NotificationSettings",
    "Organisation",
    "Region",
    "RegionBuildingBlock",
    "RegionStatusChange",
    "SafetyMeasurement",
    "StatsRelease",
    "StatsReleaseFile",
    "StatsSuppression",
    "SweepRun",
    "Trajectory",
    "TrajectoryEvent",
    "User",
    "WorkerHeartbeat",
    "user_regions",
    "utcnow",
]
