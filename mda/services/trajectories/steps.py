"""The step writer: how one step of a trajectory's work is loaded and written.

The step use cases (a checklist item, a workflow trigger, a safety measurement: W1's steps,
the bulk of a coordinator's day) declare *what* a step changes in a :class:`StepChange`: the
trajectory's fields, the checklist items set, the measurement recorded, the deadlines met,
cancelled and opened, and the event. This module is the one place that knows *how* that is
read and written, with SQLAlchemy Core instead of the ORM's unit of work (see
docs/architecture.md, "The step writer", and bench/w1_transitions.py):

- :func:`load_step` reads the trajectory row with its checklist, measurements, open
  deadlines and the deadline rules in one SELECT (JSON aggregates on both backends);
- :func:`write_step` writes the versioned trajectory UPDATE first (it takes the row lock;
  a shortfall in updated rows is a :class:`Conflict`), then the checklist, measurement,
  deadline, event and access-log rows, all in the use case's one transaction.

The deadline rules come with every load as their JSON text, which is also the stamp of this
process's parsed copy: a rule changed in the database changes the text, and the next step
parses it again. Nothing else is cached.

What the ORM would have done for the caller is kept: the session's copy of the trajectory (and
its checklist, measurements and deadlines) is expired after the writes, so whoever reads it
next, in this transaction or after it, reads the new state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Connection,
    Table,
    Text,
    Update,
    and_,
    bindparam,
    func,
    insert,
    inspect,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state

from mda.models import (
    AccessLogEntry,
    ChecklistItem,
    Deadline,
    DeadlineRule,
    SafetyMeasurement,
    Trajectory,
    TrajectoryEvent,
)
from mda.models.base import utcnow
from mda.services import deadlines as deadline_rows
from mda.services.audit import access_values
from mda.services.authz import require_trajectory_access
from mda.services.context import Actor
from mda.services.errors import Conflict, DomainError, NotFound
from mda.services.messages import Text as MessageText
from mda.services.messages import msg
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work
from mda.vocabulary import (
    AccessAction,
    ChildrenBucket,
    ClosureReason,
    DeadlineKind,
    DeadlineStatus,
    DueUnit,
    TrajectoryState,
)
from mda.workflows import trajectory as workflow

_T = cast(Table, Trajectory.__table__)
_CHECKLIST = cast(Table, ChecklistItem.__table__)
_MEASUREMENTS = cast(Table, SafetyMeasurement.__table__)
_DEADLINES = cast(Table, Deadline.__table__)
_RULES = cast(Table, DeadlineRule.__table__)
_EVENTS = cast(Table, TrajectoryEvent.__table__)
_ACCESS = cast(Table, AccessLogEntry.__table__)

CONFLICT = "This record was changed by someone else in the meantime; reload and try again."

#: The trajectory's columns a step reads (the workflow's facts, the checks, next_due upkeep).
_ROW_COLUMNS = (
    "id",
    "pseudonym",
    "region_code",
    "state",
    "version",
    "coordinator_id",
    "children",
    "closure_reason",
    "referred_back_to",
    "closed_at",
    "suspended_at",
    "suspension_reason",
    "relapses",
    "reentries",
    "created_at",
    "state_entered_at",
    "next_due_at",
    "next_due_kind",
)


# --- what a step reads ---------------------------------------------------------------------


@dataclass
class ItemState:
    key: str
    done: bool | None
    details: str | None


@dataclass
class MeasurementState:
    number: int
    measured_on: date
    recorded_at: datetime


@dataclass
class DeadlineState:
    """One of the trajectory's open deadlines as the step found it (and what it made of it)."""

    id: int
    kind: DeadlineKind
    due_at: datetime
    version: int
    status: DeadlineStatus = DeadlineStatus.OPEN


@dataclass(frozen=True)
class RuleValues:
    """A deadline rule as this process keeps it (the columns of ``deadline_rules``)."""

    kind: DeadlineKind
    amount: int
    unit: DueUnit
    remind_before_working_days: int
    escalate_after_working_days: int
    repeat_every_working_days: int
    remind_before_hours: int
    recurring: bool
    enabled: bool


@dataclass
class StepState:
    """The trajectory as a step reads it: the row's fields the use cases use, and its rows.

    Its attributes carry the names of :class:`mda.models.Trajectory`'s, so the shared checks
    (``facts_of``, ``first_day``, ``measurement_starts``, ...) take either.
    """

    id: int
    pseudonym: str
    region_code: str
    state: TrajectoryState
    version: int
    coordinator_id: int | None
    children: ChildrenBucket
    closure_reason: ClosureReason | None
    referred_back_to: str | None
    closed_at: datetime | None
    suspended_at: datetime | None
    suspension_reason: str | None
    relapses: int
    reentries: int
    created_at: datetime
    state_entered_at: datetime
    next_due_at: datetime | None
    next_due_kind: DeadlineKind | None
    checklist: list[ItemState] = field(default_factory=list)
    measurements: list[MeasurementState] = field(default_factory=list)
    deadlines: list[DeadlineState] = field(default_factory=list)
    rules: Mapping[DeadlineKind, RuleValues] = field(default_factory=dict)
    #: The checklist keys the database has rows for (the others are inserted when set).
    stored_keys: frozenset[str] = frozenset()


# --- what a step changes -----------------------------------------------------------------


@dataclass
class StepEvent:
    kind: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any]


@dataclass
class StepChange:
    """What one step changes, declared by the use case; :func:`write_step` writes it."""

    #: Trajectory columns set (besides version and updated_at, which every step moves).
    fields: dict[str, Any] = field(default_factory=dict)
    #: Checklist items set: key -> (done, details).
    checklist: dict[str, tuple[bool | None, str | None]] = field(default_factory=dict)
    #: The safety measurement recorded (its column values), if any.
    measurement: dict[str, Any] | None = None
    #: Open deadlines closed, with the status they close with.
    closed: list[DeadlineState] = field(default_factory=list)
    #: Deadlines opened (their column values).
    opened: list[dict[str, Any]] = field(default_factory=list)
    event: StepEvent | None = None


class Step:
    """One step under way (see :func:`trajectory_step`): the state read and the change made.

    Its methods change ``state`` in memory as the step goes (so later checks in the same
    step see them) and note each change in ``change`` for the writer.
    """

    def __init__(self, session: Session, actor: Actor, state: StepState, now: datetime):
        self.session = session
        self.actor = actor
        self.state = state
        self.now = now
        self.change = StepChange()

    # -- declarations

    def set(self, **fields: Any) -> None:
        """Set trajectory columns (only those that differ are written)."""
        for name, value in fields.items():
            if getattr(self.state, name) != value:
                setattr(self.state, name, value)
                self.change.fields[name] = value

    def set_item(self, key: str, done: bool | None, details: str | None) -> None:
        """Set checklist item ``key`` (created when the trajectory has none yet)."""
        for item in self.state.checklist:
            if item.key == key:
                item.done, item.details = done, details
                break
        else:
            self.state.checklist.append(ItemState(key, done, details))
        self.change.checklist[key] = (done, details)

    def add_measurement(self, values: dict[str, Any]) -> None:
        """Record a safety measurement (``number``, ``measured_on``, ``violence_level``, ...)."""
        values = {**values, "recorded_at": self.now, "recorded_by_id": self.actor.user_id}
        self.change.measurement = values
        self.state.measurements.append(
            MeasurementState(values["number"], values["measured_on"], self.now)
        )

    def close(self, kinds: Sequence[DeadlineKind], status: DeadlineStatus) -> list[DeadlineState]:
        """Close the open deadlines of ``kinds`` as met or cancelled; returns those closed."""
        wanted = set(kinds)
        closed = [d for d in self.state.deadlines if d.kind in wanted and d.status is _OPEN]
        for deadline in closed:
            deadline.status = status
            self.change.closed.append(deadline)
        if closed:
            self._track_next_due(complete=True)
        return closed

    def open(self, kind: DeadlineKind, counted_from: datetime | None = None) -> bool:
        """Open a ``kind`` deadline now, as its rule says; False when none opens.

        An open one of that kind is kept as it is; a disabled or missing rule opens nothing.
        """
        rule = self.state.rules.get(kind)
        if rule is None or not rule.enabled:
            return False
        if any(d.kind is kind and d.status is _OPEN for d in self.state.deadlines):
            return False
        deadline_rows.workdays.refresh(self.session)
        values = deadline_rows.deadline_values(
            rule,
            self.state.id,
            self.state.region_code,
            kind,
            self.now,
            suspended=self.state.suspended_at is not None,
            counted_from=counted_from,
        )
        self.change.opened.append(values)
        # Kept with the open ones so the rest of the step sees it (id unknown until written).
        self.state.deadlines.append(DeadlineState(0, kind, values["due_at"], 1))
        self._track_next_due(complete=False)
        return True

    def apply(
        self, changes: workflow.DeadlineChanges, starts: Mapping[DeadlineKind, datetime]
    ) -> dict[str, list[str]]:
        """Meet, cancel, then open, as the workflow said; returns what happened, for the event.

        ``starts`` gives the kinds whose due moment counts from another moment than now.
        """
        met = self.close(changes.meet, DeadlineStatus.MET)
        cancelled = self.close(changes.cancel, DeadlineStatus.CANCELLED)
        opened = [kind for kind in changes.open if self.open(kind, starts.get(kind))]
        return {
            "met": sorted({d.kind.value for d in met}),
            "cancelled": sorted({d.kind.value for d in cancelled}),
            "opened": sorted({kind.value for kind in opened}),
        }

    def record(
        self,
        kind: str,
        *,
        trigger: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """The accepted step's event (its ``seq`` is the new version; the writer logs access)."""
        if self.change.event is not None:
            raise RuntimeError("a change records one event")
        self.change.event = StepEvent(kind, trigger, from_state, to_state, reason, data or {})

    def refuse(
        self, what: str, unmet: Sequence[MessageText], action: MessageText | None = None
    ) -> Exception:
        """The exception to raise for a refused step (logged as an access)."""
        from mda.services.trajectories._common import refused

        return refused(self.actor, self.state, what, unmet, action)

    def facts(self) -> workflow.TrajectoryFacts:
        from mda.services.trajectories._common import facts_of

        return facts_of(self.session, self.state)

    def _track_next_due(self, *, complete: bool) -> None:
        before = (self.state.next_due_at, self.state.next_due_kind)
        rows = self.state.deadlines if complete else self.state.deadlines[-1:]
        deadline_rows.track_next_due(self.state, rows, complete=complete)
        after = (self.state.next_due_at, self.state.next_due_kind)
        if after != before:
            self.change.fields["next_due_at"], self.change.fields["next_due_kind"] = after


_OPEN = DeadlineStatus.OPEN


@contextmanager
def trajectory_step(
    session: Session,
    actor: Actor,
    trajectory_id: int,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    what: str = "change",
) -> Iterator[Step]:
    """One step of a trajectory's work, in one unit of work (the step writer's
    :func:`mda.services.trajectories._common.trajectory_change`).

    Loads the step's state (:func:`load_step`), authorises the actor for a change, checks
    ``expected_version`` and hands a :class:`Step` to the block, which validates, declares the
    change and calls :meth:`Step.record` exactly once. On leaving, :func:`write_step` writes
    it and the unit of work commits; an exception rolls everything back. A
    :class:`DomainError` raised once the trajectory is loaded (a version conflict, invalid
    input, an identifier found, a refused transition) keeps an access-log entry of the
    attempt, naming ``what`` was attempted.
    """
    from mda.services.trajectories._common import check_version, refusal_entry

    with unit_of_work(session):
        if session.new or session.dirty or session.deleted:
            session.flush()  # the caller's pending changes, for the load to see
        state = load_step(session, trajectory_id)
        require_trajectory_access(actor, state.id, state.region_code, AccessAction.CHANGE)
        step = Step(session, actor, state, now or settings_of(session).now())
        try:
            check_version(state, expected_version)
            yield step
            if step.change.event is None:
                raise RuntimeError("a trajectory change must record its event")
            write_step(session, actor, state, step.change, step.now)
        except DomainError as exc:
            # Refused after the trajectory was loaded (conflict, invalid input, identifier
            # found): the attempt is an access too, kept although the change rolls back.
            if exc.audit is None:
                exc.audit = refusal_entry(actor, trajectory_id, what, exc)
            raise


def trajectory_after(session: Session, trajectory_id: int) -> Trajectory:
    """The session's trajectory ``trajectory_id``, read afresh on first use after a step."""
    key = session.identity_key(Trajectory, (trajectory_id,))
    found = session.identity_map.get(key)
    if isinstance(found, Trajectory):
        return found
    # Not in the session: a stand-in with only its id, loaded on first use (a step's caller
    # that does not read it, such as W1, pays no SELECT for it).
    stub = Trajectory()
    stub.id = trajectory_id
    make_transient_to_detached(stub)
    session.add(stub)
    # The session holds on to the last one (its identity map only weakly): a caller that
    # lets go of it, step after step on one trajectory, costs no new stand-in each time (and
    # no transaction begun by adding it, which the next unit of work would have to end).
    session.info[_LAST_STEPPED] = stub
    return stub


_LAST_STEPPED = "mda.last_stepped_trajectory"


# --- loading -------------------------------------------------------------------------------


def _aggregate(dialect: Dialect, *columns: Any) -> Any:
    if dialect.name == "postgresql":
        return func.json_agg(func.json_build_array(*columns))
    return func.json_group_array(func.json_array(*columns))


def _load_statement(dialect: Dialect) -> Any:
    tid = _T.c.id

    def rows(table: Table, *columns: Any, where: Any = None) -> Any:
        query = select(_aggregate(dialect, *columns))
        if where is not None:
            query = query.where(where)
        return query.scalar_subquery()

    checklist = rows(
        _CHECKLIST,
        _CHECKLIST.c.key,
        _CHECKLIST.c.done,
        _CHECKLIST.c.details,
        where=_CHECKLIST.c.trajectory_id == tid,
    )
    measurements = rows(
        _MEASUREMENTS,
        _MEASUREMENTS.c.number,
        _MEASUREMENTS.c.measured_on,
        _MEASUREMENTS.c.recorded_at,
        where=_MEASUREMENTS.c.trajectory_id == tid,
    )
    deadlines = rows(
        _DEADLINES,
        _DEADLINES.c.id,
        _DEADLINES.c.kind,
        _DEADLINES.c.due_at,
        _DEADLINES.c.version,
        where=(_DEADLINES.c.trajectory_id == tid) & (_DEADLINES.c.status == _OPEN),
    )
    rules = rows(
        _RULES,
        _RULES.c.kind,
        _RULES.c.amount,
        _RULES.c.unit,
        _RULES.c.remind_before_working_days,
        _RULES.c.escalate_after_working_days,
        _RULES.c.repeat_every_working_days,
        _RULES.c.remind_before_hours,
        _RULES.c.recurring,
        _RULES.c.enabled,
    )
    # The rows come back as JSON (parsed by the driver or by the JSON type); the rules as
    # their text, which is the stamp of this process's parsed copy (see rules_of).
    rules_text = sql_cast(rules, Text) if dialect.name == "postgresql" else rules
    return select(
        *(_T.c[name] for name in _ROW_COLUMNS),
        type_coerce(checklist, JSON).label("checklist"),
        type_coerce(measurements, JSON).label("measurements"),
        type_coerce(deadlines, JSON).label("deadlines"),
        type_coerce(rules_text, Text).label("rules"),
    ).where(tid == bindparam("trajectory_id"))


_STATEMENTS: dict[str, Any] = {}


def load_step(session: Session, trajectory_id: int) -> StepState:
    """The trajectory as the database has it now, with its rows, in one SELECT."""
    dialect = session.get_bind().dialect
    statement = _STATEMENTS.get(dialect.name)
    if statement is None:
        statement = _STATEMENTS[dialect.name] = _load_statement(dialect)
    row = session.connection().execute(statement, {"trajectory_id": trajectory_id}).first()
    if row is None:
        raise NotFound(msg("There is no trajectory %(id)s.", id=trajectory_id))
    values = row._mapping
    state = StepState(**{name: values[name] for name in _ROW_COLUMNS})
    state.checklist = [
        ItemState(key, None if done is None else bool(done), details)
        for key, done, details in values["checklist"] or ()
    ]
    state.stored_keys = frozenset(item.key for item in state.checklist)
    state.measurements = sorted(
        (
            MeasurementState(number, date.fromisoformat(day), _moment(at))
            for number, day, at in values["measurements"] or ()
        ),
        key=lambda m: m.number,
    )
    state.deadlines = [
        DeadlineState(id_, DeadlineKind(kind), _moment(due), version)
        for id_, kind, due, version in values["deadlines"] or ()
    ]
    state.rules = rules_of(values["rules"])
    return state


def _moment(text: str) -> datetime:
    """A timestamp as the JSON aggregates give it (SQLite: naive UTC; PostgreSQL: ISO)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: This process's parsed deadline rules and the JSON text they were parsed from: the text
#: comes with every load, so a rule changed in the database is seen by the next step.
_rules_cache: tuple[str | None, Mapping[DeadlineKind, RuleValues]] = (None, {})


def rules_of(text: str | None) -> Mapping[DeadlineKind, RuleValues]:
    """The rules in ``text`` (the load's JSON aggregate), parsed once per distinct text."""
    global _rules_cache
    stamp, rules = _rules_cache
    if text is not None and text == stamp:
        return rules
    parsed = {}
    for kind, amount, unit, before, after, every, hours, recurring, enabled in json.loads(
        text or "[]"
    ):
        rule = RuleValues(
            DeadlineKind(kind),
            amount,
            DueUnit(unit),
            before,
            after,
            every,
            hours,
            bool(recurring),
            bool(enabled),
        )
        parsed[rule.kind] = rule
    _rules_cache = (text, parsed)  # one assignment: threads see the old pair or the new one
    return parsed


# --- writing -------------------------------------------------------------------------------


def write_step(
    session: Session, actor: Actor, state: StepState, change: StepChange, now: datetime
) -> None:
    """Write ``change`` to trajectory ``state`` in the session's transaction.

    The versioned UPDATE of the trajectory row goes first: it takes the row's lock, so a
    concurrent step on the same trajectory waits and then finds the version moved on; a
    shortfall in updated rows (here or on a deadline row) is a :class:`Conflict`. On
    PostgreSQL every write goes in one data-modifying statement, one round trip.
    """
    rows = _rows_of(actor, state, change, now)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        _write_in_one_statement(conn, state, rows)
    else:
        _write_one_by_one(conn, state, rows)
    _expire(session, state.id)


@dataclass
class _Rows:
    """A step's writes as column values, whatever statements carry them."""

    trajectory: dict[str, Any]
    new_items: list[dict[str, Any]]
    changed_items: list[dict[str, Any]]
    measurement: dict[str, Any] | None
    closed: dict[DeadlineStatus, list[DeadlineState]]
    closing: dict[str, Any]
    opened: list[dict[str, Any]]
    event: dict[str, Any]
    access: dict[str, Any]


def _rows_of(actor: Actor, state: StepState, change: StepChange, now: datetime) -> _Rows:
    event = change.event
    assert event is not None
    tid, version = state.id, state.version + 1
    stamp = {"updated_at": now, "updated_by_id": actor.user_id}
    items = [
        {"trajectory_id": tid, "key": key, "done": done, "details": details, **stamp}
        for key, (done, details) in change.checklist.items()
    ]
    closed: dict[DeadlineStatus, list[DeadlineState]] = {}
    for deadline in change.closed:
        closed.setdefault(deadline.status, []).append(deadline)
    access = access_values(
        actor,
        AccessAction.CHANGE,
        "trajectory",
        tid,
        tid,
        {"change": event.trigger or event.kind, "version": version},
    )
    return _Rows(
        trajectory={**change.fields, "version": version, "updated_at": now},
        new_items=[i for i in items if i["key"] not in state.stored_keys],
        changed_items=[i for i in items if i["key"] in state.stored_keys],
        measurement=(
            None if change.measurement is None else {"trajectory_id": tid, **change.measurement}
        ),
        closed=closed,
        closing={"closed_at": now, "closed_by_id": actor.user_id, "next_action_at": None},
        opened=change.opened,
        event={
            "trajectory_id": tid,
            "seq": version,
            "at": now,
            "actor_id": actor.user_id,
            "kind": event.kind,
            "trigger": event.trigger,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "reason": event.reason,
            "data": event.data,
        },
        access={"at": utcnow(), **access},
    )


# Built once: executed with parameters, each compiles once per set of columns it is given
# (SQLAlchemy's statement cache), and none is rebuilt or re-keyed per step.
_MOVE = update(_T).where(_T.c.id == bindparam("b_id"), _T.c.version == bindparam("b_version"))
_SET_ITEM = update(_CHECKLIST).where(
    _CHECKLIST.c.trajectory_id == bindparam("b_trajectory_id"),
    _CHECKLIST.c.key == bindparam("b_key"),
)
_CLOSE = update(_DEADLINES).where(
    _DEADLINES.c.id == bindparam("b_id"), _DEADLINES.c.version == bindparam("b_version")
)
_INSERT = {table.name: insert(table) for table in (_CHECKLIST, _MEASUREMENTS, _DEADLINES)}
_INSERT_EVENT, _INSERT_ACCESS = insert(_EVENTS), insert(_ACCESS)


def _write_one_by_one(conn: Connection, state: StepState, rows: _Rows) -> None:
    """SQLite: a statement per table (each is a call into the library, no network)."""
    moved = _run(conn, _MOVE, {"b_id": state.id, "b_version": state.version, **rows.trajectory})
    if moved.rowcount != 1:
        raise Conflict(msg(CONFLICT))
    if rows.new_items:
        _run(conn, _INSERT[_CHECKLIST.name], rows.new_items)
    for item in rows.changed_items:
        values = {k: v for k, v in item.items() if k not in ("trajectory_id", "key")}
        _run(conn, _SET_ITEM, {"b_trajectory_id": state.id, "b_key": item["key"], **values})
    if rows.measurement is not None:
        _run(conn, _INSERT[_MEASUREMENTS.name], rows.measurement)
    for status, deadlines in rows.closed.items():
        for deadline in deadlines:
            closed = _run(
                conn,
                _CLOSE,
                {
                    "b_id": deadline.id,
                    "b_version": deadline.version,
                    "status": status,
                    "version": deadline.version + 1,
                    **rows.closing,
                },
            )
            if closed.rowcount != 1:
                raise Conflict(msg(CONFLICT))
    if rows.opened:
        _run(conn, _INSERT[_DEADLINES.name], rows.opened)
    _run(conn, _INSERT_EVENT, rows.event)
    _run(conn, _INSERT_ACCESS, rows.access)


#: (statement, dialect, parameter names) -> the SQL and, per parameter in order, its name,
#: converter and default; None where a statement is left to ``execute``.
_PREPARED: dict[tuple[Any, Dialect, tuple[str, ...]], Any] = {}
_NO_DEFAULT = object()


def _run(conn: Connection, statement: Any, values: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """``conn.execute(statement, values)``, with the compiling done once per set of parameters.

    The SQL and each parameter's converter (its type's bind processor: moments to UTC text,
    JSON, enum values) are kept, with the constant defaults of columns not given (an opened
    deadline's ``stage`` 0); the step's values go to the driver through ``exec_driver_sql``,
    with the same events and the same errors as ``execute`` but none of its per-call cache
    lookups (about 11 of its 33 µs per statement on SQLite; a step issues five or six).
    """
    rows = values if isinstance(values, list) else [values]
    names = tuple(rows[0])
    key = (statement, conn.dialect, names)
    prepared = _PREPARED.get(key, _NO_DEFAULT)
    if prepared is _NO_DEFAULT:
        prepared = _PREPARED[key] = _prepare(conn.dialect, statement, names)
    if prepared is None:
        return conn.execute(statement, values)
    sql, parameters = prepared
    converted = [
        tuple(
            value if convert is None else convert(value)
            for name, convert, default in parameters
            # Every row has the first one's names (a KeyError otherwise, as a missing value
            # is an error for execute too); the columns' constants fill the others.
            for value in (row[name] if default is _NO_DEFAULT else default,)
        )
        for row in rows
    ]
    return conn.exec_driver_sql(sql, converted if isinstance(values, list) else converted[0])


def _prepare(dialect: Dialect, statement: Any, names: tuple[str, ...]) -> Any:
    """What :func:`_run` keeps of ``statement`` given ``names``; None where a parameter it
    cannot fill (a default made by a function, say) would be missing."""
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    order = compiled.positiontup
    if order is None:  # a driver taking named parameters (psycopg): left to execute
        return None
    table = statement.table
    updating = isinstance(statement, Update)
    parameters = []
    for name in order:
        default: Any = _NO_DEFAULT
        if name not in names:
            column = table.c.get(name)
            # What execute would fill in: an UPDATE's columns take their update default.
            column_default = None if column is None else (
                column.onupdate if updating else column.default
            )  # fmt: skip
            if column_default is None or not column_default.is_scalar:
                return None
            default = column_default.arg
        convert = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        parameters.append((name, convert, default))
    return compiled.string, tuple(parameters)


def _write_in_one_statement(conn: Connection, state: StepState, rows: _Rows) -> None:
    """PostgreSQL: every write in one statement, one round trip.

    The versioned trajectory UPDATE ... RETURNING feeds the inserts (they select from it, so
    nothing is inserted when it updated nothing: no duplicate event ``seq``, no second open
    deadline of a kind), the updates go through its id; the final SELECT counts the trajectory
    and deadline rows updated, and a shortfall is a :class:`Conflict` (the transaction then
    rolls back). The statement is built once per shape of step (which columns, how many rows
    of each kind) and executed with the step's values as parameters.
    """
    inserts = {
        "ni": [_with_defaults(_CHECKLIST, i) for i in rows.new_items],
        "m": [] if rows.measurement is None else [_with_defaults(_MEASUREMENTS, rows.measurement)],
        "o": [_with_defaults(_DEADLINES, d) for d in rows.opened],
        "e": [_with_defaults(_EVENTS, rows.event)],
        "a": [_with_defaults(_ACCESS, rows.access)],
    }
    changed = [
        {k: v for k, v in item.items() if k not in ("trajectory_id", "key")}
        for item in rows.changed_items
    ]
    closed = list(rows.closed.items())
    shape = (
        tuple(rows.trajectory),
        tuple((prefix, tuple(tuple(v) for v in values)) for prefix, values in inserts.items()),
        tuple(tuple(c) for c in changed),
        tuple((status, len(deadlines)) for status, deadlines in closed),
    )
    statement = _ONE_STATEMENT.get(shape)
    if statement is None:
        statement = _ONE_STATEMENT[shape] = _one_statement(rows, inserts, changed, closed)
    params: dict[str, Any] = {"t__id": state.id, "t__version": state.version}
    params.update({f"t_{k}": v for k, v in rows.trajectory.items()})
    for prefix, inserted in inserts.items():
        for i, row in enumerate(inserted):
            params.update({f"{prefix}{i}_{k}": v for k, v in row.items()})
    for i, (item, values) in enumerate(zip(rows.changed_items, changed, strict=True)):
        params[f"ci{i}__key"] = item["key"]
        params.update({f"ci{i}_{k}": v for k, v in values.items()})
    params.update({f"cl_{k}": v for k, v in rows.closing.items()})
    for j, (status, deadlines) in enumerate(closed):
        params[f"cs{j}__status"] = status
        for k, deadline in enumerate(deadlines):
            params[f"cs{j}_{k}_id"], params[f"cs{j}_{k}_version"] = deadline.id, deadline.version
    found = conn.execute(statement, params).one()
    if list(found) != [1, *(len(deadlines) for _status, deadlines in closed)]:
        raise Conflict(msg(CONFLICT))


_ONE_STATEMENT: dict[Any, Any] = {}
_INSERTED = {
    "ni": _CHECKLIST,
    "m": _MEASUREMENTS,
    "o": _DEADLINES,
    "e": _EVENTS,
    "a": _ACCESS,
}


def _one_statement(
    rows: _Rows,
    inserts: dict[str, list[dict[str, Any]]],
    changed: list[dict[str, Any]],
    closed: list[tuple[DeadlineStatus, list[DeadlineState]]],
) -> Any:
    """The statement of :func:`_write_in_one_statement` for a step of this shape."""

    def param(name: str, table: Table, column: str) -> Any:
        return bindparam(name, type_=table.c[column].type)

    moved = (
        update(_T)
        .where(_T.c.id == bindparam("t__id"), _T.c.version == bindparam("t__version"))
        .values({k: param(f"t_{k}", _T, k) for k in rows.trajectory})
        .returning(_T.c.id)
        .cte("moved")
    )
    # The other updates go through the moved row too: they lock their rows only once the
    # trajectory's row is locked, always in that order, so two steps cannot deadlock.
    after_move = select(moved.c.id)
    writes: list[Any] = []
    counted = [select(func.count()).select_from(moved).scalar_subquery()]
    for i, values in enumerate(changed):
        writes.append(
            update(_CHECKLIST)
            .where(
                _CHECKLIST.c.trajectory_id.in_(after_move),
                _CHECKLIST.c.key == bindparam(f"ci{i}__key"),
            )
            .values({k: param(f"ci{i}_{k}", _CHECKLIST, k) for k in values})
            .cte(f"w{len(writes)}")
        )
    for j, (_status, deadlines) in enumerate(closed):
        update_closed = (
            update(_DEADLINES)
            .where(
                _DEADLINES.c.trajectory_id.in_(after_move),
                or_(
                    *(
                        and_(
                            _DEADLINES.c.id == bindparam(f"cs{j}_{k}_id"),
                            _DEADLINES.c.version == bindparam(f"cs{j}_{k}_version"),
                        )
                        for k in range(len(deadlines))
                    )
                ),
            )
            .values(
                status=param(f"cs{j}__status", _DEADLINES, "status"),
                version=_DEADLINES.c.version + 1,
                **{k: param(f"cl_{k}", _DEADLINES, k) for k in rows.closing},
            )
            .returning(_DEADLINES.c.id)
            .cte(f"w{len(writes)}")
        )
        writes.append(update_closed)
        counted.append(select(func.count()).select_from(update_closed).scalar_subquery())
    for prefix, inserted in inserts.items():
        if not inserted:
            continue
        table = _INSERTED[prefix]
        columns = list(inserted[0])
        selects = [
            select(
                *(sql_cast(param(f"{prefix}{i}_{c}", table, c), table.c[c].type) for c in columns)
            ).select_from(moved)
            for i in range(len(inserted))
        ]
        source = selects[0] if len(selects) == 1 else union_all(*selects)
        writes.append(
            insert(table)
            .from_select(columns, source, include_defaults=False)
            .cte(f"w{len(writes)}")
        )
    return select(*counted).add_cte(*writes)


def _python_defaults(table: Table) -> tuple[tuple[str, Any], ...]:
    """``table``'s columns with a Python-side default (but its key), and those defaults."""
    return tuple(
        (column.key, column.default)
        for column in table.columns
        if column.default is not None and not column.primary_key
    )


#: Worked out once per table written in a CTE, not once per row written.
_DEFAULTS = {table.name: _python_defaults(table) for table in _INSERTED.values()}


def _with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the Python-side column defaults of the columns they leave out.

    (An INSERT inside a CTE is not given them by SQLAlchemy as a top-level INSERT is.)
    """
    completed = dict(values)
    for key, default in _DEFAULTS[table.name]:
        if key in completed:
            continue
        arg = getattr(default, "arg", None)
        if getattr(default, "is_scalar", False):
            completed[key] = arg
        elif getattr(default, "is_callable", False) and callable(arg):
            completed[key] = arg(None)
    return completed


def _expire(session: Session, tid: int) -> None:
    """Expire the session's copies of what the step wrote, so they are read afresh."""
    for obj in list(session.identity_map.values()):
        values = instance_dict(obj)  # what is loaded; reading it loads nothing
        if isinstance(obj, Trajectory) and values.get("id") == tid:
            # Everything but the key: reading ``trajectory.id`` after a step costs no query.
            # Only what is loaded, or a column not yet marked expired, needs expiring (the
            # rest is read afresh anyway): after the first step, usually nothing.
            state = instance_state(obj)
            expired, pending = state.expired_attributes, state.committed_state
            names = [
                key
                for key in _TRAJECTORY_ATTRIBUTES
                if key in values
                or key in pending
                or key in state.callables
                or (key in _TRAJECTORY_COLUMNS and key not in expired)
            ]
            if names:
                session.expire(obj, names)
        elif (
            isinstance(obj, ChecklistItem | SafetyMeasurement | Deadline | TrajectoryEvent)
            and values.get("trajectory_id") == tid
        ):
            session.expire(obj)


_TRAJECTORY_ATTRIBUTES = [prop.key for prop in inspect(Trajectory).attrs if prop.key != "id"]
#: The attributes that expiring marks as expired even when not loaded (the columns).
_TRAJECTORY_COLUMNS = frozenset(
    key for key in _TRAJECTORY_ATTRIBUTES if getattr(Trajectory, key).impl.accepts_scalar_loader
)


__all__ = [
    "DeadlineState",
    "ItemState",
    "MeasurementState",
    "RuleValues",
    "Step",
    "StepChange",
    "StepState",
    "load_step",
    "rules_of",
    "trajectory_after",
    "trajectory_step",
    "write_step",
]
