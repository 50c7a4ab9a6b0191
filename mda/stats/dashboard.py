"""A manager's dashboard: their own region's exact (unrounded) figures, for the last 12 months.

Managers see their region's throughput without disclosure control: the figures never leave
the region's own managers, and they are counts only, never a trajectory or a pseudonym. Every
figure is an SQL aggregate of :mod:`mda.stats.aggregates` (one query per table and month);
the only query of this module, the overdue deadlines now, is a ``COUNT`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mda.models import Deadline
from mda.services.authz import require_region, require_role
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.stats import aggregates
from mda.stats.periods import Period
from mda.stats.tables import ACTIVE_STATES, PHASES
from mda.vocabulary import STATE_PHASE, DeadlineStatus, PeriodType, Role, TrajectoryState

MONTHS = 12


@dataclass(frozen=True)
class Month:
    """One month's flows in the region."""

    period: str
    inflow: int
    outflow: int
    relapses: int
    deadlines_due: int
    deadlines_on_time: int

    @property
    def on_time_share(self) -> float | None:
        """The share of the month's deadlines met on time (%), None without deadlines."""
        if not self.deadlines_due:
            return None
        return 100.0 * self.deadlines_on_time / self.deadlines_due


@dataclass(frozen=True)
class LeadTime:
    """Lead time in one phase over the stays that ended in ``period`` (days)."""

    period: str
    phase: str
    stays: int
    q1: float
    median: float
    q3: float


@dataclass
class RegionDashboard:
    region: str
    months: list[Month]
    per_state: dict[str, int]
    per_phase: dict[str, int]
    lead_times: list[LeadTime]
    overdue: int
    totals: dict[str, int] = field(default_factory=dict)


def last_months(now: datetime, count: int = MONTHS) -> list[Period]:
    """The ``count`` months up to and including the current one, oldest first."""
    today = today_nl(now)
    month = Period(today.year, PeriodType.MONTH, today.month)
    out = [month]
    while len(out) < count:
        out.append(out[-1].previous())
    return list(reversed(out))


def region_dashboard(session: Session, actor: Actor, code: str, now: datetime) -> RegionDashboard:
    """The region's figures; only a manager of ``code``."""
    require_role(actor, Role.MANAGER)
    require_region(actor, code)
    months = last_months(now)
    rows: list[Month] = []
    current: aggregates.Figures | None = None
    by_month = aggregates.compute_many(session, months, [code])
    for month in months:
        figures = by_month[str(month)]
        counts = figures.counts
        deadlines = counts["deadlines_by_outcome"]
        on_time = deadlines.get((code, "on_time"), 0)
        rows.append(
            Month(
                period=str(month),
                inflow=sum(counts["inflow_by_source"].values()),
                outflow=sum(counts["outflow_by_reason"].values()),
                relapses=counts["relapses"].get((code,), 0),
                deadlines_due=on_time + deadlines.get((code, "late"), 0),
                deadlines_on_time=on_time,
            )
        )
        current = figures
    assert current is not None
    # The current month's stock at its end is the stock now: no state change lies ahead.
    active = current.counts["active_by_state"]
    per_state = {state: active.get((code, state), 0) for state in ACTIVE_STATES}
    per_phase = {phase: 0 for phase in PHASES}
    for state, n in per_state.items():
        per_phase[STATE_PHASE[TrajectoryState(state)].value] += n
    # Quartiles do not add up over months: lead times per half year (this one and the last).
    this_half = months[-1].half_year()
    lead_times: list[LeadTime] = []
    for half in (this_half.previous(), this_half):
        found = aggregates.lead_times_of(session, half, [code])
        for phase in PHASES:
            value = found.get((code, phase))
            if value is not None:
                lead_times.append(LeadTime(str(half), phase, *value))
    overdue = session.scalar(
        select(func.count())
        .select_from(Deadline)
        .where(
            Deadline.region_code == code,
            Deadline.status == DeadlineStatus.OPEN,
            Deadline.due_at < now,
        )
    )
    totals = {
        "inflow": sum(m.inflow for m in rows),
        "outflow": sum(m.outflow for m in rows),
        "relapses": sum(m.relapses for m in rows),
        "deadlines_due": sum(m.deadlines_due for m in rows),
        "deadlines_on_time": sum(m.deadlines_on_time for m in rows),
        "active": sum(per_state.values()),
    }
    return RegionDashboard(
        region=code,
        months=rows,
        per_state=per_state,
        per_phase=per_phase,
        lead_times=lead_times,
        overdue=int(overdue or 0),
        totals=totals,
    )
