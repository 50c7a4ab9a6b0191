"""W2 statistics: a release against one hand-written SQL aggregate of the same counts.

A database filled by :func:`mda.demo.generate` (28 regions, registered over the three years
up to 4 January 2027) is released for one period (default ``2026-H2``) through
:func:`mda.stats.releases.make_release`, as beat and ``mda stats release`` do. A half year
first releases its months (the service does that itself); the bench releases them first, one
by one, so each release's time is its own. Every release's time is split by the service's
progress stages:

- ``aggregate s``: the SQL aggregates (the period's figures and lead times, and the current
  figures of the released periods around it that its audit takes into account);
- ``disclosure s``: suppression, rounding and the audit (:func:`mda.stats.disclosure.protect`);
- ``store s``: the CSV and XLSX, the suppression log and the rows.

Floor: one hand-written SQL statement (``UNION ALL`` of five ``GROUP BY`` s) that computes
the same count tables of the same period from the same tables; the bench checks that its
counts equal the release's exact figures. Ratio: the period's release over the floor, in one
run on one machine. The release also computes what the floor does not (lead-time quartiles,
the figures of the neighbouring periods, the disclosure control), so 1.0 is out of reach by
construction; DESIGN.md's goal is 1.5.

    python -m bench.w2_stats --households 20000                    # both backends
    python -m bench.w2_stats --households 100000 1000000 --backends postgresql
    python -m bench.w2_stats --households 5000 --period 2026-12
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import Session

from bench.support import Backend, backends, report
from mda.demo import generate
from mda.models import Deadline, TrajectoryEvent
from mda.services.context import Actor
from mda.services.settings import Settings, use_settings
from mda.stats import aggregates
from mda.stats.periods import Period
from mda.stats.releases import make_release
from mda.vocabulary import PeriodType

TITLE = "W2 statistics: a release against the hand-written aggregate"
GROWTH_TITLE = "W2 statistics: how the release grows with the data"
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
DEFAULT_PERIOD = "2026-H2"
#: The smoke run's size (``--quick``).
QUICK = 300
SYSTEM = Actor.system("bench")

_FLOOR_SQL = """
SELECT 'inflow', t.region_code, t.referral_source, NULL, count(*)
  FROM trajectories t
 WHERE t.referred_on >= :d0 AND t.referred_on < :d1
 GROUP BY t.region_code, t.referral_source
UNION ALL
SELECT 'active', t.region_code, COALESCE(l.to_state, 'referred'), NULL, count(*)
  FROM trajectories t
  LEFT JOIN (SELECT e.trajectory_id, e.to_state,
                    row_number() OVER (PARTITION BY e.trajectory_id ORDER BY e.seq DESC) AS rn
               FROM trajectory_events e
              WHERE e.to_state IS NOT NULL AND e.at < :t1) l
         ON l.trajectory_id = t.id AND l.rn = 1
 WHERE t.referred_on < :d1
 GROUP BY t.region_code, COALESCE(l.to_state, 'referred')
UNION ALL
SELECT 'transition', t.region_code, e.trigger, e.to_state || '/' || COALESCE({reason}, ''),
       count(*)
  FROM trajectory_events e JOIN trajectories t ON t.id = e.trajectory_id
 WHERE e.kind = 'transition' AND e.at >= :t0 AND e.at < :t1
   AND (e.to_state = 'closed' OR e.trigger IN ('accept', 'relapse', 'reopen'))
 GROUP BY t.region_code, e.trigger, e.to_state, {reason}
UNION ALL
SELECT 'outcome', t.region_code, CAST(m.number AS VARCHAR(4)), m.violence_level, count(*)
  FROM safety_measurements m JOIN trajectories t ON t.id = m.trajectory_id
 WHERE m.measured_on >= :d0 AND m.measured_on < :d1
 GROUP BY t.region_code, m.number, m.violence_level
UNION ALL
SELECT 'deadline', t.region_code,
       CASE WHEN d.status = 'met' AND d.closed_at <= d.due_at THEN 'on_time' ELSE 'late' END,
       NULL, count(*)
  FROM deadlines d JOIN trajectories t ON t.id = d.trajectory_id
 WHERE d.due_at >= :t0 AND d.due_at < :t1 AND d.status <> 'cancelled'
 GROUP BY t.region_code,
          CASE WHEN d.status = 'met' AND d.closed_at <= d.due_at THEN 'on_time' ELSE 'late' END
"""
_REASON = {
    "postgresql": "(e.data -> 'params' ->> 'closure_reason')",
    "sqlite": "json_extract(e.data, '$.params.closure_reason')",
}


def floor_statement(engine: Engine) -> object:
    moment = TrajectoryEvent.__table__.c.at.type
    assert Deadline.__table__.c.due_at.type.__class__ is moment.__class__
    return text(_FLOOR_SQL.format(reason=_REASON[engine.dialect.name])).bindparams(
        bindparam("t0", type_=moment), bindparam("t1", type_=moment)
    )


def floor_counts(engine: Engine, period: Period) -> tuple[dict[str, dict[tuple, int]], float]:
    """The floor's counts (as the release's inner cells) and its time in seconds."""
    statement = floor_statement(engine)
    params = {"d0": period.first_day, "d1": period.end_day, "t0": period.start, "t1": period.end}
    with engine.connect() as conn:
        start = time.perf_counter()
        rows = conn.execute(statement, params).all()  # type: ignore[call-overload]
        seconds = time.perf_counter() - start
    counts: dict[str, dict[tuple, int]] = {}

    def put(table: str, coords: tuple, n: int) -> None:
        counts.setdefault(table, {})
        counts[table][coords] = counts[table].get(coords, 0) + int(n)

    tables = {"accept": "accepted", "decline": "declined", "relapse": "relapses"}
    tables["reopen"] = "reentries"
    for what, region, a, b, n in rows:
        if what == "inflow":
            put("inflow_by_source", (region, a), n)
        elif what == "active" and a != "closed":
            put("active_by_state", (region, a), n)
        elif what == "transition":
            to_state, _, reason = b.partition("/")
            if to_state == "closed":
                reason = "not_eligible" if a == "decline" else (reason or "other")
                put("outflow_by_reason", (region, reason), n)
            if a in tables:
                put(tables[a], (region,), n)
        elif what == "outcome":
            put("outcome_by_measurement", (region, str(a), b), n)
        elif what == "deadline":
            put("deadlines_by_outcome", (region, a), n)
    return counts, seconds


@contextmanager
def _session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        use_settings(session, Settings().at(NOW))
        yield session


def timed_release(engine: Engine, period: str) -> dict[str, float]:
    """Make the release of ``period`` (committed); seconds per part."""
    marks: list[tuple[str, float]] = []
    with _session(engine) as session:
        start = time.perf_counter()
        release, made = make_release(
            session,
            SYSTEM,
            period,
            progress=lambda stage: marks.append((stage, time.perf_counter())),
        )
        session.commit()
        end = time.perf_counter()
        audit = dict(release.audit)
    if not made:
        raise SystemExit(f"{period} was released already: use a fresh database")
    at = dict(marks)
    return {
        "aggregate s": at["context"] - start,
        "disclosure s": at["suppression"] - at["context"],
        "store s": end - at["suppression"],
        "release s": end - start,
        "suppressed": float(audit["suppressed_cells"]),
    }


def _check(engine: Engine, period: Period, floor: dict[str, dict[tuple, int]]) -> None:
    """The floor computes the same counts as the release (else the ratio means nothing)."""
    with _session(engine) as session:
        regions = aggregates.region_codes(session)
        figures = aggregates.compute(session, period, regions, lead_times=False)
    known = set(regions)
    for name, cells in figures.counts.items():
        mine = {c: v for c, v in floor.get(name, {}).items() if c[0] in known and v}
        theirs = {c: v for c, v in cells.items() if v}
        if mine != theirs:
            raise SystemExit(f"W2: the floor's {name} differs from the release's figures")


def run(
    backend: Backend, households: int, period: str = DEFAULT_PERIOD, seed: int = 17
) -> list[dict[str, object]]:
    """W2 on one fresh backend at one size: a row per release made, the period's last."""
    target = Period.parse(period)
    started = time.perf_counter()
    generate(backend.engine, households=households, seed=seed, now=NOW)
    generated = time.perf_counter() - started
    with backend.engine.connect() as conn:
        trajectories = int(conn.execute(text("SELECT count(*) FROM trajectories")).scalar_one())
        if backend.name == "postgresql":
            conn.execute(text("ANALYZE"))
            conn.commit()
    _, _warm = floor_counts(backend.engine, target)  # caches warm for both sides alike
    rows: list[dict[str, object]] = []
    first = [str(m) for m in target.months()] if target.kind is PeriodType.HALF_YEAR else []
    print(f"W2 {backend.name}: {trajectories} trajectories in {generated:.0f} s", file=sys.stderr)
    for label in [*first, period]:
        parts = timed_release(backend.engine, label)
        print(f"W2 {backend.name}: {label} released in {parts['release s']:.1f} s", file=sys.stderr)
        floor, floor_s = floor_counts(backend.engine, Period.parse(label))
        _check(backend.engine, Period.parse(label), floor)
        rows.append(
            {
                "backend": backend.name,
                "trajectories": trajectories,
                "period": label,
                "aggregate s": parts["aggregate s"],
                "disclosure s": parts["disclosure s"],
                "store s": parts["store s"],
                "release s": parts["release s"],
                "suppressed": int(parts["suppressed"]),
                "floor s": floor_s,
                "x floor": parts["release s"] / floor_s,
                "generate s": generated if label == period else "",
            }
        )
    return rows


def growth(rows: list[dict[str, object]], period: str) -> list[dict[str, object]]:
    """Per backend, each size against the smallest: data grows by x, the release by y."""
    out: list[dict[str, object]] = []
    mine = [row for row in rows if row["period"] == period]
    for name in dict.fromkeys(str(row["backend"]) for row in mine):
        sized = sorted(
            (row for row in mine if row["backend"] == name),
            key=lambda row: int(row["trajectories"]),  # type: ignore[call-overload]
        )
        base = sized[0]
        for row in sized:
            out.append(
                {
                    "backend": name,
                    "trajectories": row["trajectories"],
                    "data x": int(row["trajectories"]) / int(base["trajectories"]),  # type: ignore[call-overload]
                    "release x": float(row["release s"]) / float(base["release s"]),  # type: ignore[arg-type]
                    "aggregate x": float(row["aggregate s"]) / float(base["aggregate s"]),  # type: ignore[arg-type]
                    "floor x": float(row["floor s"]) / float(base["floor s"]),  # type: ignore[arg-type]
                }
            )
    return out


def run_sizes(
    names: list[str], sizes: list[int], period: str, seed: int = 17
) -> list[dict[str, object]]:
    """Each size on fresh databases of every backend."""
    rows: list[dict[str, object]] = []
    for households in sizes:
        with backends(names) as made:
            for backend in made:
                rows += run(backend, households, period, seed)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="demo households, a fresh database each (100k and 1M)")  # fmt: skip
    parser.add_argument("--period", default=DEFAULT_PERIOD, help="a month (2026-12) or a half year")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--quick", action="store_true", help="300 households: a smoke run")
    args = parser.parse_args()
    sizes = [QUICK] if args.quick else args.households
    rows: list[dict[str, object]] = []
    for households in sizes:  # each size's table as soon as it is measured
        rows += run_sizes(args.backends, [households], args.period, args.seed)
        report(TITLE + " (x floor: release s / floor s)", rows)
    if len(sizes) > 1:
        report(GROWTH_TITLE, growth(rows, args.period))


if __name__ == "__main__":
    main()
