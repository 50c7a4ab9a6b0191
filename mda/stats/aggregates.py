"""The figures per region and period, computed by the database (GROUP BY, window functions).

Nothing here loops over trajectories in Python: each query returns one row per group (region
and category), and the national margins are sums of those exact, unrounded groups.

Definitions (all in Europe/Amsterdam time, see :mod:`mda.stats.periods`):

- a trajectory counts in the region it is in now (a transferred one moves with its history);
- **inflow**: trajectories whose ``referred_on`` lies in the period, by referral source;
- **active per state** at the period's end: trajectories referred before the end whose last
  state change before the end is not ``closed`` (one registered later, with an earlier
  referral date, counts as ``referred``). Computed backwards from the states now: less the
  transitions after the end into the state, plus those out of it, less (for ``referred``) the
  referrals after the end. The same count, because each transition leaves the state the one
  before it entered and ``state`` is the last one entered; it reads only the changes from
  the first month asked for on, and gives the end of every month at once;
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
  change out of it, in days; found from the period's transitions out of a phase, each with
  the latest change into that phase before it; quartiles by ``percentile_cont``
  (PostgreSQL) or the same interpolation in SQL window functions (SQLite).

Several periods are computed together (:func:`compute_many`): one statement per table buckets
its rows by month, and a half year is the sum of its months (its stock, its last month's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from mda.models import Deadline, Region, SafetyMeasurement, Trajectory, TrajectoryEvent
from mda.stats.disclosure import TOTAL, Coords
from mda.stats.periods import Period
from mda.stats.tables import ACTIVE_STATES, COUNT_TABLES, MEASUREMENTS, PHASES, QUARTILES
from mda.vocabulary import STATE_PHASE, ClosureReason, DeadlineStatus, TrajectoryState

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
    figures = compute_many(session, [period], regions)[str(period)]
    if lead_times:
        figures.lead_times = lead_times_of(session, period, regions)
    return figures


def compute_many(
    session: Session, periods: Sequence[Period], regions: Sequence[str] | None = None
) -> dict[str, Figures]:
    """The count figures of several periods (no lead times), by label.

    One statement per source table covers every month from the first wanted to the last, each
    row in the bucket of its month: the cost hardly depends on how many periods are asked for.
    A half year's flows are the sums of its months', its stock is its last month's (the
    definitions make that exact, see :mod:`mda.stats.linking`).
    """
    regions = list(regions) if regions is not None else region_codes(session)
    if not periods:
        return {}
    ladder = _Ladder.of(periods)
    months = [_month_counts() for _ in ladder.months]
    known = set(regions)
    _add_flows_and_stock(session, ladder, known, months)
    for region, i, number, level, n in _outcomes(session, ladder, regions):
        if str(number) in MEASUREMENTS:
            _put(months[i], "outcome_by_measurement", (region, str(number), str(level)), n)
    for region, i, on_time, n in _deadlines(session, ladder, regions):
        _put(months[i], "deadlines_by_outcome", (region, "on_time" if on_time else "late"), n)
    by_month = dict(zip(ladder.months, months, strict=True))
    out: dict[str, Figures] = {}
    for period in periods:
        counts = _month_counts()
        parts = [by_month[m] for m in period.months()]
        for table in COUNT_TABLES:
            for part in parts if table.flow else parts[-1:]:
                for coords, n in part[table.name].items():
                    _put(counts, table.name, coords, n)
        out[str(period)] = Figures(str(period), list(regions), counts)
    return out


def lead_times_of(session: Session, period: Period, regions: Sequence[str]) -> LeadTimes:
    """The lead times per phase of ``period``: per region of ``regions`` and national."""
    known = set(regions)
    return {
        key: value
        for key, value in _lead_times(session, period).items()
        if key[0] in known or key[0] == TOTAL
    }


# --- the queries ------------------------------------------------------------------------

Counts = dict[str, dict[Coords, int]]
TRANSITION_TABLES = {
    "accept": "accepted",
    "decline": "declined",
    "relapse": "relapses",
    "reopen": "reentries",
}


def _month_counts() -> Counts:
    return {table.name: {} for table in COUNT_TABLES}


def _put(counts: Counts, table: str, coords: Coords, n: int) -> None:
    if n:
        cells = counts[table]
        cells[coords] = cells.get(coords, 0) + int(n)


@dataclass(frozen=True)
class _Ladder:
    """Consecutive months as the buckets of a query: a moment or day falls in the month whose
    end it comes first before (bucket ``i``), before them all (-1) or after them all (``n``,
    the number of months)."""

    months: list[Period]

    @classmethod
    def of(cls, periods: Sequence[Period]) -> _Ladder:
        wanted = sorted({month for period in periods for month in period.months()})
        months = [wanted[0]]
        while months[-1] != wanted[-1]:
            months.append(months[-1].next())
        return cls(months)

    @property
    def start(self) -> Any:
        return self.months[0].start

    @property
    def end(self) -> Any:
        return self.months[-1].end

    @property
    def first_day(self) -> Any:
        return self.months[0].first_day

    @property
    def end_day(self) -> Any:
        return self.months[-1].end_day

    def moment(self, column: Any) -> Any:
        """The bucket of a UTC moment."""
        return self._bucket(column, self.start, [m.end for m in self.months])

    def day(self, column: Any) -> Any:
        """The bucket of a calendar date."""
        return self._bucket(column, self.first_day, [m.end_day for m in self.months])

    @staticmethod
    def _bucket(column: Any, first: Any, ends: list[Any]) -> Any:
        return case(
            (column < first, literal_column("-1")),
            *((column < end, literal_column(str(i))) for i, end in enumerate(ends)),
            else_=literal_column(str(len(ends))),
        )


def _in_regions(column: Any, regions: Iterable[str]) -> Any:
    return column.in_(sorted(regions))


#: Per region, or per (region, state): a count per bucket, -1 .. n at positions 0 .. n + 1.
Buckets = dict[Any, list[int]]


def _add_flows_and_stock(
    session: Session, ladder: _Ladder, known: set[str], months: list[Counts]
) -> None:
    """Inflow and transitions per month, and the stock at each month's end (see
    :func:`_add_stock`), from one statement: one snapshot of the data even at READ COMMITTED,
    so a step committed meanwhile cannot make the states now and the changes disagree."""
    e, t = TrajectoryEvent, Trajectory
    in_months = e.at < ladder.end
    none = literal(None, String)
    bucket = ladder.moment(e.at).label("bucket")
    trigger = case((in_months, e.trigger), else_=none).label("trigger")
    reason = case(
        (and_(in_months, e.trigger == "decline"), literal(ClosureReason.NOT_ELIGIBLE.value)),
        (
            and_(in_months, e.to_state == "closed"),
            e.data[("params", "closure_reason")].as_string(),
        ),
        else_=none,
    ).label("reason")
    changes = (
        select(
            literal("change").label("what"),
            t.region_code,
            bucket,
            trigger,
            e.from_state,
            e.to_state,
            reason,
            func.count(),
        )
        .select_from(e)
        .join(t, t.id == e.trajectory_id)
        .where(e.kind == "transition", e.at >= ladder.start, _in_regions(t.region_code, known))
        .group_by(t.region_code, bucket, trigger, e.from_state, e.to_state, reason)
    )
    day = ladder.day(t.referred_on)
    referrals = (
        select(
            literal("referral"),
            t.region_code,
            day,
            cast(t.referral_source, String),
            none,
            none,
            none,
            func.count(),
        )
        .where(_in_regions(t.region_code, known))
        .group_by(t.region_code, t.referral_source, day)
    )
    now = (
        select(
            literal("now"),
            t.region_code,
            literal_column("NULL", Integer),
            none,
            none,
            cast(t.state, String),
            none,
            func.count(),
        )
        .where(_in_regions(t.region_code, known))
        .group_by(t.region_code, t.state)
    )
    size = len(months)
    current: dict[tuple[str, str], int] = {}
    referred: Buckets = {region: [0] * (size + 2) for region in known}
    net: Buckets = {}
    for what, region, i, trig, source, dest, why, n in session.execute(
        union_all(changes, referrals, now)
    ):
        if region not in known:
            continue
        n = int(n)
        if what == "now":
            current[(region, dest)] = current.get((region, dest), 0) + n
            continue
        i = int(i)
        if what == "referral":
            referred[region][i + 1] += n
            if 0 <= i < size:
                _put(months[i], "inflow_by_source", (region, trig), n)
            continue
        for state, sign in ((dest, n), (source, -n)):
            if state is not None:
                net.setdefault((region, state), [0] * (size + 2))[i + 1] += sign
        if i >= size:
            continue
        if dest == TrajectoryState.CLOSED.value:
            _put(months[i], "outflow_by_reason", (region, why or ClosureReason.OTHER.value), n)
        table = TRANSITION_TABLES.get(trig or "")
        if table:
            _put(months[i], table, (region,), n)
    _add_stock(ladder, months, current, referred, net)


def _add_stock(
    ladder: _Ladder,
    months: list[Counts],
    current: dict[tuple[str, str], int],
    referrals: Buckets,
    net: Buckets,
) -> None:
    """The stock at each month's end: the states now, less every transition after that end
    into the state and plus every one out of it, less (for ``referred``) every referral after
    it. A referral counts as ``referred`` from its referral day (its registration is not a
    change of state). The same as each trajectory's last state change before the end, since
    every transition leaves the state the one before it entered (and ``state`` is the last
    one entered): no history is walked, and only the changes from the first month on read."""
    referred = TrajectoryState.REFERRED.value
    size = len(months)
    for state in ACTIVE_STATES:
        for region in {r for r, _ in current} | set(referrals):
            stock = current.get((region, state), 0)
            changes = net.get((region, state), [0] * (size + 2))
            later = referrals.get(region, [0] * (size + 2)) if state == referred else None
            # From the last bucket back: the stock at the end of month k undoes bucket k + 1.
            for k in range(size - 1, -1, -1):
                stock -= changes[k + 2]
                if later is not None:
                    stock -= later[k + 2]
                if stock < 0:
                    raise RuntimeError(
                        f"trajectory histories do not add up at the end of {ladder.months[k]} "
                        f"({region}, {state}): a transition does not leave the state the one "
                        "before entered, or a state is not the last one entered"
                    )
                _put(months[k], "active_by_state", (region, state), stock)


def _outcomes(session: Session, ladder: _Ladder, regions: Sequence[str]) -> list[Any]:
    m, t = SafetyMeasurement, Trajectory
    bucket = ladder.day(m.measured_on).label("bucket")
    query = (
        select(t.region_code, bucket, m.number, m.violence_level, func.count())
        .select_from(m)
        .join(t, t.id == m.trajectory_id)
        .where(
            m.measured_on >= ladder.first_day,
            m.measured_on < ladder.end_day,
            _in_regions(t.region_code, regions),
        )
        .group_by(t.region_code, bucket, m.number, m.violence_level)
    )
    return [(r, int(i), n, getattr(v, "value", v), c) for r, i, n, v, c in session.execute(query)]


def _deadlines(session: Session, ladder: _Ladder, regions: Sequence[str]) -> list[Any]:
    d, t = Deadline, Trajectory
    bucket = ladder.moment(d.due_at).label("bucket")
    on_time = case((and_(d.status == DeadlineStatus.MET, d.closed_at <= d.due_at), 1), else_=0)
    query = (
        select(t.region_code, bucket, on_time, func.count())
        .select_from(d)
        .join(t, t.id == d.trajectory_id)
        .where(
            d.due_at >= ladder.start,
            d.due_at < ladder.end,
            d.status != DeadlineStatus.CANCELLED,
            _in_regions(t.region_code, regions),
        )
        .group_by(t.region_code, bucket, on_time)
    )
    return [(r, int(i), o, n) for r, i, o, n in session.execute(query)]


def _phase_of(state: Any) -> Any:
    return case(
        *((state == s.value, literal(phase.value)) for s, phase in STATE_PHASE.items()),
        else_=literal(None),
    )


def _days(session: Session, start: Any, end: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _stays(session: Session, period: Period) -> Any:
    """One row per stay in a phase that ended in the period: region, phase, days.

    A stay ends with a transition in the period out of its phase (from a state of the phase
    to a state of another), and began with the latest change into the phase before that
    (from another phase's state, or the registration). Only the period's exits and, per exit,
    the history of its own trajectory are read.
    """
    e, t = TrajectoryEvent, Trajectory
    entry = aliased(TrajectoryEvent)
    phase = _phase_of(e.from_state)
    exits = (
        select(e.trajectory_id, e.seq, e.at.label("left_at"), phase.label("phase"))
        .where(
            e.kind == "transition",
            e.at >= period.start,
            e.at < period.end,
            phase.in_(PHASES),
            _phase_of(e.to_state) != phase,
        )
        .subquery()
    )
    entered_at = (
        select(entry.at)
        .where(
            entry.trajectory_id == exits.c.trajectory_id,
            entry.seq < exits.c.seq,
            entry.to_state.is_not(None),
            _phase_of(entry.to_state) == exits.c.phase,
            or_(entry.from_state.is_(None), _phase_of(entry.from_state) != exits.c.phase),
        )
        .order_by(entry.seq.desc())
        .limit(1)
        .correlate(exits)
        .scalar_subquery()
    )
    return (
        select(
            t.region_code.label("region"),
            exits.c.phase,
            cast(_days(session, entered_at, exits.c.left_at), Float).label("days"),
        )
        .select_from(exits)
        .join(t, t.id == exits.c.trajectory_id)
    )


QUARTILE_POINTS = {"q1": 0.25, "median": 0.5, "q3": 0.75}


def _lead_times(session: Session, period: Period) -> LeadTimes:
    # The stays once (materialised), grouped per region and, as region ``_total``, nationally.
    stays = _stays(session, period).cte("stays").prefix_with("MATERIALIZED")
    both = union_all(
        select(stays.c.region, stays.c.phase, stays.c.days),
        select(literal(TOTAL).label("region"), stays.c.phase, stays.c.days),
    ).subquery()
    keys = [both.c.region, both.c.phase]
    if session.get_bind().dialect.name == "postgresql":
        quartiles = [
            func.percentile_cont(QUARTILE_POINTS[q]).within_group(both.c.days) for q in QUARTILES
        ]
        query = select(*keys, func.count(), *quartiles).group_by(*keys)
    else:
        query = _sqlite_quartiles(both, keys)
    return {
        (str(region), str(phase)): (int(n), *(float(v) for v in values))  # type: ignore[misc]
        for region, phase, n, *values in session.execute(query)
    }


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
