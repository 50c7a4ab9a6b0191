"""SQLAlchemy 2 typed models, one module per aggregate. Import from here."""

from mda.models.audit import AccessLogEntry
from mda.models.base import Base, utcnow
from mda.models.deadline import CalendarDay, Deadline, DeadlineRule, Notification
from mda.models.region import HalfYearReport, Region, RegionBuildingBlock, RegionStatusChange
from mda.models.stats import StatsCell, StatsRelease
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
    "HalfYearReport",
    "LoginAttempt",
    "Notification",
    "Organisation",
    "Region",
    "RegionBuildingBlock",
    "RegionStatusChange",
    "SafetyMeasurement",
    "StatsCell",
    "StatsRelease",
    "Trajectory",
    "TrajectoryEvent",
    "User",
    "WorkerHeartbeat",
    "user_regions",
    "utcnow",
]
