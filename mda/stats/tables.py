"""The tables of a statistics release: names, titles, dimensions (region first), margins.

The names are the release contract (DESIGN.md section 7); add tables, never rename them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mda.stats.disclosure import TableShape
from mda.vocabulary import ClosureReason, Phase, ReferralSource, TrajectoryState, ViolenceLevel

ACTIVE_STATES = tuple(s.value for s in TrajectoryState if s is not TrajectoryState.CLOSED)
PHASES = tuple(p.value for p in Phase if p is not Phase.CLOSED)
MEASUREMENTS = ("1", "2", "3")
DEADLINE_OUTCOMES = ("on_time", "late")
QUARTILES = ("q1", "median", "q3")


@dataclass(frozen=True)
class CountTable:
    name: str
    title: str
    dimensions: tuple[str, ...]  # after region
    categories: tuple[tuple[str, ...], ...]
    margins: tuple[bool, ...]  # after region (region always has its national margin)
    #: A flow adds up over the months of a half year; a stock is taken at the period's end.
    flow: bool = True

    def shape(self, regions: Sequence[str]) -> TableShape:
        return TableShape(
            self.name,
            ("region", *self.dimensions),
            (tuple(regions), *self.categories),
            (True, *self.margins),
        )


COUNT_TABLES: tuple[CountTable, ...] = (
    CountTable(
        "inflow_by_source",
        "Inflow by referral source",
        ("referral_source",),
        (tuple(s.value for s in ReferralSource),),
        (True,),
    ),
    CountTable(
        "active_by_state",
        "Active trajectories per state at the end of the period",
        ("state",),
        (ACTIVE_STATES,),
        (True,),
        flow=False,
    ),
    CountTable(
        "outflow_by_reason",
        "Outflow by closure reason",
        ("closure_reason",),
        (tuple(r.value for r in ClosureReason),),
        (True,),
    ),
    CountTable("accepted", "Accepted after screening", (), (), ()),
    CountTable("declined", "Declined after screening", (), (), ()),
    CountTable("relapses", "Relapses", (), (), ()),
    CountTable("reentries", "Re-entries within 12 months of closing", (), (), ()),
    CountTable(
        "outcome_by_measurement",
        "Safety measurements by number and violence level (impact monitor)",
        ("measurement", "violence_level"),
        (MEASUREMENTS, tuple(v.value for v in ViolenceLevel)),
        # Measurements 1, 2 and 3 of one household are not added up: no margin there.
        (False, True),
    ),
    CountTable(
        "deadlines_by_outcome",
        "Deadlines due in the period, met on time or not",
        ("outcome",),
        (DEADLINE_OUTCOMES,),
        (True,),
    ),
)
COUNT_TABLE_NAMES = tuple(t.name for t in COUNT_TABLES)
FLOW_TABLES = tuple(t.name for t in COUNT_TABLES if t.flow)
STOCK_TABLES = tuple(t.name for t in COUNT_TABLES if not t.flow)

#: Derived tables: published only where the group reaches the threshold.
LEAD_TIME_TABLE = "lead_time_by_phase"
LEAD_TIME_TITLE = "Lead time per phase in days (quartiles), phases left in the period"
ON_TIME_TABLE = "deadlines_met_on_time"
ON_TIME_TITLE = "Share of deadlines met on time (%)"


def shapes(regions: Sequence[str]) -> dict[str, TableShape]:
    return {table.name: table.shape(regions) for table in COUNT_TABLES}


def spec(name: str) -> CountTable:
    return next(t for t in COUNT_TABLES if t.name == name)
