"""Blocks of households: the unit of the demo population's random streams, ids and processes.

The households of a run are cut into blocks of :data:`BLOCK` in registration order. Each block
is simulated with a random stream of its own (seeded from the run's seed and the block's
number) and writes ids from ranges of its own (a fixed room per household and table, from the
first free id of the run), so a block's rows do not depend on any other block's. That is what
lets blocks be simulated in parallel processes while the data stays exactly what one process
makes: the number of processes changes only the speed. The ids of a table are therefore
increasing but not consecutive (each block leaves the rest of its room unused); trajectory ids
are consecutive.

A worker returns a block's rows ready for the writer: PostgreSQL ``COPY`` text (formatted in
the worker, so the parent only streams it) or tuples for SQLite's ``executemany``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mda.demo.population import (
    CHECKLIST_COLUMNS,
    DEADLINE_COLUMNS,
    EVENT_COLUMNS,
    MEASUREMENT_COLUMNS,
    Batch,
    Calendar,
    Coordinator,
    Ids,
    Options,
    Rule,
    Simulator,
)
from mda.services import workdays
from mda.services.pseudonyms import PseudonymKeys
from mda.vocabulary import DeadlineKind

#: Households per block. Part of what the data is (each block has its own random stream and
#: id ranges): changing it changes the population a seed gives.
BLOCK = 2000
#: Ids reserved per household of a block, per table: far above the averages (about 23 events
#: and access-log rows, 10 deadlines and 1.5 measurements a household), so a block of
#: thousands never fills its room (checked all the same). A block's access-log rows are derived
#: from its events by the database (see :func:`access_ids`): the event at offset ``i`` of its
#: block's room gets the access-log ids at offsets ``2i`` (a read before the step, for some)
#: and ``2i + 1`` (the step) of the block's access room.
ID_ROOM: Mapping[str, int] = {"event": 96, "access": 192, "deadline": 48, "measurement": 12}
#: The largest id an ``INTEGER`` column holds.
MAX_ID = 2**31 - 1
#: The tables of a batch, in the writer's order (the attributes of :class:`Batch`); the
#: access log follows from the events (:meth:`mda.demo.writer.BulkWriter.derive_access`).
TABLES = ("trajectories", "events", "checklist", "measurements", "deadlines")


@dataclass(frozen=True)
class Context:
    """What every block of a run shares (sent once to each worker process)."""

    seed: int
    calendar: Calendar
    rules: Mapping[DeadlineKind, Rule]
    coordinators: Mapping[str, list[Coordinator]]
    keys: PseudonymKeys
    options: Options
    first: Ids
    decree_days: Mapping[date, str]
    copy_text: bool
    trajectory_columns: tuple[str, ...] = ()
    block: int = BLOCK  # households per block (tests use small ones)


@dataclass(frozen=True)
class Task:
    """One block: its number, and the region and registration day of each of its households."""

    number: int
    regions: Sequence[str]
    days: Sequence[int]


@dataclass
class Rows:
    """A block's rows, per table: ``COPY`` text or tuples, and how many."""

    households: int
    number: int = 0  # the block's number (where its ids lie: see :func:`block_ids`)
    tables: dict[str, str | list[tuple[Any, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def block_ids(first: Ids, number: int, block: int = BLOCK) -> Ids:
    """The first id of each table in block ``number`` (of ``block`` households each)."""
    return Ids(
        trajectory=first.trajectory + number * block,
        event=first.event + number * block * ID_ROOM["event"],
        access=first.access + number * block * ID_ROOM["access"],
        deadline=first.deadline + number * block * ID_ROOM["deadline"],
        measurement=first.measurement + number * block * ID_ROOM["measurement"],
    )


def access_ids(first: Ids, block: int = BLOCK) -> int:
    """How an event's access-log ids follow from its own: ``2 * event id + shift`` for the
    step's own row, one less for the read before it (when there is one).

    So block ``b``'s access-log rows have ids from ``block_ids(first, b).access`` on, two for
    each id in its events' room, in the events' order (``block`` cancels out: the access room
    is exactly twice the events').
    """
    assert ID_ROOM["access"] == 2 * ID_ROOM["event"]
    return first.access - 2 * first.event + 1


def check_room(first: Ids, households: int, block: int = BLOCK) -> None:
    """Refuse a run whose reserved id ranges would not fit an ``INTEGER`` column."""
    blocks = -(-households // block)
    last = block_ids(first, blocks, block)
    if max(last.trajectory, last.event, last.access, last.deadline, last.measurement) > MAX_ID:
        raise ValueError(f"{households} more households do not fit the id ranges left")


class Blocks:
    """Simulates blocks (in the caller's process, or in a worker's: see :func:`run_block`)."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.simulator = Simulator(
            context.seed,
            context.calendar,
            context.rules,
            context.coordinators,
            context.keys,
            Ids(),
            context.options,
        )
        columns = {
            "trajectories": context.trajectory_columns,
            "events": EVENT_COLUMNS,
            "checklist": CHECKLIST_COLUMNS,
            "measurements": MEASUREMENT_COLUMNS,
            "deadlines": DEADLINE_COLUMNS,
        }
        self.formatters = {name: copy_formatter(columns[name]) for name in TABLES}

    def run(self, task: Task) -> Rows:
        context = self.context
        simulator = self.simulator
        start = block_ids(context.first, task.number, context.block)
        ids = Ids(**vars(start))
        simulator.start_block(f"mda demo {context.seed} block {task.number}", ids)
        batch = Batch()
        household = simulator.household
        for region, day in zip(task.regions, task.days, strict=True):
            household(region, day, batch)
        size = len(task.regions)
        for table in ("event", "deadline", "measurement"):
            used = getattr(ids, table) - getattr(start, table)
            if used > size * ID_ROOM[table]:  # pragma: no cover (far above any household's)
                raise RuntimeError(f"block {task.number} used {used} {table} ids, beyond its room")
        rows = Rows(households=size, number=task.number)
        for name in TABLES:
            found: list[tuple[Any, ...]] = getattr(batch, name)
            rows.counts[name] = len(found)
            rows.tables[name] = self.formatters[name](found) if context.copy_text else found
        return rows


# --- COPY text ----------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
#: Columns whose text may hold a backslash, a tab or a line break (JSON, free text, names
#: read from the database); the others hold numbers, moments, codes and enum values.
ESCAPED = frozenset(
    {"data", "reason", "details", "computation", "note", "violence_types", "referred_back_to",
     "username", "on_behalf_of", "remote_addr", "suspension_reason"}
)  # fmt: skip
BOOLEAN = frozenset({"done"})


#: Whether a text needs escaping in ``COPY`` text (a C-level search, no Python call per value).
_SPECIAL = re.compile("[\\\\\t\n\r]").search


def copy_formatter(columns: Sequence[str]) -> Callable[[list[tuple[Any, ...]]], str]:
    """A function turning rows of ``columns`` into PostgreSQL's ``COPY ... FROM STDIN`` text.

    One f-string per row, written for the table's columns (``None`` as ``\\N``, booleans as
    ``t``/``f``, escapes only where text can need them): several times faster than
    formatting value by value.
    """
    parts = []
    for index, name in enumerate(columns):
        item = f"r[{index}]"
        if name in ESCAPED:
            escaped = f"{item}.translate(E) if sp({item}) else {item}"
            parts.append(f"{{N if {item} is None else {escaped}}}")
        elif name in BOOLEAN:
            parts.append(f"{{N if {item} is None else ('t' if {item} else 'f')}}")
        else:
            parts.append(f"{{N if {item} is None else {item}}}")
    line = "\\t".join(parts)
    source = f'def copy(rows):\n    return "".join([f"{line}\\n" for r in rows])\n'
    scope: dict[str, Any] = {"sp": _SPECIAL, "E": _ESCAPES, "N": "\\N"}
    exec(compile(source, f"<copy {' '.join(columns)}>", "exec"), scope)  # noqa: S102 (our own columns)
    formatter: Callable[[list[tuple[Any, ...]]], str] = scope["copy"]
    return formatter


# --- worker processes ---------------------------------------------------------------------

_worker: Blocks | None = None


def start_worker(context: Context) -> None:
    """A worker process's initialiser: the run's decree days and a simulator of its own."""
    global _worker
    workdays.set_decree_days(context.decree_days)
    _worker = Blocks(context)


def run_block(task: Task) -> Rows:
    """Simulate one block in a worker process."""
    assert _worker is not None, "start_worker first"
    return _worker.run(task)
