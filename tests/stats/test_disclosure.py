"""Disclosure control on plain tables: suppression, rounding and the audit, as properties."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from mda.stats import disclosure
from mda.stats.disclosure import (
    TOTAL,
    DisclosureRefused,
    DisclosureSettings,
    Link,
    Node,
    TableShape,
    audit,
    derivable,
    protect,
    published_interval,
    round_count,
)
from mda.stats.linking import build_links
from mda.stats.tables import COUNT_TABLES, FLOW_TABLES, shapes

SETTINGS = DisclosureSettings()
REGIONS = ("AAA", "BBB", "CCC")
FAST = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def small_or_large(rng: random.Random) -> int:
    return rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 10, 12, 15, 25, 40, 80])


def check_published(node: Node, published, settings=SETTINGS) -> None:
    for name, cells in published.items():
        for coords, value in cells.items():
            if value is None:
                continue
            assert value == 0 or value >= settings.threshold, (name, coords, value)
            assert value % settings.rounding_base == 0, (name, coords, value)
            true = node.truth[name][coords]
            low, high = published_interval(value, settings)
            assert low <= true <= high, (name, coords, true, value)


def check_ranges(ranges, settings=SETTINGS) -> None:
    for key, (low, high) in ranges.items():
        assert high is None or high - low >= settings.protection_level, (key, low, high)


def test_rounding_and_what_a_published_value_tells():
    assert [round_count(v, 5) for v in (0, 2, 3, 10, 12, 13, 17, 18)] == [
        0,
        0,
        5,
        10,
        10,
        15,
        15,
        20,
    ]
    assert published_interval(10, SETTINGS) == (10, 12)  # 8 and 9 would have been suppressed
    assert published_interval(15, SETTINGS) == (13, 17)
    assert published_interval(0, SETTINGS) == (0, 0)
    assert published_interval(None, SETTINGS) == (0, None)


def test_the_audit_catches_a_cell_recoverable_from_its_total():
    """One suppressed cell in a row with a published total: the attacker narrows it to the
    rounding's slack, narrower than the threshold."""
    shape = TableShape("t", ("region", "x"), (("A", "B"), ("p", "q")), (True, True))
    truth = shape.complete({("A", "p"): 3, ("A", "q"): 40, ("B", "p"): 30, ("B", "q"): 40})
    published = {
        "t": {c: (None if c == ("A", "p") else round_count(v, 5)) for c, v in truth.items()}
    }
    ranges = audit([Node("2026-10", {"t": shape}, {"t": truth}, [published])], [], SETTINGS)
    low, high = ranges[("2026-10", "t", ("A", "p"))]
    assert low <= 3 <= high and high - low < SETTINGS.threshold


def test_a_zero_cell_is_never_the_only_complement():
    shape = TableShape("t", ("region", "x"), (("A", "B"), ("p", "q", "r")), (True, True))
    inner = {
        ("A", "p"): 3,
        ("A", "q"): 0,
        ("A", "r"): 30,
        ("B", "p"): 20,
        ("B", "q"): 0,
        ("B", "r"): 25,
    }
    node = Node("2026-10", {"t": shape}, {"t": shape.complete(inner)})
    result = protect(node, [], [], SETTINGS)
    row = [c for (name, c) in result.suppressed if c[0] == "A" and c != ("A", "p")]
    assert row and row != [("A", "q")]
    check_ranges(result.ranges)


@FAST
@given(seed=st.integers(0, 10**9), categories=st.integers(2, 5), regions=st.integers(2, 5))
def test_random_tables_are_protected(seed, categories, regions):
    rng = random.Random(seed)
    region_codes = tuple(f"R{n}" for n in range(regions))
    cats = tuple(f"c{n}" for n in range(categories))
    shape = TableShape("t", ("region", "x"), (region_codes, cats), (True, True))
    truth = {"t": shape.complete({(r, c): small_or_large(rng) for r in region_codes for c in cats})}
    node = Node("2026-10", {"t": shape}, truth)
    result = protect(node, [], [], SETTINGS)
    check_published(node, result.published)
    for coords, value in truth["t"].items():
        if 0 < value < SETTINGS.threshold:
            assert result.published["t"][coords] is None
    check_ranges(result.ranges)
    # Every suppressed cell was audited, and its true value lies in its range.
    suppressed = {c for c, v in result.published["t"].items() if v is None}
    assert {key[2] for key in result.ranges} == suppressed
    for key, (low, high) in result.ranges.items():
        assert low <= truth["t"][key[2]] and (high is None or truth["t"][key[2]] <= high)
    # An audit of its own, with the exact extremes, agrees: no cell is too narrow (protect
    # reuses ranges from its earlier audits, where fewer cells were suppressed).
    released = Node("2026-10", {"t": shape}, truth, [result.published])
    check_ranges(audit([released], [], SETTINGS, exact=True))
    # The same data gives the same release.
    again = protect(Node("2026-10", {"t": shape}, truth), [], [], SETTINGS)
    assert again.published == result.published and again.suppressed == result.suppressed


def consecutive_months(rng: random.Random) -> tuple[dict, dict]:
    """Two months of every release table, consistent: stock = stock + inflow - outflow + re."""
    months = month_series(rng, 3)
    return months[1], months[2]


def month_series(rng: random.Random, count: int) -> list[dict]:
    """``count`` consecutive months of every release table, linked as
    :func:`consecutive_months` says."""
    table_shapes = shapes(REGIONS)
    months = []
    stock = {r: [small_or_large(rng) for _ in range(7)] for r in REGIONS}
    for _month in range(count):
        inner: dict[str, dict] = {t.name: {} for t in COUNT_TABLES}
        for r in REGIONS:
            before = sum(stock[r])
            inflow = [small_or_large(rng) // 2 for _ in range(8)]
            reentries = rng.choice([0, 0, 1, 2, 12])
            available = before + sum(inflow) + reentries
            outflow = [min(small_or_large(rng) // 2, available) for _ in range(6)]
            while sum(outflow) > available:
                k = max(range(6), key=lambda n: outflow[n])
                outflow[k] -= 1
            after = available - sum(outflow)
            split = sorted(rng.randint(0, after) for _ in range(6))
            stock[r] = [b - a for a, b in zip([0, *split], [*split, after], strict=True)]
            for n, v in enumerate(inflow):
                inner["inflow_by_source"][
                    (r, table_shapes["inflow_by_source"].categories[1][n])
                ] = v
            for n, v in enumerate(outflow):
                inner["outflow_by_reason"][
                    (r, table_shapes["outflow_by_reason"].categories[1][n])
                ] = v
            for n, v in enumerate(stock[r]):
                inner["active_by_state"][(r, table_shapes["active_by_state"].categories[1][n])] = v
            inner["reentries"][(r,)] = reentries
            inner["declined"][(r,)] = min(rng.choice([0, 2, 11]), outflow[2])  # not_eligible
            inner["accepted"][(r,)] = small_or_large(rng)
            inner["relapses"][(r,)] = small_or_large(rng)
            for m in ("1", "2", "3"):
                for level in ("none", "moderate", "severe"):
                    inner["outcome_by_measurement"][(r, m, level)] = small_or_large(rng) // 3
            inner["deadlines_by_outcome"][(r, "on_time")] = small_or_large(rng)
            inner["deadlines_by_outcome"][(r, "late")] = small_or_large(rng)
        months.append({name: table_shapes[name].complete(cells) for name, cells in inner.items()})
    return months


@settings(FAST, max_examples=6)
@given(seed=st.integers(0, 10**9))
def test_two_consecutive_months_are_protected_together(seed):
    """October is released first; November is protected against October's release, and the
    joint audit (stock = stock + inflow - outflow + re-entries) finds no narrow range."""
    rng = random.Random(seed)
    october_truth, november_truth = consecutive_months(rng)
    table_shapes = shapes(REGIONS)
    october = Node("2026-10", table_shapes, october_truth)
    links = build_links(["2026-10", "2026-11"], REGIONS)
    first = protect(october, [], build_links(["2026-10"], REGIONS), SETTINGS)
    released = Node("2026-10", table_shapes, october_truth, [first.published])
    november = Node("2026-11", table_shapes, november_truth)
    second = protect(november, [released], links, SETTINGS)
    check_published(november, second.published)
    joint = audit(
        [released, Node("2026-11", table_shapes, november_truth, [second.published])],
        links,
        SETTINGS,
    )
    check_ranges(joint)
    assert any(key[0] == "2026-10" for key in joint) or not any(
        v is None for cells in first.published.values() for v in cells.values()
    )


def test_a_release_that_cannot_be_protected_is_refused():
    """A neighbour that published everything around a cell leaves nothing to hide it with."""
    shape = TableShape("t", ("region", "x"), (("A", "B"), ("p", "q")), (True, True))
    truth = shape.complete({("A", "p"): 3, ("A", "q"): 40, ("B", "p"): 30, ("B", "q"): 40})
    # An earlier version published every cell but ("A", "p") (as if made under other rules).
    earlier = {"t": {c: (None if c == ("A", "p") else round_count(v, 5)) for c, v in truth.items()}}
    node = Node("2026-10", {"t": shape}, {"t": truth}, [earlier])
    with pytest.raises(DisclosureRefused) as refused:
        protect(node, [], [], SETTINGS)
    assert refused.value.failures[0][0] == ("2026-10", "t", ("A", "p"))
    # The earlier version alone pins it down: the refusal says no pattern here can help.
    assert refused.value.already == [("2026-10", "t", ("A", "p"))]
    assert "already are by the earlier releases alone (periods 2026-10)" in str(refused.value)


def test_a_month_after_its_half_year_pinned_by_the_half_year_is_refused_and_says_why():
    """A new version of a month whose half year and other months are published: a cell that
    changed a little is pinned by the half year minus the other months (their intervals still
    hold for the current data). That is already disclosed by the earlier releases; the audit
    refuses, and says so (no suppression in this month can change it)."""
    shape = TableShape("t", ("region", "x"), (("A", "B"), ("p", "q")), (False, False))
    months = [f"2026-{m:02d}" for m in range(7, 13)]
    links = [
        Link(
            ((("2026-H2", "t", c), 1), *(((m, "t", c), -1) for m in months)),
            "eq",
            "half sums months",
        )
        for c in shape.cells()
    ]

    # (A, p): 10 in October, 10 in November (published 10: [10, 12]), 0 elsewhere; the half
    # year published 20 ([18, 22]). October's count is then corrected to 9.
    def truth(month: str, a_p: int) -> dict:
        return {"t": {("A", "p"): a_p, ("A", "q"): 40, ("B", "p"): 40, ("B", "q"): 40}}

    values = {m: (10 if m in ("2026-10", "2026-11") else 0) for m in months}
    context = []
    for m in months:
        if m == "2026-10":
            continue
        t = truth(m, values[m])
        published = {"t": {c: round_count(v, 5) for c, v in t["t"].items()}}
        context.append(Node(m, {"t": shape}, t, [published]))
    half_truth = {"t": {("A", "p"): 19, ("A", "q"): 240, ("B", "p"): 240, ("B", "q"): 240}}
    half_published = {"t": {("A", "p"): 20, ("A", "q"): 240, ("B", "p"): 240, ("B", "q"): 240}}
    context.append(Node("2026-H2", {"t": shape}, half_truth, [half_published]))
    v1 = {"t": {("A", "p"): 10, ("A", "q"): 40, ("B", "p"): 40, ("B", "q"): 40}}
    october = Node("2026-10", {"t": shape}, truth("2026-10", 9), [v1])
    with pytest.raises(DisclosureRefused) as refused:
        protect(october, context, links, SETTINGS)
    assert refused.value.already == [("2026-10", "t", ("A", "p"))]


def test_national_margin_is_exact_sum_before_rounding():
    shape = TableShape("t", ("region", "x"), (("A", "B"), ("p",)), (True, False))
    complete = shape.complete({("A", "p"): 12, ("B", "p"): 12})
    assert complete[(TOTAL, "p")] == 24
    assert round_count(24, 5) == 25 and round_count(12, 5) * 2 == 20


def half_year_truths(rng: random.Random) -> dict[str, dict]:
    """The six months of 2026-H2 and the half year itself (flows summed, stock at the end)."""
    months = month_series(rng, 7)[1:]
    labels = [f"2026-{m:02d}" for m in range(7, 13)]
    half = {
        name: {
            coords: sum(month[name][coords] for month in months)
            if name in FLOW_TABLES
            else months[-1][name][coords]
            for coords in months[-1][name]
        }
        for name in months[-1]
    }
    return {**dict(zip(labels, months, strict=True)), "2026-H2": half}


def random_release(
    truths: dict[str, dict], share: float, rng: random.Random
) -> tuple[list[Node], list[Link]]:
    """Every node's small cells and a random share of the others suppressed, the rest
    published (rounded), with the links between the nodes."""
    table_shapes = shapes(REGIONS)

    def pattern(truth: dict) -> dict:
        return {
            name: {
                coords: None
                if 0 < value < SETTINGS.threshold or rng.random() < share
                else round_count(value, SETTINGS.rounding_base)
                for coords, value in cells.items()
            }
            for name, cells in truth.items()
        }

    nodes = [Node(label, table_shapes, truth, [pattern(truth)]) for label, truth in truths.items()]
    return nodes, build_links(list(truths), REGIONS)


def check_decisions(
    truths: dict[str, dict], share: float, rng: random.Random, sample: int | None = None
) -> set[bool]:
    """Suppress a random share of every node's cells (and its small ones), publish the rest,
    and compare the audit's decisions with the exact extremes; the verdicts seen.

    ``sample``: compare every failing cell but only that many passing ones (a pass is shown
    by two whole-number solutions the audit checks itself; a fail rests on the solver)."""
    nodes, links = random_release(truths, share, rng)
    decided = audit(nodes, links, SETTINGS)
    level = SETTINGS.protection_level
    if sample is None:
        exact = audit(nodes, links, SETTINGS, exact=True)
        assert decided.keys() == exact.keys() and exact
    else:
        failing = [k for k, (lo, hi) in decided.items() if hi is not None and hi - lo < level]
        passing = sorted(set(decided) - set(failing))
        chosen = failing + rng.sample(passing, min(sample, len(passing)))
        exact = derivable(nodes, links, SETTINGS, chosen)
    verdicts = set()
    for key, (low, high) in exact.items():
        d_low, d_high = decided[key]
        passes = high is None or high - low >= level
        verdicts.add(passes)
        assert (d_high is None or d_high - d_low >= level) == passes, (
            key,
            exact[key],
            decided[key],
        )
        if high is None:
            assert d_high is None and low <= d_low
        elif passes:
            assert low <= d_low <= d_high <= high, (key, exact[key], decided[key])
        else:
            assert d_low <= low <= high <= d_high, (key, exact[key], decided[key])
    return verdicts


@settings(FAST, max_examples=10)
@given(seed=st.integers(0, 10**9), share=st.sampled_from([0.15, 0.3, 0.5]))
def test_the_audit_decides_as_the_exact_extremes_do(seed, share):
    """Releases audit by deciding (two whole-number solutions far enough apart pass a cell; a
    bound or an infeasible program fails it) instead of computing every extreme. On random
    pairs of months and random suppression patterns, protected or not, both modes pass and
    fail the same cells; a passing range lies within the exact one, a failing bound holds
    it."""
    rng = random.Random(seed)
    october, november = consecutive_months(rng)
    verdicts = check_decisions({"2026-10": october, "2026-11": november}, share, rng)
    assert verdicts == {True, False}  # both verdicts (else the comparison proves little)


def test_the_audit_decides_a_half_year_as_the_exact_extremes_do(monkeypatch):
    """As above, on a half year with its six months: fractional linear optima, so the
    whole-number solutions come from moves (whole ones, and the small integer programs around
    fractional ones) and the feasibility questions are asked."""
    calls: list[bool] = []
    found_by: list[str] = []
    feasible, within = disclosure._Extremes.feasible, disclosure._Extremes._within

    def count_feasible(self, k, lower, upper):
        before = (self.neighbourhood_solves, self.feasibility_solves)
        found = feasible(self, k, lower, upper)
        calls.append(found is not None)
        if found is not None and (self.neighbourhood_solves, self.feasibility_solves) == before:
            found_by.append("move")
        return found

    def count_within(self, *args):
        found = within(self, *args)
        if found is not None:
            found_by.append("neighbourhood")
        return found

    monkeypatch.setattr(disclosure._Extremes, "feasible", count_feasible)
    monkeypatch.setattr(disclosure._Extremes, "_within", count_within)
    rng = random.Random(3)
    assert check_decisions(half_year_truths(rng), 0.15, rng, sample=25) == {True, False}
    assert set(calls) == {True, False}, "no feasibility question found, or refused, a solution"
    assert {"move", "neighbourhood"} <= set(found_by), found_by


def two_way_table(truth: list[list[int]]) -> disclosure._Reduced:
    """A component of inner cells whose row and column totals are known exactly."""
    rows, columns = len(truth), len(truth[0])
    eq = np.zeros((rows + columns, rows * columns))
    for i in range(rows):
        for j in range(columns):
            eq[i, i * columns + j] = eq[rows + j, i * columns + j] = 1
    values = np.array(truth, dtype=float).ravel()
    n = rows * columns
    return disclosure._Reduced(
        sparse.csr_array(eq),
        sparse.csr_array((0, n)),
        eq @ values,
        np.zeros(0),
        np.zeros(n),
        np.full(n, np.inf),
        {g: g for g in range(n)},
    )


def test_the_smallest_move_gives_a_whole_solution_near_a_known_one():
    """To show that cell (0, 0) can be 2 more with every total kept, the audit moves the known
    solution along the cheapest cycle: (0, 0) and a cell across from it up by 2, one in its
    row and one in its column down by 2. No integer program over the component runs."""
    truth = [[3, 5, 0], [4, 6, 1], [0, 2, 7]]
    r = two_way_table(truth)
    model = disclosure._Extremes(r)
    model.pool = disclosure._Pool(r)
    start = np.array(truth, dtype=float).ravel()
    assert model.pool.offer(start)
    x = model.feasible(0, 5, np.inf)
    assert x is not None and x[0] >= 5
    assert (model.move_solves, model.neighbourhood_solves, model.feasibility_solves) == (1, 0, 0)
    assert np.array_equal(r.eq @ x, r.b_eq) and np.all(x >= 0) and np.all(x == np.round(x))
    assert np.abs(x - start).sum() == 8  # four cells by 2: the smallest move there is
    # The solution joined the pool, which now spans 3..5 in that cell.
    assert (model.pool.least[0], model.pool.most[0]) == (3, 5)


def test_where_no_move_exists_the_whole_program_refuses():
    """Row 0 totals 0, so cell (0, 1) cannot be 1 in any solution: the move's linear program
    finds no move, and the integer program over the component refuses (no refusal rests on
    the moves alone)."""
    truth = [[0, 0], [3, 4]]
    r = two_way_table(truth)
    model = disclosure._Extremes(r)
    model.pool = disclosure._Pool(r)
    assert model.pool.offer(np.array(truth, dtype=float).ravel())
    assert model.near(1, 1, np.inf) is None
    assert model.feasible(1, 1, np.inf) is None
    assert (model.move_solves, model.feasibility_solves) == (2, 1)
    # Within what it is, it is found (the known solution itself).
    assert model.feasible(1, -np.inf, 0) is not None


def test_the_pool_keeps_only_solutions_that_hold_an_extreme(monkeypatch):
    """The pool keeps the solutions that hold some cell's least or greatest value (the
    starting points of moves) and lets the others go once it holds more than a few."""
    monkeypatch.setattr(disclosure, "_KEPT_POINTS", 2)
    r = two_way_table([[2, 2], [2, 2]])
    pool = disclosure._Pool(r)
    for shift in (0, 1, 2, -1, -2):
        assert pool.offer(np.array([2 + shift, 2 - shift, 2 - shift, 2 + shift], dtype=float))
    assert not pool.offer(np.array([2.5, 1.5, 1.5, 2.5]))  # not whole
    assert not pool.offer(np.array([3, 2, 2, 2], dtype=float))  # breaks a total
    assert list(pool.least) == [0, 0, 0, 0] and list(pool.most) == [4, 4, 4, 4]
    held = {tuple(point) for point in pool.points.values()}
    assert held == {(4, 0, 0, 4), (0, 4, 4, 0)}
    assert tuple(pool.nearest(0, 3, np.inf)) == (4, 0, 0, 4)
    assert tuple(pool.nearest(0, -np.inf, 1)) == (0, 4, 4, 0)


def test_the_quick_audit_settles_by_moves_what_it_can(monkeypatch):
    """The first, quick audit of a release (before any complement is chosen) runs no integer
    program over a whole component; the cells it cannot settle get complements as if they
    failed. Moves from known solutions (and the small programs around fractional ones) settle
    most of them there, so far fewer cells are suppressed only to be safe; every cell they
    pass passes the full audit too."""
    rng = random.Random(5)
    nodes, links = random_release(half_year_truths(rng), 0.15, rng)

    def whole_program(self, *args):
        raise AssertionError("an integer program over a whole component in the quick audit")

    with monkeypatch.context() as patch:
        patch.setattr(disclosure._Extremes, "feasible", whole_program)
        patch.setattr(disclosure._Extremes, "extreme", whole_program)
        quick, unsettled = disclosure._audit(nodes, links, SETTINGS, quick=True)
    with monkeypatch.context() as patch:
        patch.setattr(disclosure._Extremes, "near", lambda self, k, lower, upper: None)
        _ranges, without_moves = disclosure._audit(nodes, links, SETTINGS, quick=True)
    assert unsettled < without_moves, (len(unsettled), len(without_moves))
    assert len(unsettled) <= len(without_moves) // 2, (len(unsettled), len(without_moves))
    full = audit(nodes, links, SETTINGS)
    level = SETTINGS.protection_level
    settled_by_moves = 0
    for key in without_moves - unsettled:
        low, high = quick[key]
        if high is None or high - low >= level:
            settled_by_moves += 1
            assert full[key][1] is None or full[key][1] - full[key][0] >= level, key
    assert settled_by_moves
