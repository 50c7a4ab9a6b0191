"""The figures per region and period, computed by the database (GROUP BY, window functions).

Nothing here loops over trajectories in Python: each query returns one row per group (region
and category), and the national margins are sums of those exact, unrounded groups.

Definitions (all in Europe/Amsterdam time, see :mod:`mda.stats.periods`):

- a trajectory counts in the region it is in now (a transferred one moves with its history);
- **inflow**: trajectories whose ``referred_on`` lies in the period, by referral source;
- **active per state** at the period's end: trajectories referred before the end whose last
  state change before the end is not ``closed`` (one registered later, with an earlier
  referral date, counts as ``referred``);
- **outflow**: transitions into ``closed`` in the period, by closure reason (``decline`` is
  ``not_eligible``); **accepted**, **declined**, **relapses**, **re-entries** (``reopen``):
  those transitions in the period. So, per region, active at the end = active at the end of
  the period before + inflow - outflow + re-entries, exactly;
- **outcome**: safety measurements 1, 2, 3 whose ``measured_on`` lies in the period, by
  violence level;
- **deadlines**: deadlines due in the period (not cancelled), met on time (met no later than
  due) or not;
- **lead time per phase**: each stay in a phase (intake = referred, screening and team
  forming) that ended in the period, from the first state change into the phase to the first
  change out of it, in days; quartiles by ``percentile_cont`` (PostgreSQL) or the same
  interpolation in SQL window functions (SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from mda.models import Deadline, Region, SafetyMeasurement, Trajectory, TrajectoryEvent
from mda.stats.disclosure import TOTAL, Coords
from mda.stats.periods import Period
from mda.stats.tables import (
    ACTIVE_STATES,
    COUNT_TABLES,
    MEASUREMENTS,
    PHASES,
    QUARTILES,
)
from mda.vocabulary import STATE_PHASE, ClosureReason, DeadlineStatus

#: (region or "_total", phase) -> (stays, q1, median, q3) in days.
LeadTimes = dict[tuple[str, str], tuple[int, float, float, float]]


@dataclass
class Figures:
    """One period's exact figures: count tables (inner cells) and lead times."""

    period: str
    regions: list[str]
    counts: dict[str, dict[Coords, int]]
    lead_times: LeadTimes = field(default_factory=dict)

    def complete(self) -> dict[str, dict[Coords, int]]:
        """Every count table with its margins (national and totals from the exact cells)."""
        return {
            table.name: table.shape(self.regions).complete(self.counts[table.name])
            for table in COUNT_TABLES
        }


def region_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Region.code).order_by(Region.code)))


def compute(
    session: Session,
    period: Period,
    regions: Sequence[str] | None = None,
    *,
    lead_times: bool = True,
) -> Figures:
    """All figures of ``period`` from the current data."""
    regions = list(regions) if regions is not None else region_codes(session)
    counts: dict[str, dict[Coords, int]] = {table.name: {} for table in COUNT_TABLES}
    known = set(regions)

    def put(table: str, coords: Coords, value: Any) -> None:
        if coords[0] in known:
            counts[table][coords] = counts[table].get(coords, 0) + int(value)

    for region, source, n in _inflow(session, period):
        put("inflow_by_source", (region, str(source)), n)
    for region, state, n in _active(session, period):
        if state in ACTIVE_STATES:
            put("active_by_state", (region, state), n)
    for region, trigger, to_state, reason, n in _transitions(session, period):
        if to_state == "closed":
            put("outflow_by_reason", (region, reason or ClosureReason.OTHER.value), n)
        table = {
            "accept": "accepted",
            "decline": "declined",
            "relapse": "relapses",
            "reopen": "reentries",
        }.get(trigger or "")
        if table:
            put(table, (region,), n)
    for region, number, level, n in _outcomes(session, period):
        if str(number) in MEASUREMENTS:
            put("outcome_by_measurement", (region, str(number), str(level)), n)
    for region, on_time, n in _deadlines(session, period):
        put("deadlines_by_outcome", (region, "on_time" if on_time else "late"), n)
    figures = Figures(str(period), regions, counts)
    if lead_times:
        figures.lead_times = {
            key: value
            for key, value in _lead_times(session, period).items()
            if key[0] in known or key[0] == TOTAL
        }
    return figures


# --- the queries ------------------------------------------------------------------------


def _inflow(session: Session, period: Period) -> list[Any]:
    t = Trajectory
    query = (
        select(t.region_code, t.referral_source, func.count())
        .where(t.referred_on >= period.first_day, t.referred_on < period.end_day)
        .group_by(t.region_code, t.referral_source)
    )
    return [(r, getattr(s, "value", s), n) for r, s, n in session.execute(query)]


def _active(session: Session, period: Period) -> list[Any]:
    e, t = TrajectoryEvent, Trajectory
    last = (
        select(
            e.trajectory_id,
            e.to_state,
            func.row_number().over(partition_by=e.trajectory_id, order_by=e.seq.desc()).label("rn"),
        )
        .where(e.to_state.is_not(None), e.at < period.end)
        .subquery()
    )
    state = func.coalesce(last.c.to_state, literal("referred"))
    query = (
        select(t.region_code, state, func.count())
        .select_from(t)
        .outerjoin(last, and_(last.c.trajectory_id == t.id, last.c.rn == 1))
        .where(t.referred_on < period.end_day)
        .group_by(t.region_code, state)
    )
    return list(session.execute(query))


def _transitions(session: Session, period: Period) -> list[Any]:
    e, t = TrajectoryEvent, Trajectory
    reason = case(
        (e.trigger == "decline", literal(ClosureReason.NOT_ELIGIBLE.value)),
        (e.to_state == "closed", e.data[("params", "closure_reason")].as_string()),
        else_=literal(None),
    )
    query = (
        select(t.region_code, e.trigger, e.to_state, reason, func.count())
        .select_from(e)
        .join(t, t.id == e.trajectory_id)
        .where(
            e.kind == "transition",
            e.at >= period.start,
            e.at < period.end,
            or_(e.to_state == "closed", e.trigger.in_(("accept", "relapse", "reopen"))),
        )
        .group_by(t.region_code, e.trigger, e.to_state, reason)
    )
    return list(session.execute(query))


def _outcomes(session: Session, period: Period) -> list[Any]:
    m, t = SafetyMeasurement, Trajectory
    query = (
        select(t.region_code, m.number, m.violence_level, func.count())
        .select_from(m)
        .join(t, t.id == m.trajectory_id)
        .where(m.measured_on >= period.first_day, m.measured_on < period.end_day)
        .group_by(t.region_code, m.number, m.violence_level)
    )
    return [(r, n, getattr(v, "value", v), c) for r, n, v, c in session.execute(query)]


def _deadlines(session: Session, period: Period) -> list[Any]:
    d, t = Deadline, Trajectory
    on_time = case((and_(d.status == DeadlineStatus.MET, d.closed_at <= d.due_at), 1), else_=0)
    query = (
        select(t.region_code, on_time, func.count())
        .select_from(d)
        .join(t, t.id == d.trajectory_id)
        .where(
            d.due_at >= period.start,
            d.due_at < period.end,
            d.status != DeadlineStatus.CANCELLED,
        )
        .group_by(t.region_code, on_time)
    )
    return list(session.execute(query))


def _phase_of_state() -> Any:
    e = TrajectoryEvent
    return case(
        *(
            (e.to_state == state.value, literal(phase.value))
            for state, phase in STATE_PHASE.items()
        ),
        else_=literal(None),
    )


def _days(session: Session, start: Any, end: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _stays(session: Session, period: Period) -> Any:
    """One row per stay in a phase that ended in the period: region, phase, days."""
    e, t = TrajectoryEvent, Trajectory
    phase = _phase_of_state().label("phase")
    # A stay that ended in the period ended with a state change in the period, so only the
    # trajectories with one need their histories walked (not every trajectory's).
    changed = select(e.trajectory_id).where(
        e.to_state.is_not(None), e.at >= period.start, e.at < period.end
    )
    changes = (
        select(e.trajectory_id, e.seq, e.at, phase)
        .where(e.to_state.is_not(None), e.trajectory_id.in_(changed))
        .subquery()
    )
    previous = func.lag(changes.c.phase).over(
        partition_by=changes.c.trajectory_id, order_by=changes.c.seq
    )
    marked = select(
        changes.c.trajectory_id,
        changes.c.seq,
        changes.c.at,
        changes.c.phase,
        case((previous == changes.c.phase, 0), else_=1).label("starts"),
    ).subquery()
    left_at = (
        func.lead(marked.c.at)
        .over(partition_by=marked.c.trajectory_id, order_by=marked.c.seq)
        .label("left_at")
    )
    stays = (
        select(marked.c.trajectory_id, marked.c.phase, marked.c.at.label("entered_at"), left_at)
        .where(marked.c.starts == 1)
        .subquery()
    )
    return (
        select(
            t.region_code.label("region"),
            stays.c.phase,
            cast(_days(session, stays.c.entered_at, stays.c.left_at), Float).label("days"),
        )
        .select_from(stays)
        .join(t, t.id == stays.c.trajectory_id)
        .where(
            stays.c.left_at >= period.start,
            stays.c.left_at < period.end,
            stays.c.phase.in_(PHASES),
        )
        .subquery()
    )


QUARTILE_POINTS = {"q1": 0.25, "median": 0.5, "q3": 0.75}


def _lead_times(session: Session, period: Period) -> LeadTimes:
    stays = _stays(session, period)
    result: LeadTimes = {}
    for by_region in (True, False):
        keys = [stays.c.region, stays.c.phase] if by_region else [stays.c.phase]
        if session.get_bind().dialect.name == "postgresql":
            quartiles = [
                func.percentile_cont(QUARTILE_POINTS[q]).within_group(stays.c.days)
                for q in QUARTILES
            ]
            query = select(*keys, func.count(), *quartiles).group_by(*keys)
        else:
            query = _sqlite_quartiles(stays, keys)
        for row in session.execute(query):
            region = row[0] if by_region else TOTAL
            phase, n, *values = row[1:] if by_region else row
            result[(str(region), str(phase))] = (int(n), *(float(v) for v in values))  # type: ignore[assignment]
    return result


def _sqlite_quartiles(stays: Any, keys: list[Any]) -> Any:
    """``percentile_cont`` in window functions: the value at (n-1)p, interpolated.

    Each row gets its rank ``i`` (from 0) and its group's size ``n``; the quartile p is
    ``v[floor(h)] + (h - floor(h)) * (v[floor(h)+1] - v[floor(h)])`` with ``h = (n-1)p``.
    """
    ranked = select(
        *keys,
        stays.c.days,
        (func.row_number().over(partition_by=keys, order_by=stays.c.days) - 1).label("i"),
        func.count().over(partition_by=keys).label("n"),
    ).subquery()
    group = [ranked.c[k.name] for k in keys]
    n = ranked.c.n
    columns = []
    for q in QUARTILES:
        h = (n - 1) * QUARTILE_POINTS[q]
        floor = cast(h, Integer)
        low = func.max(case((ranked.c.i == floor, ranked.c.days)))
        high = func.max(case((ranked.c.i == floor + 1, ranked.c.days)))
        columns.append(low + (h - floor) * (func.coalesce(high, low) - low))
    return select(*group, n, *columns).group_by(*group, n)
