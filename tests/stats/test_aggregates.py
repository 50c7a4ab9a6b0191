"""A synthetic cohort with known answers gives exactly those figures, on both backends."""

from __future__ import annotations

import pytest

from mda.stats import aggregates
from mda.stats.disclosure import TOTAL
from mda.stats.periods import Period
from tests.stats import cohort


@pytest.fixture
def figures(session):
    cohort.build(session)
    return aggregates.compute(session, Period.parse("2026-10"))


def test_every_count_table_is_exact(figures):
    for name, expected in cohort.OCTOBER.items():
        found = {coords: n for coords, n in figures.counts[name].items() if n}
        assert found == expected, name


def test_lead_time_quartiles_are_exact(figures):
    assert set(figures.lead_times) == set(cohort.OCTOBER_LEAD_TIMES)
    for key, (n, *quartiles) in cohort.OCTOBER_LEAD_TIMES.items():
        found_n, *found = figures.lead_times[key]
        assert found_n == n, key
        assert found == pytest.approx(quartiles, abs=1e-6), key


def test_national_margins_are_the_sums_of_the_regions(figures):
    complete = figures.complete()
    assert complete["active_by_state"][(TOTAL, TOTAL)] == 4
    assert complete["active_by_state"][(TOTAL, "immediate_safety")] == 2
    assert complete["inflow_by_source"][("UTR", TOTAL)] == 2
    assert complete["outcome_by_measurement"][(TOTAL, "2", TOTAL)] == 1
    assert complete["deadlines_by_outcome"][(TOTAL, TOTAL)] == 3
    assert complete["reentries"][(TOTAL,)] == 1


def test_stock_and_flows_add_up_between_months(session):
    """Active at the end of October = end of September + inflow - outflow + re-entries."""
    cohort.build(session)
    september = aggregates.compute(session, Period.parse("2026-09"), lead_times=False)
    october = aggregates.compute(session, Period.parse("2026-10"), lead_times=False)
    found = {c: n for c, n in september.counts["active_by_state"].items() if n}
    assert found == cohort.SEPTEMBER_ACTIVE
    before, after = september.complete(), october.complete()
    for region in [*october.regions, TOTAL]:
        assert after["active_by_state"][(region, TOTAL)] == (
            before["active_by_state"][(region, TOTAL)]
            + after["inflow_by_source"][(region, TOTAL)]
            - after["outflow_by_reason"][(region, TOTAL)]
            + after["reentries"][(region,)]
        ), region


def test_november_gets_what_crossed_the_boundary(session):
    cohort.build(session)
    november = aggregates.compute(session, Period.parse("2026-11"), lead_times=False)
    assert {c: n for c, n in november.counts["outflow_by_reason"].items() if n} == {
        ("AMA", "household_withdrew"): 1
    }
    assert {c: n for c, n in november.counts["outcome_by_measurement"].items() if n} == {
        ("AMA", "1", "moderate"): 1
    }


def test_a_half_year_is_its_months(session):
    cohort.build(session)
    half = aggregates.compute(session, Period.parse("2026-H2"), lead_times=False).complete()
    months = [
        aggregates.compute(session, m, lead_times=False).complete()
        for m in Period.parse("2026-H2").months()
    ]
    for name in ("inflow_by_source", "outflow_by_reason", "outcome_by_measurement"):
        for coords, value in half[name].items():
            assert value == sum(m[name][coords] for m in months), (name, coords)
    assert half["active_by_state"] == months[-1]["active_by_state"]
