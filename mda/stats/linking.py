"""What an attacker knows between tables and periods, as linear relations for the audit.

- Stock and flows: per region (and nationally), active at the end of a period = active at the
  end of the period before + inflow - outflow + re-entries (exact by the definitions of
  :mod:`mda.stats.aggregates`), for consecutive months and consecutive half years.
- A half year and its months: each flow cell of the half year is the sum of that cell over its
  six months; its stock at the end is the stock at the end of its last month.
- A declined referral is closed as ``not_eligible``: declined <= outflow ``not_eligible``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mda.stats.disclosure import TOTAL, CellKey, Link
from mda.stats.periods import Period
from mda.stats.tables import FLOW_TABLES, STOCK_TABLES, shapes
from mda.vocabulary import ClosureReason, PeriodType


def build_links(labels: Iterable[str], regions: Sequence[str]) -> list[Link]:
    periods = {Period.parse(label) for label in labels}
    table_shapes = shapes(regions)
    links: list[Link] = []
    areas = [*regions, TOTAL]
    for period in sorted(periods):
        p = str(period)
        before = period.previous()
        if before in periods:
            b = str(before)
            for region in areas:
                terms: list[tuple[CellKey, int]] = [
                    ((p, "active_by_state", (region, TOTAL)), 1),
                    ((b, "active_by_state", (region, TOTAL)), -1),
                    ((p, "inflow_by_source", (region, TOTAL)), -1),
                    ((p, "outflow_by_reason", (region, TOTAL)), 1),
                    ((p, "reentries", (region,)), -1),
                ]
                links.append(Link(tuple(terms), "eq", f"stock {b} to {p}, {region}"))
        for region in areas:
            links.append(
                Link(
                    (
                        ((p, "declined", (region,)), 1),
                        ((p, "outflow_by_reason", (region, ClosureReason.NOT_ELIGIBLE.value)), -1),
                    ),
                    "le",
                    f"declined within not_eligible, {p}, {region}",
                )
            )
        if period.kind is PeriodType.HALF_YEAR:
            months = [str(m) for m in period.months()]
            if not all(Period.parse(m) in periods for m in months):
                continue
            for name in FLOW_TABLES:
                for coords in table_shapes[name].cells():
                    flow_terms: list[tuple[CellKey, int]] = [((p, name, coords), 1)]
                    flow_terms += [((m, name, coords), -1) for m in months]
                    links.append(Link(tuple(flow_terms), "eq", f"{p} sums its months"))
            for name in STOCK_TABLES:
                for coords in table_shapes[name].cells():
                    links.append(
                        Link(
                            (((p, name, coords), 1), ((months[-1], name, coords), -1)),
                            "eq",
                            f"{p} ends with {months[-1]}",
                        )
                    )
    return links


def context_periods(period: Period, half_released: bool) -> list[Period]:
    """The periods whose releases take part in ``period``'s protection and audit.

    The same-type periods before and after it (stock and flows link them). For a half year,
    its six months (it is their sum). For a month whose half year is released, that half
    year and its other months (the half year minus the other months gives this one).
    """
    neighbours = [period.previous(), period.next()]
    if period.kind is PeriodType.HALF_YEAR:
        return neighbours + period.months()
    if half_released:
        half = period.half_year()
        neighbours += [half, *(m for m in half.months() if m != period)]
    return neighbours
