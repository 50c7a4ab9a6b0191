"""``generate``: a demo population written into a database, as ``mda demo`` and the bench use.

Demo trajectories are recognisable in two ways, with no table or migration of their own:
their pseudonym starts with ``DEMO-`` (which no real pseudonym can: the readable code is
Crockford base32, without the letter O) and their ``registered`` event carries
``"demo": true``. The source reference of a demo household is its pseudonym, so finding it by
reference works as for any other (under the key it was generated with).

The generator refuses a database that holds trajectories without the demo marker, unless
forced. Demo users it creates when a region has no coordinator (or no manager) cannot sign in:
their password hash is not a hash, so an admin must reset their password first.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import random
import secrets
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from mda.demo import blocks as demo_blocks
from mda.demo.blocks import Blocks, Context, Rows, Task, check_room, run_block, start_worker
from mda.demo.population import (
    DEMO_PREFIX,
    REGION_POPULATION,
    TRAJECTORY_COLUMNS,
    TRAJECTORY_EXTRA_COLUMNS,
    Calendar,
    Coordinator,
    Ids,
    Options,
    Rule,
    allocate,
    regions_in_order,
    registration_days,
)
from mda.demo.writer import BulkWriter
from mda.models import (
    AccessLogEntry,
    DeadlineRule,
    Organisation,
    Region,
    SafetyMeasurement,
    Trajectory,
    TrajectoryEvent,
    User,
    user_regions,
)
from mda.models import Deadline as DeadlineRow
from mda.services import workdays
from mda.services.clock import today_nl
from mda.services.pseudonyms import PseudonymKeys
from mda.vocabulary import AccessAction, DeadlineKind, DueUnit, Role
from mda.workflows import trajectory as workflow

#: The key demo pseudonyms are made with when the caller gives none (it is no secret: demo
#: households are fictitious). ``mda demo`` uses the app's configured key instead.
DEMO_KEYS = PseudonymKeys(1, b"mda demo households: not a secret")
#: Not an Argon2 hash, so no password matches it: a demo user signs in only after an admin
#: resets the password.
DEMO_PASSWORD_HASH = "!demo account: no password set; an admin resets it to sign in"  # noqa: S105
DEFAULT_YEARS = 3

log = logging.getLogger(__name__)


class DemoRefused(Exception):
    """The database holds real (non-demo) trajectories and the run was not forced."""


@dataclass
class DemoResult:
    households: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    users_created: int = 0
    since: date | None = None
    now: datetime | None = None
    #: SQLite only: False when another connection had the database open, so the load went
    #: through the write-ahead log (about twice as slow at a million households).
    rollback_journal: bool | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        """What was written, in a few lines (``mda demo`` prints it)."""
        rate = self.total_rows / self.seconds if self.seconds else 0.0
        lines = [
            f"{self.households} demo households registered from "
            f"{self.since.isoformat() if self.since else '?'} to "
            f"{self.now.isoformat() if self.now else '?'}: {self.total_rows} rows in "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s).",
            "  " + ", ".join(f"{name} {count}" for name, count in self.rows.items()),
        ]
        if self.users_created:
            lines.append(
                f"  {self.users_created} demo users created (they cannot sign in until an "
                "admin resets their password)."
            )
        if self.rollback_journal is False:
            lines.append(
                "  Written through SQLite's write-ahead log, because another process had the "
                "database open: with the database to itself the load is about twice as fast."
            )
        return "\n".join(lines)


def real_trajectories(session: Session) -> int:
    """How many trajectories lack the demo marker."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Trajectory)
            .where(~Trajectory.pseudonym.startswith(DEMO_PREFIX, autoescape=True))
        )
        or 0
    )


def generate(
    engine: Engine,
    *,
    households: int,
    seed: int,
    since: date | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
    keys: PseudonymKeys | None = None,
    screening_rule: workflow.ScreeningRule | None = None,
    processes: int | None = None,
    stage: Callable[[str], None] | None = None,
) -> DemoResult:
    """Add ``households`` demo households registered from ``since`` up to ``now``.

    ``since`` defaults to three years before ``now`` (default: this moment). Deterministic:
    the same seed, ``since`` and ``now`` on a database in the same state give the same rows.
    ``progress`` is called with the number of households done since its previous call, and
    ``stage`` with the name of each step after the households are written (``"indexes"``:
    the indexes built and the foreign keys checked; ``"analyze"``: the planner's statistics).
    Raises :class:`DemoRefused` on a database with real trajectories unless ``force``.

    ``processes`` simulate blocks of households in parallel (default: up to two for a large
    run, see :func:`default_processes`); their number changes the speed, never the rows.
    """
    if households < 0:
        raise ValueError("households must be 0 or more")
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    today = today_nl(now)
    since = since or today - timedelta(days=round(DEFAULT_YEARS * 365.25))
    if since > today:
        raise ValueError(f"since {since.isoformat()} lies after today ({today.isoformat()})")
    keys = keys or DEMO_KEYS
    rule = screening_rule or workflow.DEFAULT_SCREENING_RULE
    started = time.monotonic()
    columns = list(TRAJECTORY_COLUMNS)
    present = set(Trajectory.__table__.c.keys())
    extra = [name for name in TRAJECTORY_EXTRA_COLUMNS if name in present]
    columns += extra
    options = Options(
        now=now,
        screening_rule=rule,
        referred_on_column="referred_on" in extra,
        next_due_columns="next_due_at" in extra and "next_due_kind" in extra,
    )
    result = DemoResult(households=households, seconds=0.0, since=since, now=now)
    with (
        engine.connect() as connection,
        _bulk_load(connection) as result.rollback_journal,
        connection.begin(),
    ):
        session = Session(bind=connection)
        real = real_trajectories(session)
        if real and not force:
            raise DemoRefused(
                f"The database holds {real} real (non-demo) trajector"
                f"{'y' if real == 1 else 'ies'}; demo households are only added to a database "
                "without real ones. Use --force to add them anyway."
            )
        workdays.refresh(session, force=True)
        rules = _rules(session)
        coordinators, created = _coordinators(session, now)
        result.users_created = created
        ids = _next_ids(session)
        empty = ids.trajectory == 1 or not session.scalar(select(Trajectory.id).limit(1))
        session.flush()
        session.close()

        calendar = Calendar(
            since - timedelta(days=30),
            today + timedelta(days=4 * 366),
            connection.dialect.name == "sqlite",
        )
        rng = random.Random(seed)  # noqa: S311 (a reproducible simulation)
        days = registration_days(rng, calendar, since, today, households)
        regions = regions_in_order(rng, allocate(households, REGION_POPULATION))
        block = demo_blocks.BLOCK
        check_room(ids, households, block)
        context = Context(
            seed=seed,
            calendar=calendar,
            rules=rules,
            coordinators=coordinators,
            keys=keys,
            options=options,
            first=ids,
            decree_days=dict(workdays.decree_days()),
            copy_text=connection.dialect.name == "postgresql",
            trajectory_columns=tuple(columns),
            block=block,
        )
        tasks = [
            Task(number, regions[first : first + block], days[first : first + block])
            for number, first in enumerate(range(0, households, block))
        ]
        if processes is None:
            processes = default_processes(households)

        writer = BulkWriter(connection, columns)
        if empty:
            writer.drop_indexes()
        writer.derive_access(ids, block, coordinators)
        writer.start()
        try:
            for rows in _blocks(context, tasks, processes):
                writer.write(rows)
                if progress is not None:
                    progress(rows.households)
        finally:
            writer.finish()
        writer.end_access()
        if stage is not None:
            stage("indexes")
        writer.create_indexes()
        writer.reset_sequences()
        result.rows = dict(writer.rows)
    if stage is not None:
        stage("analyze")
    _analyze(engine)
    result.seconds = time.monotonic() - started
    return result


@contextlib.contextmanager
def _bulk_load(connection: Connection) -> Iterator[bool | None]:
    """SQLite settings for one large load on ``connection``, restored afterwards: a large page
    cache, sorts in memory, and no per-row foreign key look-ups (the rows reference users and
    regions read in the same transaction, and each other by ids assigned here; PostgreSQL
    checks them when it adds its constraints back).

    When no other connection has the database open, the load goes through a rollback journal
    instead of the write-ahead log: the pages are then written once, into the database,
    instead of into a log as large as the load (20 GB for a million households), whose pages
    every read must look up, and then copied into the database at the commit. The journal
    keeps the pages the load changes, synced before the database is written (``synchronous
    =FULL``), so a failed, killed or crashed run is undone: by the rollback, or by the next
    connection from the journal left behind. While the load runs, other connections fail to
    open the database, and a reader that got in before it holds up its writes. When another
    connection has the database open, the load keeps the write-ahead log, without syncing it
    (the database file is written only by the checkpoint after the commit).

    Yields whether the load goes through a rollback journal (``None`` on PostgreSQL).
    """
    if connection.dialect.name != "sqlite":
        yield None
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    settings = ("synchronous", "cache_size", "temp_store", "foreign_keys")
    before = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in settings}
    journal = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    switched = False
    if journal == "wal":
        # Leaving WAL needs the database to itself: SQLite says it is locked when another
        # connection has it open.
        with contextlib.suppress(sqlite3.OperationalError):
            raw.execute("PRAGMA journal_mode=DELETE")
            switched = True
    rollback = switched or journal != "wal"
    for statement in (
        f"PRAGMA synchronous={'FULL' if rollback else 'OFF'}",
        "PRAGMA cache_size=-262144",  # 256 MiB
        "PRAGMA temp_store=MEMORY",
        "PRAGMA foreign_keys=OFF",  # only outside a transaction, as here
    ):
        raw.execute(statement)
    try:
        yield rollback
    finally:
        for name, value in before.items():
            raw.execute(f"PRAGMA {name}={int(value)}")
        if switched:
            try:
                raw.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                # Another process read the database meanwhile and still does. The load is
                # committed or rolled back either way; the next connection of the app puts
                # the database back into WAL (see mda.extensions.sqlite_pragmas).
                log.warning("demo: SQLite database left in its rollback journal mode: %s", exc)


def default_processes(households: int) -> int:
    """Worker processes for a run: none (the caller's own) for a few blocks, else up to two."""
    if households < 4 * demo_blocks.BLOCK:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _blocks(context: Context, tasks: Sequence[Task], processes: int) -> Iterator[Rows]:
    """The rows of each block, in block order: simulated here, or by ``processes`` workers
    (a few blocks ahead of the writer, no more, so memory stays bounded)."""
    if processes <= 1 or len(tasks) <= 1:
        blocks = Blocks(context)
        for task in tasks:
            yield blocks.run(task)
        return
    spawn = multiprocessing.get_context("spawn")  # no inherited connections or threads
    with spawn.Pool(processes, initializer=start_worker, initargs=(context,)) as pool:
        waiting = iter(tasks)
        ahead = deque(
            pool.apply_async(run_block, (task,))
            for _n, task in zip(range(2 * processes), waiting, strict=False)
        )
        while ahead:
            rows = ahead.popleft().get()
            following = next(waiting, None)
            if following is not None:
                ahead.append(pool.apply_async(run_block, (following,)))
            yield rows


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics for the tables just filled.

    On PostgreSQL ``trajectories`` is vacuumed as well: its visibility map lets the worklist's
    count be an index-only scan of ``ix_trajectories_worklist`` (without it every open
    trajectory of the region is read from the table), and its hint bits are set now rather
    than by the first readers. The other tables are read by trajectory, a few rows at a time.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) trajectories")
            for name in (
                "trajectory_events",
                "access_log",
                "checklist_items",
                "safety_measurements",
                "deadlines",
            ):
                connection.exec_driver_sql(f"ANALYZE {name}")
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def _rules(session: Session) -> dict[DeadlineKind, Rule]:
    return {
        row.kind: Rule(
            kind=row.kind,
            amount=row.amount,
            unit=DueUnit(row.unit),
            remind_before=row.remind_before_working_days,
            recurring=row.recurring,
        )
        for row in session.scalars(select(DeadlineRule))
        if row.enabled
    }


def _next_ids(session: Session) -> Ids:
    def after(column: object) -> int:
        return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0) + 1

    return Ids(
        trajectory=after(Trajectory.id),
        event=after(TrajectoryEvent.id),
        access=after(AccessLogEntry.id),
        deadline=after(DeadlineRow.id),
        measurement=after(SafetyMeasurement.id),
    )


def _coordinators(session: Session, now: datetime) -> tuple[dict[str, list[Coordinator]], int]:
    """The active coordinators of each region; demo users where a region has none (or no
    manager). Returns them and how many users were created."""
    regions = [code for code in session.scalars(select(Region.code).order_by(Region.code))]
    missing = sorted(set(REGION_POPULATION) - set(regions))
    if missing:
        raise RuntimeError(f"regions {', '.join(missing)} are not loaded; run mda init first")
    rows = session.execute(
        select(User.id, User.username, User.role, user_regions.c.region_code, Organisation.name)
        .join(user_regions, user_regions.c.user_id == User.id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(User.active.is_(True), User.role.in_([Role.COORDINATOR, Role.MANAGER]))
        .order_by(User.id)
    ).all()
    found: dict[str, list[Coordinator]] = {code: [] for code in regions}
    managers: set[str] = set()
    for user_id, username, role, region, organisation in rows:
        if region not in found:
            continue
        if role is Role.MANAGER:
            managers.add(region)
        else:
            number = len(found[region]) + 1
            found[region].append(
                Coordinator(user_id, username, _address(regions, region, number), organisation)
            )
    created = 0
    by_code = {region.code: region for region in session.scalars(select(Region))}
    for region in regions:
        wanted: list[tuple[str, Role]] = []
        if not found[region]:
            count = 2 + REGION_POPULATION.get(region, 300) // 300
            wanted += [(f"demo.{region.lower()}.coordinator{n}", Role.COORDINATOR)
                       for n in range(1, count + 1)]  # fmt: skip
        if region not in managers:
            wanted.append((f"demo.{region.lower()}.manager", Role.MANAGER))
        for username, role in wanted:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                continue
            user = User(
                username=username,
                password_hash=DEMO_PASSWORD_HASH,
                role=role,
                active=True,
                must_change_password=True,
                session_token=secrets.token_hex(16),
                created_at=now,
                regions=[by_code[region]],
            )
            session.add(user)
            session.flush()
            created += 1
            session.add(
                AccessLogEntry(
                    at=now,
                    user_id=None,
                    username="system:demo",
                    action=AccessAction.CREATE,
                    object_type="user",
                    object_id=str(user.id),
                    channel="cli",
                    details={
                        "username": username,
                        "role": role.value,
                        "regions": [region],
                        "demo": True,
                    },
                )
            )
            if role is Role.COORDINATOR:
                number = len(found[region]) + 1
                found[region].append(
                    Coordinator(user.id, username, _address(regions, region, number))
                )
    session.flush()
    return found, created


def _address(regions: list[str], region: str, number: int) -> str:
    """A private address for a coordinator's workstation (the access log's "from where")."""
    return f"10.{regions.index(region) + 1}.{number // 250}.{number % 250 + 1}"


def household_counts(households: int) -> Mapping[str, int]:
    """How many of ``households`` each region gets (in proportion to its population)."""
    return allocate(households, REGION_POPULATION)
