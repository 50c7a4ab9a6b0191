"""Disclosure control for count tables: suppression, rounding, and an audit you can check.

No database and no Flask here: plain tables in, a protected pattern and an audit out.

The model. Every count cell of every period that takes part (the release being made, the
neighbouring periods, earlier versions) is one unknown of a linear system the attacker knows:
each total is the sum of the cells it totals (before rounding), and :class:`Link` rows add what
else is known between tables and periods (stock at the end = stock at the start + inflow -
outflow + re-entries; a half year is the sum of its months). A published cell adds its
rounding interval (``round_count`` rounds half up to the base, and a published count is 0 or at
least the threshold, since 1 to threshold-1 are always suppressed); a suppressed cell adds only
that it is not negative.

1. **Primary suppression**: counts 1 to threshold-1.
2. **Secondary suppression** (:func:`protect`), a greedy LP heuristic in the manner of
   Fischetti-Salazar: for each suppressed cell the audit finds too narrow, in a fixed order,
   find the cheapest way to move it up (and down) by the protection level while every known
   relation still holds and no published cell moves; cells the move needs are suppressed as
   complements. A cell the audit passes needs none: suppressing more never narrows a range.
   The cost favours small non-zero inner cells; a zero cell cannot absorb a move down, so it
   never serves as the only complement. Cells published by other releases can never move.
3. **Rounding** of the published counts (:func:`round_count`), after suppression on the exact
   table.
4. **Audit** (:func:`audit`): for every suppressed cell in the whole system, whether its true
   value can range over at least the protection level among all non-negative integer solutions
   consistent with everything published. A range narrower refuses the release. It is decided
   exactly, by linear programming (HiGHS) and, where the linear bounds do not settle it, by
   integer programs (:func:`_settle`); ``exact=True`` computes each extreme instead.

Speed without a weaker audit. The system falls apart into components (cells linked by some
relation); each is one HiGHS model (highspy), built once, and each extreme only changes its
objective, so it starts from the previous optimum (primal simplex; the moves of step 2 change
bounds and use the dual). The audit needs two whole-number solutions far enough apart to pass a
cell, and every whole-number solution found (the current data is one; so is every linear
optimum that happens to be whole) serves every cell of its component: most cells pass on
those alone. The question "is there a solution with this cell at least (at most) that?" is
first put to the known solutions: the smallest move from the nearest one (a linear program,
:class:`_Moves`) is nearly always whole, and where it is not, an integer program over the
cells it touches and their neighbours usually finds one. Only when neither does, an integer
program over the whole component decides, stopping at its first solution; no cell fails on
anything less. The quick audit before secondary suppression asks the moves too, so cells
that pass get no complements. A release audits the components its own cells are in:
the others hold earlier releases only, as they were audited when made. The verdicts are
exact; a test compares them with the exact extremes on random tables.

A new version of a month after its half year is released can be refused, rightly: where the
month's data changed a little, a cell may be pinned down by the half year minus the other
months (their published intervals still hold for the current data), whatever the month itself
publishes. The earlier releases disclose it already; no suppression in this release can take
that back. :class:`DisclosureRefused` lists those cells in ``already`` and says so, and
``mda stats release`` repeats it. (Not refusing such a version would publish nothing new
about those cells; whether to allow that is a policy decision, left open.)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import highspy
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

TOTAL = "_total"
METHOD = "greedy-lp-v1"

Coords = tuple[str, ...]
#: A cell of the system: (period label, table name, coordinates in dimension order).
CellKey = tuple[str, str, Coords]


@dataclass(frozen=True)
class DisclosureSettings:
    """Threshold (counts 1..threshold-1 are suppressed), rounding base, protection level.

    ``protection`` is the width an attacker's range for a suppressed cell must at least have;
    None means the threshold.
    """

    threshold: int = 10
    rounding_base: int = 5
    protection: int | None = None

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.rounding_base < 1:
            raise ValueError("the threshold and the rounding base are at least 1")
        if self.protection is not None and self.protection < 1:
            raise ValueError("the protection level is at least 1")

    @property
    def protection_level(self) -> int:
        return self.threshold if self.protection is None else self.protection

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DisclosureSettings:
        """``DISCLOSURE_THRESHOLD``, ``DISCLOSURE_ROUNDING_BASE``, ``DISCLOSURE_PROTECTION``.

        ``DISCLOSURE_PROTECTION`` unset or 0: the threshold.
        """
        raw = config.get("DISCLOSURE_PROTECTION")
        protection = int(raw) if raw not in (None, "", 0, "0") else None
        return cls(
            threshold=int(config.get("DISCLOSURE_THRESHOLD", 10)),
            rounding_base=int(config.get("DISCLOSURE_ROUNDING_BASE", 5)),
            protection=protection,
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "rounding_base": self.rounding_base,
            "protection": self.protection_level,
            "method": METHOD,
        }


class DisclosureRefused(Exception):
    """The audit found suppressed cells an attacker can narrow down too far.

    ``failures``: each cell with its range. ``already``: those of them that the earlier
    releases alone (without this one) already narrow down too far, so that no pattern of
    this release can protect them: typically a new version of a month whose half year and
    other months are published, when its data changed.
    """

    def __init__(
        self,
        failures: Sequence[tuple[CellKey, int, int | None]],
        already: Iterable[CellKey] = (),
    ) -> None:
        self.failures = list(failures)
        self.already = sorted(set(already))
        message = f"{len(self.failures)} suppressed cell(s) could be narrowed down too far"
        if self.already:
            labels = sorted({key[0] for key in self.already})
            message += (
                f"; {len(self.already)} of them already are by the earlier releases alone "
                f"(periods {', '.join(labels)}), which no pattern of this release can change"
            )
        super().__init__(message)


# --- tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    """A count table's dimensions, their categories, and which have a ``_total`` margin."""

    name: str
    dimensions: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    margins: tuple[bool, ...]

    def values_of(self, axis: int) -> tuple[str, ...]:
        cats = self.categories[axis]
        return (*cats, TOTAL) if self.margins[axis] else cats

    def cells(self) -> list[Coords]:
        """Every cell, margins included, in a fixed order."""
        return list(itertools.product(*(self.values_of(a) for a in range(len(self.dimensions)))))

    def sums(self) -> list[tuple[Coords, list[Coords]]]:
        """Each margin cell with the cells it is the sum of (one dimension at a time)."""
        rows = []
        for axis, has_margin in enumerate(self.margins):
            if not has_margin:
                continue
            others = [
                self.values_of(a) if a != axis else (TOTAL,) for a in range(len(self.dimensions))
            ]
            for total in itertools.product(*others):
                parts = [
                    (*total[:axis], category, *total[axis + 1 :])
                    for category in self.categories[axis]
                ]
                rows.append((total, parts))
        return rows

    def complete(self, inner: Mapping[Coords, int]) -> dict[Coords, int]:
        """All cells from the inner ones (absent: 0), each margin the exact sum."""
        values: dict[Coords, int] = {}
        for coords in self.cells():
            ranges = [
                self.categories[a] if value == TOTAL else (value,) for a, value in enumerate(coords)
            ]
            values[coords] = sum(int(inner.get(c, 0)) for c in itertools.product(*ranges))
        return values


@dataclass(frozen=True)
class Link:
    """A relation between cells an attacker knows: ``sum(coef * x) == 0`` (or ``<= 0``)."""

    terms: tuple[tuple[CellKey, int], ...]
    sense: Literal["eq", "le"] = "eq"
    why: str = ""


@dataclass
class Node:
    """One period in the system: its tables' shapes, the current data and what is published.

    ``truth`` is the current data's exact counts (None where not computed); ``published``
    holds the releases of this period already made (oldest first), each a mapping of table name
    to cell to published value (None: suppressed). For the period being released, the earlier
    versions are used where they agree with the current data (an attacker may assume nothing
    changed).
    """

    label: str
    shapes: dict[str, TableShape]
    truth: dict[str, dict[Coords, int]] | None = None
    published: list[dict[str, dict[Coords, int | None]]] = field(default_factory=list)


def round_count(value: int, base: int) -> int:
    """Round half up to a multiple of ``base``."""
    return (2 * value + base) // (2 * base) * base


def published_interval(value: int | None, settings: DisclosureSettings) -> tuple[int, int | None]:
    """What a published (rounded) value tells about the true count: ``[low, high]``."""
    if value is None:
        return 0, None
    base, threshold = settings.rounding_base, settings.threshold
    if value == 0:
        return 0, (0 if base // 2 < threshold else base // 2)
    return max(threshold, value - base // 2), value + (base - 1) // 2


def primary_cells(values: Mapping[Coords, int], settings: DisclosureSettings) -> set[Coords]:
    """Counts from 1 to threshold-1."""
    return {c for c, v in values.items() if 0 < v < settings.threshold}


# --- the system -------------------------------------------------------------------------


class System:
    """The unknowns (every cell of every node) and the linear relations between them."""

    def __init__(self, nodes: Sequence[Node], links: Iterable[Link] = ()) -> None:
        self.nodes = {node.label: node for node in nodes}
        self.keys: list[CellKey] = [
            (node.label, name, coords)
            for node in nodes
            for name in sorted(node.shapes)
            for coords in node.shapes[name].cells()
        ]
        self.index = {key: i for i, key in enumerate(self.keys)}
        eq: list[dict[int, int]] = []
        le: list[dict[int, int]] = []
        for node in nodes:
            for name in sorted(node.shapes):
                for total, parts in node.shapes[name].sums():
                    row = {self.index[(node.label, name, total)]: 1}
                    for part in parts:
                        row[self.index[(node.label, name, part)]] = -1
                    eq.append(row)
        for link in links:
            if not all(key in self.index for key, _ in link.terms):
                continue  # a relation with a period outside the system tells nothing here
            row = {}
            for key, coef in link.terms:
                i = self.index[key]
                row[i] = row.get(i, 0) + coef
            (eq if link.sense == "eq" else le).append(row)
        self.eq_rows = eq
        self.le_rows = le
        self.components = self._components()
        self.where = {g: k for k, comp in enumerate(self.components) for g in comp}
        self._full: tuple[Any, Any] | None = None
        self._cache: dict[int, tuple[Any, Any]] = {}
        self.local = {g: j for comp in self.components for j, g in enumerate(comp)}

    def _components(self) -> list[list[int]]:
        """Groups of unknowns linked by some relation; each can be solved on its own."""
        parent = list(range(len(self.keys)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for row in self.eq_rows + self.le_rows:
            members = list(row)
            for other in members[1:]:
                a, b = find(members[0]), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        groups: dict[int, list[int]] = {}
        for i in range(len(self.keys)):
            groups.setdefault(find(i), []).append(i)
        return [sorted(g) for g in sorted(groups.values(), key=lambda g: g[0])]

    def component_cache(self, k: int) -> tuple[Any, Any]:
        """:meth:`matrices` of component ``k``, built once."""
        if k not in self._cache:
            self._cache[k] = self.matrices(self.components[k])
        return self._cache[k]

    def full_matrices(self) -> tuple[Any, Any]:
        """The equality and inequality matrices over every unknown (block diagonal by
        component)."""
        if self._full is None:
            self._full = self.matrices(list(range(len(self.keys))))
        return self._full

    def matrices(self, component: list[int]) -> tuple[Any, Any]:
        """The equality and inequality matrices restricted to ``component`` (local columns)."""
        local = {g: i for i, g in enumerate(component)}
        members = set(component)

        def build(rows: list[dict[int, int]]) -> Any:
            picked = (
                rows
                if len(members) == len(self.keys)
                else [r for r in rows if next(iter(r)) in members]
            )
            data, ri, ci = [], [], []
            for n, row in enumerate(picked):
                for col, coef in row.items():
                    if coef:
                        data.append(coef)
                        ri.append(n)
                        ci.append(local[col])
            return sparse.csr_array(
                (np.array(data, dtype=float), (ri, ci)), shape=(len(picked), len(component))
            )

        return build(self.eq_rows), build(self.le_rows)

    def truth_vector(self) -> np.ndarray:
        """The current data's counts, NaN where unknown."""
        out = np.full(len(self.keys), np.nan)
        for i, (label, name, coords) in enumerate(self.keys):
            truth = self.nodes[label].truth
            if truth is not None and name in truth:
                out[i] = truth[name].get(coords, 0)
        return out


# --- secondary suppression --------------------------------------------------------------


@dataclass
class Protection:
    """The current period's suppressed cells (with why) and what the audit found."""

    suppressed: dict[tuple[str, Coords], str]
    published: dict[str, dict[Coords, int | None]]
    ranges: dict[CellKey, tuple[int, int | None]]
    lp_solves: int = 0


def _intersect(a: tuple[int, int | None], b: tuple[int, int | None]) -> tuple[int, int | None]:
    highs = [h for h in (a[1], b[1]) if h is not None]
    return max(a[0], b[0]), (min(highs) if highs else None)


def _known_values(
    node: Node, settings: DisclosureSettings
) -> dict[tuple[str, Coords], tuple[int, int | None]]:
    """The intervals the node's releases give.

    A node with current data (``truth``): every version whose interval still holds the
    current count (an attacker may assume nothing changed), intersected; otherwise the latest
    version only.
    """
    known: dict[tuple[str, Coords], tuple[int, int | None]] = {}
    truth = node.truth
    versions = node.published if truth is not None else node.published[-1:]
    for version in versions:
        for name, cells in version.items():
            for coords, value in cells.items():
                if value is None:
                    continue
                interval = published_interval(value, settings)
                if truth is not None:
                    actual = truth.get(name, {}).get(coords)
                    low, high = interval
                    if actual is None or actual < low or (high is not None and actual > high):
                        continue  # the data changed since: this version no longer tells it
                previous = known.get((name, coords))
                known[(name, coords)] = (
                    interval if previous is None else _intersect(previous, interval)
                )
    return known


@dataclass
class _State:
    """The protection's working state over the system's unknowns."""

    system: System
    truth: np.ndarray
    suppressed: np.ndarray  # suppressed here or by another release: free, cost 0
    fixed: np.ndarray  # published (here earlier, or by another release): cannot move
    free: np.ndarray  # of a period not released: unknown to the attacker, cost 0
    settings: DisclosureSettings
    solves: int = 0

    split: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    rays: np.ndarray | None = None
    margin_factor: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        # Margins cost more to suppress (a total hides more), the national ones most.
        self.margin_factor = np.array(
            [3.0 ** sum(1 for c in key[2] if c == TOTAL) for key in self.system.keys]
        )

    def unbounded(self, i: int) -> bool:
        """Whether cell ``i`` can grow without limit under the current pattern."""
        if len(self.system.components[self.system.where[i]]) == 1:
            return True
        if self.rays is None:
            eq, le = self.system.full_matrices()
            self.solves += 1
            self.rays = unbounded_cells(eq, le, self.suppressed | self.free)
        return bool(self.rays[i])

    def component_matrices(self, k: int) -> tuple[Any, Any]:
        return self.system.component_cache(k)

    def split_matrices(self, k: int) -> tuple[Any, Any]:
        """[A, -A] for y = y_up - y_down, built once per component."""
        if k not in self.split:
            eq, le = self.component_matrices(k)
            self.split[k] = (
                sparse.hstack([eq, -eq]).tocsr(),
                sparse.hstack([le, -le]).tocsr(),
            )
        return self.split[k]


def protect(
    current: Node,
    context: Sequence[Node],
    links: Iterable[Link],
    settings: DisclosureSettings,
    *,
    rounds: int = 4,
) -> Protection:
    """Suppress the current node's cells so that every suppressed cell stays protected.

    ``current.truth`` must be given; ``context`` holds the other periods that take part
    (with their releases, and their current data where known). Raises
    :class:`DisclosureRefused` when the audit still finds a narrow range after ``rounds``
    rounds of adding complements.
    """
    assert current.truth is not None
    links = list(links)
    system = System([current, *context], links)
    n = len(system.keys)
    state = _State(
        system,
        system.truth_vector(),
        np.zeros(n, dtype=bool),
        np.zeros(n, dtype=bool),
        np.zeros(n, dtype=bool),
        settings,
    )
    level = settings.protection_level
    reasons: dict[tuple[str, Coords], str] = {}

    for name in sorted(current.shapes):
        for coords in sorted(primary_cells(current.truth[name], settings)):
            state.suppressed[system.index[(current.label, name, coords)]] = True
            reasons[(name, coords)] = "primary"
    for name, coords in _known_values(current, settings):
        i = system.index.get((current.label, name, coords))
        if i is not None and not state.suppressed[i]:
            state.fixed[i] = True  # published by an earlier version: no complement
    for node in context:
        if not node.published:
            for i, key in enumerate(system.keys):
                if key[0] == node.label:
                    state.free[i] = True
            continue
        for name, cells in node.published[-1].items():
            for coords, value in cells.items():
                i = system.index.get((node.label, name, coords))
                if i is None:
                    continue
                if value is None:
                    state.suppressed[i] = True
                else:
                    state.fixed[i] = True
    for i, key in enumerate(system.keys):
        if key[0] != current.label and not state.suppressed[i]:
            state.fixed[i] = state.fixed[i] or not state.free[i]

    def narrow(span: tuple[int, int | None]) -> bool:
        return span[1] is not None and span[1] - span[0] < level

    passed: dict[CellKey, tuple[int, int | None]] = {}

    def audited() -> tuple[dict[str, dict[Coords, int | None]], dict, list[CellKey]]:
        published = _publish(current, reasons, settings)
        now = Node(current.label, current.shapes, current.truth, [*current.published, published])
        ranges, _ = _audit([now, *context], links, settings, new=current.label, passed=passed)
        failing = [key for key, span in ranges.items() if narrow(span)]
        passed.update((key, span) for key, span in ranges.items() if not narrow(span))
        return published, ranges, failing

    # Complements only for the cells that need them. Suppressing more never narrows a range
    # (the attacker only loses the published intervals), so a cell that passes now passes
    # under every pattern this protection can end with. A quick audit (no integer program
    # over a whole component) finds those; the cells it leaves unsettled are protected as
    # the failing ones are.
    published = _publish(current, reasons, settings)
    first = Node(current.label, current.shapes, current.truth, [*current.published, published])
    ranges, unsettled = _audit([first, *context], links, settings, new=current.label, quick=True)
    failing = [key for key, span in ranges.items() if key in unsettled or narrow(span)]
    settled_now = {key: span for key, span in ranges.items() if key not in unsettled}
    passed.update((key, span) for key, span in settled_now.items() if not narrow(span))
    if not failing:
        return Protection(reasons, published, ranges, state.solves)
    targets: dict[int, int] = {}
    for _round in range(rounds):
        if not failing:
            break
        # A cell that failed again is asked to move further.
        targets = {system.index[key]: targets.get(system.index[key], 0) + level for key in failing}
        # Rays only grow as cells are suppressed: last round's are a safe under-estimate
        # within a round (a cell found unbounded stays so).
        state.rays = None
        queue = [i for i in sorted(targets) if not state.unbounded(i)]
        while queue:
            # Jacobi-style: every queued cell against the same pattern, in one solve per
            # component and direction; the complements found form the next queue.
            added_now: set[int] = set()
            for complements in _protect_batch(state, queue, targets, level).values():
                for added in complements:
                    label, name, coords = system.keys[added]
                    if label != current.label or state.suppressed[added]:
                        continue
                    state.suppressed[added] = True
                    reasons.setdefault((name, coords), "secondary")
                    added_now.add(added)
            queue = [i for i in sorted(added_now) if not state.unbounded(i)]
        published, ranges, failing = audited()
    if not failing:
        return Protection(reasons, published, ranges, state.solves)
    earlier = Node(current.label, current.shapes, current.truth, list(current.published))
    before = derivable([earlier, *context], links, settings, failing)
    already = [
        key
        for key in failing
        if before[key][1] is not None and before[key][1] - before[key][0] < level  # type: ignore[operator]
    ]
    raise DisclosureRefused([(key, ranges[key][0], ranges[key][1]) for key in failing], already)


def _protect_batch(
    state: _State, cells: list[int], targets: Mapping[int, int], level: int
) -> dict[int, list[int]]:
    """Complements so that each cell can move by its level: up, and down as far as it can.

    First plan: down by up to half the level (no more than the count), up by the rest. A cell
    that cannot move that way tries down as far as it can and up by the rest, on its own.
    """
    system = state.system
    found: dict[int, list[int]] = {}
    plans: dict[int, list[tuple[int, int]]] = {}
    for i in cells:
        if len(system.components[system.where[i]]) == 1:
            found[i] = []  # no relation touches it: nothing published pins it down
            continue
        want = targets.get(i, level)
        have = 0 if np.isnan(state.truth[i]) else int(state.truth[i])
        down = min(have, want // 2)
        plans[i] = [(want - down, -down), (want - min(have, want), -min(have, want))]
    for attempt in (0, 1):
        pending = [i for i in plans if i not in found]
        if not pending:
            break
        requests = [(i, plans[i][attempt][0]) for i in pending if plans[i][attempt][0]]
        requests += [(i, plans[i][attempt][1]) for i in pending if plans[i][attempt][1]]
        results: dict[int, list[int] | None] = {i: [] for i in pending}
        for (i, _move), moved in zip(requests, _cheapest_moves(state, requests), strict=True):
            previous = results[i]
            results[i] = None if moved is None or previous is None else previous + moved
        for i, moved in results.items():
            if moved is not None:
                found[i] = moved
    return found


def _cheapest_moves(state: _State, requests: list[tuple[int, int]]) -> list[list[int] | None]:
    """For each (cell, move): the cells that must move with it, or None when it cannot.

    Each is ``min cost of |y|`` with every relation kept, ``y_cell = move`` and published
    cells fixed. The requests of one component differ only in the moving cell's bounds and
    cost, so each component is one HiGHS model: a request changes those, solves from the
    previous optimal basis (hot start) and puts them back.
    """
    system = state.system
    by_component: dict[int, list[int]] = {}
    for n, (i, _move) in enumerate(requests):
        by_component.setdefault(system.where[i], []).append(n)
    out: list[list[int] | None] = [None] * len(requests)
    for k, numbers in by_component.items():
        component = system.components[k]
        m = len(component)
        _eq, le = state.component_matrices(k)
        a_eq, a_ub = state.split_matrices(k)
        a = state.truth[component]
        values = np.nan_to_num(a)
        movable = state.suppressed[component] | state.free[component]
        pinned = state.fixed[component] & ~movable
        down_limit = np.where(~np.isnan(a), values, np.inf)  # the count stays non-negative
        up_limit = np.full(m, np.inf)
        up_limit[pinned] = down_limit[pinned] = 0.0
        base = np.where(values == 0, 10.0 * state.settings.threshold, 1.0 + values)
        cost = np.where(movable | pinned, 0.0, base * state.margin_factor[component])
        b_ub = -(le @ values) if le.shape[0] else np.zeros(0)
        # Pinned cells cannot move: their columns go (a neighbour's published cells are most
        # of a linked system), and so do the rows left without a column (0 <= b_ub holds).
        keep = np.flatnonzero(~pinned)
        w = len(keep)
        columns = np.concatenate([keep, m + keep])
        a_eq, a_ub = a_eq[:, columns], a_ub[:, columns]
        rows_eq = np.flatnonzero(np.diff(sparse.csr_array(a_eq).indptr))
        rows_ub = np.flatnonzero(np.diff(sparse.csr_array(a_ub).indptr))
        a_eq, a_ub, b_ub = a_eq[rows_eq], a_ub[rows_ub], b_ub[rows_ub]
        high = np.concatenate([up_limit[keep], down_limit[keep]])
        kept_cost = np.concatenate([cost[keep], cost[keep]]).astype(float)
        h = _lp_model(a_eq, a_ub, np.zeros(len(rows_eq)), b_ub, np.zeros(2 * w), high, DUAL)
        h.changeColsCost(2 * w, np.arange(2 * w, dtype=np.int32), kept_cost)
        position = {int(q): p for p, q in enumerate(keep)}
        state.solves += 1
        for n in numbers:
            i, move = requests[n]
            j = position[system.local[i]]
            # The cell itself moves by exactly ``move`` (up in y_up, down in y_down), free.
            up = float(move) if move > 0 else 0.0
            down = float(-move) if move < 0 else 0.0
            pair = np.array([j, w + j], dtype=np.int32)
            h.changeColsCost(2, pair, np.zeros(2))
            h.changeColBounds(j, up, up)
            h.changeColBounds(w + j, down, down)
            h.run()
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                z = np.asarray(h.getSolution().col_value)
                moved = z[:w] + z[w:]
                out[n] = [component[keep[q]] for q in np.flatnonzero(moved > 1e-7) if q != j]
            h.changeColsCost(2, pair, kept_cost[pair])
            h.changeColBounds(j, 0.0, float(high[j]))
            h.changeColBounds(w + j, 0.0, float(high[w + j]))
    return out


#: HiGHS' simplex strategies: dual (a hot start after a bound changes) and primal (after the
#: objective changes: the previous optimum stays feasible, and primal goes on from there).
DUAL, PRIMAL = 1, 4


def _lp_model(
    eq: Any,
    le: Any,
    b_eq: np.ndarray,
    b_ub: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    strategy: int = DUAL,
) -> Any:
    """A HiGHS model (no objective yet) of ``eq x = b_eq``, ``le x <= b_ub``, ``low <= x <=
    high``, without presolve (it would drop the basis that each hot start keeps)."""
    h = _HIGHS()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", strategy)
    n = len(low)
    h.addVars(n, np.asarray(low, dtype=float), np.asarray(high, dtype=float))
    for matrix, lower, upper in (
        (eq, b_eq, b_eq),
        (le, np.full(le.shape[0], -np.inf), b_ub),
    ):
        if matrix.shape[0]:
            csr = sparse.csr_array(matrix)
            h.addRows(
                csr.shape[0],
                np.asarray(lower, dtype=float),
                np.asarray(upper, dtype=float),
                csr.nnz,
                csr.indptr.astype(np.int32),
                csr.indices.astype(np.int32),
                csr.data.astype(float),
            )
    return h


def _publish(
    node: Node, reasons: Mapping[tuple[str, Coords], str], settings: DisclosureSettings
) -> dict[str, dict[Coords, int | None]]:
    assert node.truth is not None
    return {
        name: {
            coords: None
            if (name, coords) in reasons
            else round_count(node.truth[name][coords], settings.rounding_base)
            for coords in node.shapes[name].cells()
        }
        for name in sorted(node.shapes)
    }


# --- the audit --------------------------------------------------------------------------


def audit(
    nodes: Sequence[Node],
    links: Iterable[Link],
    settings: DisclosureSettings,
    *,
    new: str | None = None,
    exact: bool = False,
) -> dict[CellKey, tuple[int, int | None]]:
    """For every suppressed cell of every node with a release: the range an attacker gets.

    The attacker knows every node's releases (the latest of each; for a node with ``truth``,
    also the earlier versions that fit the current data), the relations between cells, the
    rounding rule, and that counts are whole and not negative. Returns ``(low, high)``, high
    None when unbounded.

    ``new``: the label of the node whose release is being made. Only the suppressed cells
    that release can narrow are audited then: those in a component (a group of cells linked
    by relations) that holds one of its cells. A component without one is made of earlier
    releases only, exactly as they were audited when they were made.

    What the range is. With ``exact``, each cell's true minimum and maximum (an integer
    program wherever the linear one is fractional). Without it (the default, as releases
    use it), the audit decides the question it is asked, exactly, and no more (see
    :func:`_settle`): a cell that passes gets a range the attacker cannot narrow further
    (two whole-number solutions that far apart were found; the true range may be wider), and
    a cell that fails gets bounds its true range lies within, narrower than the protection
    level. Pass or fail is the same in both modes; a test checks that on random tables.
    """
    return _audit(nodes, links, settings, new=new, exact=exact)[0]


def _audit(
    nodes: Sequence[Node],
    links: Iterable[Link],
    settings: DisclosureSettings,
    *,
    new: str | None = None,
    exact: bool = False,
    quick: bool = False,
    passed: Mapping[CellKey, tuple[int, int | None]] | None = None,
) -> tuple[dict[CellKey, tuple[int, int | None]], set[CellKey]]:
    """:func:`audit`, and the cells it left unsettled: with ``quick``, no integer program
    over a whole component runs (only the search near known solutions), and the cells
    neither the linear bounds nor the solutions found settle are left so (their ranges then
    mean nothing).

    ``passed``: cells that passed an audit of the same system with fewer cells suppressed,
    with their ranges. They pass here too (the solutions that showed it still satisfy
    everything published, which is less), so they are not audited again."""
    system = System(nodes, links)
    low, high = _bounds(system, nodes, settings)
    targets: list[int] = []
    for node in nodes:
        if not node.published:
            continue
        for name, cells in node.published[-1].items():
            for coords, value in cells.items():
                i = system.index.get((node.label, name, coords))
                if i is not None and value is None:
                    targets.append(i)
    if new is not None:
        touched = {system.where[i] for i, key in enumerate(system.keys) if key[0] == new}
        targets = [g for g in targets if system.where[g] in touched]
    eq, le = system.full_matrices()
    rays = unbounded_cells(eq, le, np.isinf(high))
    passed = passed or {}
    audited = sorted({g for g in targets if system.keys[g] not in passed})
    unsettled: set[int] = set()
    if exact:
        found, _lp, _mip = _extremes(system, low, high, audited, rays)
    else:
        settled = _settle(
            system,
            low,
            high,
            audited,
            rays,
            settings.protection_level,
            system.truth_vector(),
            quick=quick,
        )
        found, unsettled = settled.ranges, settled.unsettled
    ranges: dict[CellKey, tuple[int, int | None]] = {}
    for g, (low_g, high_g) in found.items():
        ranges[system.keys[g]] = (int(low_g), None if high_g is None else int(high_g))
    for g in targets:
        if system.keys[g] in passed:
            ranges[system.keys[g]] = passed[system.keys[g]]
    return ranges, {system.keys[g] for g in unsettled}


def _bounds(
    system: System, nodes: Sequence[Node], settings: DisclosureSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Each unknown's interval from what its node published (0 and no upper bound if none)."""
    n = len(system.keys)
    low = np.zeros(n)
    high = np.full(n, np.inf)
    for node in nodes:
        if not node.published:
            continue
        for (name, coords), (lo, hi) in _known_values(node, settings).items():
            i = system.index.get((node.label, name, coords))
            if i is None:
                continue
            low[i] = max(low[i], lo)
            high[i] = min(high[i], np.inf if hi is None else hi)
    return low, high


def derivable(
    nodes: Sequence[Node],
    links: Iterable[Link],
    settings: DisclosureSettings,
    keys: Sequence[CellKey],
) -> dict[CellKey, tuple[int, int | None]]:
    """The range an attacker derives for each of ``keys`` from the nodes' releases (as
    :func:`audit` does, for any cell, published or not)."""
    system = System(nodes, links)
    low, high = _bounds(system, nodes, settings)
    cells = sorted({system.index[key] for key in keys})
    eq, le = system.full_matrices()
    rays = unbounded_cells(eq, le, np.isinf(high))
    found, _lp, _mip = _extremes(system, low, high, cells, rays)
    return {
        system.keys[g]: (int(lo), None if hi is None else int(hi)) for g, (lo, hi) in found.items()
    }


def unbounded_cells(eq: Any, le: Any, movable: np.ndarray) -> np.ndarray:
    """Which unknowns can grow without limit: the support of the widest ray.

    A ray r >= 0 with ``eq @ r == 0`` and ``le @ r <= 0`` that is zero on every unknown with
    an upper bound (``~movable``) can be added to any solution any number of times. Rays form
    a cone, so one linear program that maximises ``sum(r)`` with ``r <= 1`` finds the union of
    all their supports.
    """
    m = len(movable)
    found = np.zeros(m, dtype=bool)
    if not movable.any():
        return found
    bounds = np.column_stack([np.zeros(m), np.where(movable, 1.0, 0.0)])
    # The widest ray need not be the one with the largest sum: ask again for the cells not
    # found yet until no new one appears.
    while True:
        objective = np.where(found | ~movable, 0.0, -1.0)
        if not objective.any():
            return found
        result = linprog(
            objective,
            A_ub=le if le.shape[0] else None,
            b_ub=np.zeros(le.shape[0]) if le.shape[0] else None,
            A_eq=eq if eq.shape[0] else None,
            b_eq=np.zeros(eq.shape[0]) if eq.shape[0] else None,
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            raise RuntimeError(f"the ray program failed: {result.message}")
        new = (np.asarray(result.x) > 1e-7) & ~found
        if not new.any():
            return found
        found |= new


@dataclass
class _Reduced:
    """A component with the unknowns the attacker knows exactly taken out.

    A published zero (and any cell whose interval is one value) is a constant: it moves to
    the right-hand side, which makes the programs much smaller on sparse tables.
    """

    eq: Any
    le: Any
    b_eq: np.ndarray
    b_ub: np.ndarray
    low: np.ndarray
    high: np.ndarray
    position: dict[int, int]


def _reduce(system: System, k: int, low: np.ndarray, high: np.ndarray) -> _Reduced:
    component = system.components[k]
    eq, le = system.component_cache(k)
    lo, hi = low[component], high[component]
    fixed = lo == hi
    keep = np.flatnonzero(~fixed)
    constant = np.where(fixed, lo, 0.0)
    eq_keep, le_keep = eq[:, keep], le[:, keep]
    b_eq = -(eq @ constant) if eq.shape[0] else np.zeros(0)
    b_ub = -(le @ constant) if le.shape[0] else np.zeros(0)
    # Rows left with no unknown are constants the published figures satisfy: drop them.
    rows_eq = np.flatnonzero(np.diff(sparse.csr_array(eq_keep).indptr))
    rows_le = np.flatnonzero(np.diff(sparse.csr_array(le_keep).indptr))
    return _Reduced(
        sparse.csr_array(eq_keep)[rows_eq] if len(rows_eq) else sparse.csr_array((0, len(keep))),
        sparse.csr_array(le_keep)[rows_le] if len(rows_le) else sparse.csr_array((0, len(keep))),
        b_eq[rows_eq] if len(rows_eq) else np.zeros(0),
        b_ub[rows_le] if len(rows_le) else np.zeros(0),
        lo[keep],
        hi[keep],
        {component[j]: n for n, j in enumerate(keep)},
    )


#: highspy's core class: unlike its ``Highs`` subclass, it prints no banner on stdout.
_HIGHS: Any = getattr(highspy, "_Highs", highspy.Highs)


class _Extremes:
    """One component's audit programs in one HiGHS model, built once.

    Each extreme changes only the objective (one column, minimised or maximised), so the
    linear program starts from the previous optimal basis (HiGHS hot start) instead of from
    scratch. Where the linear optimum is not integral, the same model with integer columns
    (built on first need) gives the integer extreme. It stops as soon as its incumbent is
    within less than 1 of its bound: the objective is one integer column, so that incumbent
    is the optimum (and the relative gap is 0: no early stop on large counts).
    """

    def __init__(self, r: _Reduced) -> None:
        self.r = r
        self.lp = self._model(integer=False)
        self.mip: Any = None
        self.column = -1
        self.mip_column = -1
        self.lp_solves = 0
        self.mip_solves = 0
        self.feasibility_solves = 0
        self.move_solves = 0
        self.neighbourhood_solves = 0
        #: Every whole-number solution found is offered here (see :func:`_settle`).
        self.pool: _Pool | None = None
        self.moves: _Moves | None = None

    def _model(self, *, integer: bool) -> Any:
        r = self.r
        h = _lp_model(r.eq, r.le, r.b_eq, r.b_ub, r.low, r.high, PRIMAL)
        if integer:
            h.setOptionValue("presolve", "on")
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", 0.99)
            n = len(r.low)
            h.changeColsIntegrality(
                n,
                np.arange(n, dtype=np.int32),
                np.full(n, highspy.HighsVarType.kInteger),
            )
        return h

    def _solve(self, h: Any, k: int, sign: int, previous: int) -> tuple[str, np.ndarray | None]:
        if previous >= 0 and previous != k:
            h.changeColCost(previous, 0.0)
        h.changeObjectiveSense(
            highspy.ObjSense.kMinimize if sign > 0 else highspy.ObjSense.kMaximize
        )
        h.changeColCost(k, 1.0)
        return self._run(h)

    def _run(self, h: Any) -> tuple[str, np.ndarray | None]:
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            x = np.asarray(h.getSolution().col_value)
            if self.pool is not None:
                self.pool.offer(x)
            return "optimal", x
        if status == highspy.HighsModelStatus.kUnbounded:
            return "unbounded", None
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return "infeasible", None
        raise RuntimeError(f"the audit's program stopped: {h.modelStatusToString(status)}")

    def extreme(self, k: int, sign: int) -> float | None:
        """min (sign=+1) or max (sign=-1) of column ``k`` over the integer points (None:
        unbounded; NaN: no point at all)."""
        outcome, x = self._solve(self.lp, k, sign, self.column)
        self.column = k
        self.lp_solves += 1
        if outcome == "unbounded":
            return None
        if outcome == "infeasible" or x is None:
            return float("nan")
        if np.all(np.abs(x - np.round(x)) < 1e-7):
            return float(round(x[k]))
        h = self._integer()
        h.setOptionValue("presolve", "on")
        outcome, x = self._solve(h, k, sign, self.mip_column)
        self.mip_column = k
        self.mip_solves += 1
        if outcome != "optimal" or x is None:
            raise RuntimeError(f"the audit's integer program failed: {outcome}")
        return float(round(x[k]))

    def _integer(self) -> Any:
        if self.mip is None:
            self.mip = self._model(integer=True)
        return self.mip

    def relaxed(self, k: int, sign: int) -> tuple[float | None, np.ndarray | None]:
        """The linear program's min (sign=+1) or max (sign=-1) of column ``k`` and its
        solution (None: unbounded; NaN: no solution at all)."""
        outcome, x = self._solve(self.lp, k, sign, self.column)
        self.column = k
        self.lp_solves += 1
        if outcome == "unbounded":
            return None, None
        if outcome == "infeasible" or x is None:
            return float("nan"), None
        return float(x[k]), x

    def feasible(self, k: int, lower: float, upper: float) -> np.ndarray | None:
        """A whole-number solution with column ``k`` within ``[lower, upper]``, or None when
        there is none. First near the known solutions (:meth:`near`); then an integer program
        over the whole component, without objective: its first solution ends it, and only
        its proof that there is none makes the answer None."""
        r = self.r
        lower, upper = max(lower, float(r.low[k])), min(upper, float(r.high[k]))
        if lower > upper:
            return None
        near = self.near(k, lower, upper)
        if near is not None:
            return near
        h = self._integer()
        # No presolve: on these models it costs more than it saves when any solution will do.
        h.setOptionValue("presolve", "off")
        if self.mip_column >= 0:
            h.changeColCost(self.mip_column, 0.0)
            self.mip_column = -1
        h.changeColBounds(k, lower, upper)
        try:
            outcome, x = self._run(h)
        finally:
            h.changeColBounds(k, float(r.low[k]), float(r.high[k]))
        self.feasibility_solves += 1
        if outcome == "optimal":
            return x
        if outcome == "infeasible":
            return None
        raise RuntimeError(f"the audit's feasibility program failed: {outcome}")

    def near(self, k: int, lower: float, upper: float) -> np.ndarray | None:
        """A whole-number solution with column ``k`` within ``[lower, upper]`` found near one
        the pool has (see :class:`_Moves`), or None: then only the integer program over the
        whole component (:meth:`feasible`) can tell. A solution found here is checked by the
        pool; that none was found proves nothing."""
        pool = self.pool
        r = self.r
        lower, upper = max(lower, float(r.low[k])), min(upper, float(r.high[k]))
        if pool is None or lower > upper:
            return None
        start = pool.nearest(k, lower, upper)
        if start is None:
            return None
        if self.moves is None:
            self.moves = _Moves(self.r)
        move = self.moves.smallest(start, k, lower, upper)
        self.move_solves += 1
        if move is None:
            return None
        x = start + move
        if pool.offer(x):
            return x
        # A fractional move: the integer program over the cells it changes and the cells that
        # share a relation with them, every other cell kept as it is in the starting solution
        # (where a move touches a grand total, that can be much of the component).
        self.neighbourhood_solves += 1
        return self._within(self.moves.around(np.flatnonzero(move)), start, k, lower, upper)

    def _within(
        self, cells: np.ndarray, start: np.ndarray, k: int, lower: float, upper: float
    ) -> np.ndarray | None:
        r = self.r
        n = len(r.low)
        low, high = start.copy(), start.copy()
        low[cells], high[cells] = r.low[cells], r.high[cells]
        low[k], high[k] = lower, upper
        h = self._integer()
        # Presolve takes the fixed cells out: what is left is the neighbourhood's program.
        h.setOptionValue("presolve", "on")
        if self.mip_column >= 0:
            h.changeColCost(self.mip_column, 0.0)
            self.mip_column = -1
        columns = np.arange(n, dtype=np.int32)
        h.changeColsBounds(n, columns, low, high)
        try:
            outcome, x = self._run(h)
        except RuntimeError:  # an unusual stop proves nothing here: the whole program decides
            return None
        finally:
            h.changeColsBounds(n, columns, r.low, r.high)
        if outcome == "optimal" and self.pool is not None and self.pool.check(x) is not None:
            return x
        return None


class _Moves:
    """The smallest change that takes a known whole-number solution ``s`` of a component to
    one with column ``k`` in a given interval: minimise the sum of ``|d|`` over the moves
    ``d`` with ``s + d`` satisfying every relation and bound, a linear program in ``d = p -
    q`` (``p, q >= 0``). It has the feasibility program's constraints shifted by ``s``, so
    every move it finds leads to a solution of their linear relaxation.

    On these tables the smallest move is nearly always whole: a few cells exchanging counts
    along a cycle of relations (a cell up, another in its row down, and so on until every
    total holds). Then ``s + d`` is the whole-number solution asked for, in milliseconds
    instead of an integer program over the whole component. One model per component; each
    question changes only bounds and right-hand sides, so the dual simplex starts from the
    previous optimum.
    """

    def __init__(self, r: _Reduced) -> None:
        self.r = r
        n = len(r.low)
        eq, le = sparse.csr_array(r.eq), sparse.csr_array(r.le)
        self.le = le
        # The columns p, then q; each question sets their bounds and the right-hand sides of
        # the inequalities (those depend on the start).
        h = _lp_model(
            sparse.hstack([eq, -eq]),
            sparse.hstack([le, -le]),
            np.zeros(eq.shape[0]),
            np.zeros(le.shape[0]),
            np.zeros(2 * n),
            np.full(2 * n, np.inf),
            DUAL,
        )
        h.changeColsCost(2 * n, np.arange(2 * n, dtype=np.int32), np.ones(2 * n))
        self.h = h
        self.le_rows = np.arange(eq.shape[0], eq.shape[0] + le.shape[0], dtype=np.int32)
        # Which relations each cell is in, and which cells each relation has.
        both = sparse.vstack([eq, le])
        self.by_row = sparse.csr_array(both)
        self.by_column = sparse.csc_array(both)

    def smallest(self, start: np.ndarray, k: int, lower: float, upper: float) -> np.ndarray | None:
        """The smallest move ``d`` (a float vector) from ``start`` to a solution of the linear
        relaxation with column ``k`` in ``[lower, upper]``; None if the program found none."""
        r, h = self.r, self.h
        n = len(r.low)
        up = np.maximum(r.high - start, 0.0)
        down = np.maximum(start - r.low, 0.0)
        at_least_up = np.zeros(n)
        at_least_down = np.zeros(n)
        if start[k] < lower:
            at_least_up[k], down[k] = lower - start[k], 0.0
        elif start[k] > upper:
            at_least_down[k], up[k] = start[k] - upper, 0.0
        h.changeColsBounds(
            2 * n,
            np.arange(2 * n, dtype=np.int32),
            np.concatenate([at_least_up, at_least_down]),
            np.concatenate([up, down]),
        )
        if len(self.le_rows):
            h.changeRowsBounds(
                len(self.le_rows),
                self.le_rows,
                np.full(len(self.le_rows), -np.inf),
                r.b_ub - self.le @ start,
            )
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        value = np.asarray(h.getSolution().col_value)
        move = value[:n] - value[n:]
        move[np.abs(move) < 1e-7] = 0.0  # HiGHS' feasibility tolerance
        return move

    def around(self, cells: np.ndarray) -> np.ndarray:
        """``cells`` and every cell that shares a relation with one of them."""
        rows = np.unique(self.by_column[:, cells].indices)
        return np.union1d(cells, np.unique(self.by_row[rows].indices))


def _extremes(
    system: System, low: np.ndarray, high: np.ndarray, cells: list[int], unbounded: np.ndarray
) -> tuple[dict[int, tuple[float, float | None]], int, int]:
    """Each cell's (min, max) over the integer points (max None: unbounded), and how many
    linear and integer programs that took.

    One :class:`_Extremes` model per component (without the cells known exactly): its
    minima in turn, then its maxima, so each program starts near the previous optimum.
    """
    by_component: dict[int, list[int]] = {}
    for g in cells:
        by_component.setdefault(system.where[g], []).append(g)
    out: dict[int, tuple[float, float | None]] = {}
    lp_solves = mip_solves = 0
    for k, members in by_component.items():
        model = _Extremes(_reduce(system, k, low, high))
        smallest = {
            g: model.extreme(model.r.position[g], +1) for g in members if g in model.r.position
        }
        for g in members:
            if g not in model.r.position:  # known exactly (an earlier version published it)
                out[g] = (float(low[g]), float(high[g]))
                continue
            low_g = smallest[g]
            if low_g is None or low_g != low_g:  # NaN: no point at all
                raise RuntimeError("the published figures are inconsistent: no solution")
            high_g = None if unbounded[g] else model.extreme(model.r.position[g], -1)
            if high_g is not None and high_g != high_g:
                raise RuntimeError("the published figures are inconsistent: no solution")
            out[g] = (low_g, high_g)
        lp_solves += model.lp_solves
        mip_solves += model.mip_solves
    return out, lp_solves, mip_solves


@dataclass
class _Settled:
    """What :func:`_settle` found: each cell's range, and the programs it took."""

    ranges: dict[int, tuple[float, float | None]]
    unsettled: set[int] = field(default_factory=set)
    lp_solves: int = 0
    feasibility_solves: int = 0
    mip_solves: int = 0
    move_solves: int = 0
    neighbourhood_solves: int = 0


class _Pool:
    """Whole-number solutions of one component found so far: per column the least and the
    greatest value any of them has. Each is checked exactly (in integers) before it counts.
    The solutions that hold some column's least or greatest value are kept, as starting
    points for :class:`_Moves`."""

    def __init__(self, r: _Reduced) -> None:
        self.r = r
        n = len(r.low)
        self.least = np.full(n, np.inf)
        self.most = np.full(n, -np.inf)
        self.points: dict[int, np.ndarray] = {}
        self.least_at = np.full(n, -1, dtype=np.int64)
        self.most_at = np.full(n, -1, dtype=np.int64)
        self._added = 0

    def check(self, x: np.ndarray | None) -> np.ndarray | None:
        """``x`` rounded, if it is (within 1e-6 of) a whole-number solution; else None."""
        if x is None or len(x) != len(self.r.low) or np.any(np.isnan(x)):
            return None
        point = np.round(x)
        if np.any(np.abs(x - point) > 1e-6):
            return None
        r = self.r
        if np.any(point < r.low) or np.any(point > r.high):
            return None
        if r.eq.shape[0] and np.any(r.eq @ point != r.b_eq):
            return None
        if r.le.shape[0] and np.any(r.le @ point > r.b_ub):
            return None
        return point

    def offer(self, x: np.ndarray | None) -> bool:
        """Take ``x`` if it is (within 1e-6 of) a whole-number solution; True if taken."""
        point = self.check(x)
        if point is None:
            return False
        lower, higher = point < self.least, point > self.most
        if lower.any() or higher.any():
            key = self._added
            self._added += 1
            # (At most two a column are held: a few hundred on a half year's components.)
            self.points[key] = point.astype(np.int32)
            self.least_at[lower] = key
            self.most_at[higher] = key
            if len(self.points) > _KEPT_POINTS:
                held = set(self.least_at.tolist()) | set(self.most_at.tolist())
                self.points = {i: p for i, p in self.points.items() if i in held}
        np.minimum(self.least, point, out=self.least)
        np.maximum(self.most, point, out=self.most)
        return True

    def nearest(self, j: int, lower: float, upper: float) -> np.ndarray | None:
        """Of the solutions holding column ``j``'s least and greatest value, the one whose
        column ``j`` is nearer to ``[lower, upper]`` (the nearest of all where the interval
        lies outside those two values, as it does where the audit asks)."""
        best, gap = None, math.inf
        for key in (int(self.least_at[j]), int(self.most_at[j])):
            point = self.points.get(key)
            if point is not None:
                distance = max(lower - point[j], point[j] - upper, 0.0)
                if distance < gap:
                    best, gap = point, distance
        return None if best is None else best.astype(float)


#: Kept solutions of a pool before those no longer holding any column's least or greatest
#: value are let go.
_KEPT_POINTS = 64


def _settle(
    system: System,
    low: np.ndarray,
    high: np.ndarray,
    cells: list[int],
    unbounded: np.ndarray,
    level: int,
    truth: np.ndarray,
    *,
    quick: bool = False,
) -> _Settled:
    """Decide, for each cell, whether its range over the whole-number solutions spans at
    least ``level``; exact, without computing every extreme.

    Per component (one HiGHS model, as :func:`_extremes`):

    1. The linear minimum ``a`` and maximum ``b`` of every cell (hot starts). Whole-number
       extremes lie within ``[ceil(a), floor(b)]``: if that is narrower than the level, the
       cell fails.
    2. A pool of whole-number solutions: the current data (it satisfies everything published)
       and every linear optimum that happens to be whole. If the pool's values of a cell
       span the level, the cell passes: an attacker cannot tell those solutions apart.
    3. Otherwise feasibility questions: is there a solution with the cell at least
       ``least + level``, or at most ``most - level``? First near the pool's solutions
       (:meth:`_Extremes.near`), then by an integer program over the component (no
       objective: the first solution ends it). One found passes the cell (and joins the
       pool, where it may settle others). Neither: the whole-number maximum is below
       ``least + level``; the integer program of :func:`_extremes` finds it, and one more
       feasibility question (at most that maximum minus the level) decides. With ``quick``
       only the search near the pool runs; a cell it does not settle is left unsettled.

    Each pass is shown by two whole-number solutions (checked in integer arithmetic); each
    fail by a linear bound or by the solver proving a program infeasible. So the answer is the
    one the exact extremes give (a test compares them on random tables).
    """
    by_component: dict[int, list[int]] = {}
    for g in cells:
        by_component.setdefault(system.where[g], []).append(g)
    out = _Settled({})
    for k, members in by_component.items():
        r = _reduce(system, k, low, high)
        model = _Extremes(r)
        pool = model.pool = _Pool(r)
        known = np.full(len(r.low), np.nan)
        for g, j in r.position.items():
            known[j] = truth[g]
        pool.offer(known)
        # First the linear bounds of the cells the pool does not settle yet: every whole
        # linear optimum joins the pool, so the integer programs below are fewer.
        bounds: dict[int, tuple[int, int]] = {}
        for g in members:
            if g not in r.position:  # known exactly (an earlier version published it)
                out.ranges[g] = (float(low[g]), float(high[g]))
                continue
            j = r.position[g]
            if unbounded[g] and np.isfinite(pool.least[j]):  # no attacker can narrow it
                out.ranges[g] = (float(pool.least[j]), None)
                continue
            if pool.most[j] - pool.least[j] >= level:  # settled by solutions found already
                out.ranges[g] = (float(pool.least[j]), float(pool.most[j]))
                continue
            least, _x = model.relaxed(j, +1)
            if least is None or least != least:
                raise RuntimeError("the published figures are inconsistent: no solution")
            if unbounded[g]:
                found = pool.least[j]
                out.ranges[g] = (float(found if np.isfinite(found) else math.ceil(least)), None)
                continue
            most, _x = model.relaxed(j, -1)
            if most is None or most != most:
                raise RuntimeError("the published figures are inconsistent: no solution")
            bounds[g] = (math.ceil(least - 1e-7), math.floor(most + 1e-7))
        for g, (floor_low, ceiling_high) in bounds.items():
            decided = _decide(model, pool, r.position[g], floor_low, ceiling_high, level, quick)
            if decided is None:
                out.unsettled.add(g)
                decided = (floor_low, ceiling_high)
            out.ranges[g] = decided
        out.lp_solves += model.lp_solves
        out.feasibility_solves += model.feasibility_solves
        out.mip_solves += model.mip_solves
        out.move_solves += model.move_solves
        out.neighbourhood_solves += model.neighbourhood_solves
    return out


def _decide(
    model: _Extremes,
    pool: _Pool,
    j: int,
    floor_low: float,
    ceiling_high: float,
    level: int,
    quick: bool = False,
) -> tuple[float, float] | None:
    """One cell of :func:`_settle`: a passing range found, or failing bounds. With ``quick``
    no integer program over the component runs (only :meth:`_Extremes.near`): None when that
    does not settle the cell."""

    def passes() -> bool:
        return bool(pool.most[j] - pool.least[j] >= level)

    if ceiling_high - floor_low < level:
        return floor_low, ceiling_high
    ask = model.near if quick else model.feasible
    if not passes() and np.isfinite(pool.least[j]):
        ask(j, pool.least[j] + level, ceiling_high)
    if not passes() and np.isfinite(pool.most[j]):
        ask(j, floor_low, pool.most[j] - level)
    if passes():
        return float(pool.least[j]), float(pool.most[j])
    if quick:
        return None
    # Neither side moves by the level from what the pool has: the exact maximum, then one
    # question decides (is the cell at most that maximum minus the level anywhere?).
    most = model.extreme(j, -1)
    assert most is not None and most == most
    model.feasible(j, floor_low, most - level)
    if pool.most[j] < most:  # the maximum's solution was not taken: one that the pool checks
        model.feasible(j, most, most)
    if pool.most[j] - pool.least[j] >= level:
        return float(pool.least[j]), float(pool.most[j])
    return float(max(floor_low, most - level + 1)), float(most)
