"""The tables of a statistics release: names, titles, dimensions (region first), margins.

The names are the release contract (DESIGN.md section 7); add tables, never rename them.
A title is a :func:`~mda.services.messages.msg`: the release stores its English text, and the
pages and the downloads in Dutch say it from the catalogue (:func:`title_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mda.services.messages import Text, msg
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
    title: Text
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
        msg("Inflow by referral source"),
        ("referral_source",),
        (tuple(s.value for s in ReferralSource),),
        (True,),
    ),
    CountTable(
        "active_by_state",
        msg("Active trajectories per state at the end of the period"),
        ("state",),
        (ACTIVE_STATES,),
        (True,),
        flow=False,
    ),
    CountTable(
        "outflow_by_reason",
        msg("Outflow by closure reason"),
        ("closure_reason",),
        (tuple(r.value for r in ClosureReason),),
        (True,),
    ),
    CountTable("accepted", msg("Accepted after screening"), (), (), ()),
    CountTable("declined", msg("Declined after screening"), (), (), ()),
    CountTable("relapses", msg("Relapses"), (), (), ()),
    CountTable("reentries", msg("Re-entries within 12 months of closing"), (), (), ()),
    CountTable(
        "outcome_by_measurement",
        msg("Safety measurements by number and violence level (impact monitor)"),
        ("measurement", "violence_level"),
        (MEASUREMENTS, tuple(v.value for v in ViolenceLevel)),
        # Measurements 1, 2 and 3 of one household are not added up: no margin there.
        (False, True),
    ),
    CountTable(
        "deadlines_by_outcome",
        msg("Deadlines due in the period, met on time or not"),
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
LEAD_TIME_TITLE = msg("Lead time per phase in days (quartiles), phases left in the period")
ON_TIME_TABLE = "deadlines_met_on_time"
ON_TIME_TITLE = msg("Share of deadlines met on time (%)")


def shapes(regions: Sequence[str]) -> dict[str, TableShape]:
    return {table.name: table.shape(regions) for table in COUNT_TABLES}


def spec(name: str) -> CountTable:
    return next(t for t in COUNT_TABLES if t.name == name)


#: Every table's title by name, as a translatable text.
TITLES: dict[str, Text] = {
    **{t.name: t.title for t in COUNT_TABLES},
    LEAD_TIME_TABLE: LEAD_TIME_TITLE,
    ON_TIME_TABLE: ON_TIME_TITLE,
}


def title_of(name: str, stored: str) -> Text | str:
    """The translatable title of table ``name``; a table unknown here keeps its stored title."""
    return TITLES.get(name, stored)
