"""The demo population: households simulated through the trajectory workflow, as table rows.

Each household walks through the workflow of :mod:`mda.workflows.trajectory` the way a
coordinator would drive it: registered, screened against the criteria (accepted, declined or
withdrawn), a team formed, immediate safety with its checklist and measurement 1, risk-driven
care, recovery and aftercare until measurement 3, closed with a reason; with dropouts,
relapses (the safety checklist confirmed again, the school told within 24 hours), plan reviews
met or acknowledged by hand, and re-entries within 12 months. Every transition is judged by the
workflow itself (:func:`mda.workflows.trajectory.fire`, memoised per situation, since a
situation judged once is judged the same way again), so every event log replays to the row
written beside it. Nothing goes through the per-step services: rows are produced as tuples for
the bulk writer (:mod:`mda.demo.writer`).

Moments are kept as integers: *local* seconds (``ordinal day * 86400 + seconds into the
Amsterdam day``) while simulating, converted to UTC when a row is written. All demo activity
happens in office hours, well away from the night of a change to or from summer time.

The figures below are a plausible picture, not statistics of the programme, except where said:
the violence levels of the three safety measurements are the impact monitor's (5th progress
report: severe 82 %, 65 %, 53 %; none 6 %, 19 %, 29 %).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import hmac
import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from mda.services import workdays
from mda.services.pseudonyms import PseudonymKeys, Salt, normalise
from mda.vocabulary import (
    ChildrenBucket,
    ClosureReason,
    DeadlineKind,
    DueUnit,
    ReferralSource,
    TrajectoryState,
    ViolenceLevel,
    ViolenceType,
)
from mda.workflows import trajectory as workflow

S = TrajectoryState
K = DeadlineKind
LOCAL = ZoneInfo("Europe/Amsterdam")
DAY = 86400

# --- the population's shape -------------------------------------------------------------

#: Approximate number of inhabitants (thousands, around 2020) of each GHNT region, after the
#: municipalities of its Veilig Thuis region. Households are spread over the regions in
#: proportion to these figures.
REGION_POPULATION: dict[str, int] = {
    "AWF": 510,
    "AMA": 1060,
    "ARA": 690,
    "BZO": 780,
    "DRE": 495,
    "FLE": 425,
    "FRI": 650,
    "GLZ": 560,
    "GVS": 255,
    "GRO": 585,
    "HGL": 1110,
    "HVB": 475,
    "HMI": 800,
    "IJS": 535,
    "KEN": 545,
    "KNH": 175,
    "NML": 520,
    "NOB": 655,
    "NOG": 830,
    "RRN": 1300,
    "TWE": 630,
    "UTR": 1290,
    "WBR": 710,
    "WVV": 375,
    "ZWL": 340,
    "ZEE": 385,
    "ZHZ": 450,
    "ZLI": 600,
}

REFERRAL_SOURCES: tuple[tuple[str, float], ...] = (
    (ReferralSource.VEILIG_THUIS.value, 0.44),
    (ReferralSource.LOCAL_TEAM.value, 0.20),
    (ReferralSource.POLICE.value, 0.10),
    (ReferralSource.CHILD_PROTECTION_BOARD.value, 0.07),
    (ReferralSource.CERTIFIED_INSTITUTION.value, 0.07),
    (ReferralSource.HEALTHCARE.value, 0.06),
    (ReferralSource.PUBLIC_PROSECUTOR.value, 0.03),
    (ReferralSource.OTHER.value, 0.03),
)
#: Each violence type's chance to be present in a household (at least one always is).
VIOLENCE_TYPES: tuple[tuple[str, float], ...] = (
    (ViolenceType.PARTNER_VIOLENCE.value, 0.70),
    (ViolenceType.CHILD_ABUSE.value, 0.55),
    (ViolenceType.SEXUAL_VIOLENCE.value, 0.12),
    (ViolenceType.ELDER_ABUSE.value, 0.04),
    (ViolenceType.HONOUR_RELATED_VIOLENCE.value, 0.03),
    (ViolenceType.HUMAN_TRAFFICKING.value, 0.01),
)
CHILDREN: tuple[tuple[str, float], ...] = (
    (ChildrenBucket.NONE.value, 0.20),
    (ChildrenBucket.ONE.value, 0.25),
    (ChildrenBucket.TWO.value, 0.30),
    (ChildrenBucket.THREE_OR_MORE.value, 0.25),
)
#: The impact monitor's distribution (none, moderate, severe) at measurements 1, 2 and 3.
MEASUREMENT_LEVELS: dict[int, tuple[float, float, float]] = {
    1: (0.06, 0.12, 0.82),
    2: (0.19, 0.16, 0.65),
    3: (0.30, 0.17, 0.53),
}
#: How strongly a household's measurements follow each other (the rest is a fresh draw).
LEVEL_PERSISTENCE = 0.6

#: Where a declined household is referred back to (free text, never an identifier).
REFERRED_BACK_TO = (
    "Lokaal team",
    "Veilig Thuis",
    "Wijkteam",
    "Huisarts",
    "Jeugdbescherming",
    "Reguliere hulpverlening",
)
ACKNOWLEDGE_NOTES = (
    "Evaluatie verplaatst naar het volgende MDA++ overleg",
    "Planbespreking uitgesteld, netwerk niet compleet",
    "Termijn bewust overschreden in overleg met het team",
)

# Outcomes, per household and phase.
P_CLOSED_BEFORE_SCREENING = 0.01
P_DECLINED = 0.14
P_WITHDRAWN_IN_SCREENING = 0.04
P_WITHDRAWN_IN_TEAM_FORMING = 0.03
P_CLOSED_IN_SAFETY = 0.04
P_CLOSED_IN_CARE = 0.10  # each of risk_care and recovery
P_RELAPSE = 0.09  # each of risk_care, recovery and aftercare, scaled by the household's severity
P_REOPEN = 0.07
P_REVIEW_MET = 0.55  # a six-weekly plan review met by hand (else late until the phase ends)
P_REVIEW_ACKNOWLEDGED = 0.08
P_SCHOOL_TOLD = 0.93
CLOSE_INTAKE = ((ClosureReason.HOUSEHOLD_WITHDREW, 0.7), (ClosureReason.MOVED_OUT_OF_REGION, 0.2),
                (ClosureReason.OTHER, 0.1))  # fmt: skip
CLOSE_CARE = ((ClosureReason.STEPPED_DOWN, 0.45), (ClosureReason.HOUSEHOLD_WITHDREW, 0.30),
              (ClosureReason.MOVED_OUT_OF_REGION, 0.15), (ClosureReason.OTHER, 0.10))  # fmt: skip

ACTIVE_CARE = workflow.ACTIVE_CARE
MEASUREMENT_STATES = frozenset({S.IMMEDIATE_SAFETY, S.RISK_CARE, S.RECOVERY, S.AFTERCARE})

#: The demo marker: every demo pseudonym starts with it. Real pseudonyms are Crockford base32,
#: which has no letter O, so no real pseudonym can ever start with ``DEMO-``.
DEMO_PREFIX = "DEMO-"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def demo_code(trajectory_id: int) -> str:
    """The demo pseudonym of trajectory ``trajectory_id``: ``DEMO-`` and 8 base32 digits."""
    digits = []
    value = trajectory_id
    for _ in range(8):
        value, rest = divmod(value, 32)
        digits.append(_CROCKFORD[rest])
    text = "".join(reversed(digits))
    return f"{DEMO_PREFIX}{text[:4]}-{text[4:]}"


def allocate(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``total`` spread over the keys in proportion to ``weights`` (largest remainder)."""
    whole = sum(weights.values())
    shares = {key: total * weight / whole for key, weight in weights.items()}
    counts = {key: int(share) for key, share in shares.items()}
    left = total - sum(counts.values())
    for key in sorted(shares, key=lambda k: (counts[k] - shares[k], k))[:left]:
        counts[key] += 1
    return counts


def _cumulative(table: Iterable[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values, bounds, running = [], [], 0.0
    for value, weight in table:
        running += weight
        values.append(value)
        bounds.append(running)
    return values, [b / running for b in bounds]


# --- the calendar -----------------------------------------------------------------------


def _noon_offset(day: date) -> int:
    """Amsterdam's offset from UTC (seconds) at noon on ``day``."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=LOCAL)
    offset = noon.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


class Calendar:
    """Working days, UTC offsets and formatted moments over a fixed range of days, O(1)."""

    def __init__(self, first: date, last: date, sqlite: bool) -> None:
        self.base = first.toordinal()
        self.size = (last - first).days + 1
        days = [first + timedelta(days=i) for i in range(self.size)]
        working = [workdays.is_working_day(d) for d in days]
        self.working = working
        self.workdays = [self.base + i for i, ok in enumerate(working) if ok]
        # How many working days fall on or before each day.
        self.upto: list[int] = []
        count = 0
        for ok in working:
            count += ok
            self.upto.append(count)
        self.offset = [_noon_offset(d) for d in days]
        self.sqlite = sqlite
        self._day_text: dict[int, str] = {}
        self._days = [d.isoformat() for d in days]
        self._shifted: dict[tuple[int, int, int], int] = {}
        self.clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]
        # A moment as the database column takes it is the day's text and one of these.
        suffix = ".000000" if sqlite else "+00"  # SQLite: as SQLAlchemy writes naive UTC
        self._stamp_clock = [f" {clock}{suffix}" for clock in self.clock]
        # The last local moment stamped: a step's event, the deadlines it opens or closes and
        # its checklist tick all carry the same moment.
        self._last_local = -1
        self._last_stamp = ""

    def is_working(self, day: int) -> bool:
        return self.working[day - self.base]

    def add_working_days(self, day: int, count: int) -> int:
        """The day ``count`` working days after (negative: before) ``day``, as workdays does."""
        index = self.upto[day - self.base]  # working days on or before ``day``
        if count >= 0:
            return self.workdays[index - 1 + count]
        before = index - self.working[day - self.base]  # working days before ``day``
        return self.workdays[before + count]

    def next_working_day(self, day: int) -> int:
        """``day`` itself when it is a working day, else the next one."""
        if self.working[day - self.base]:
            return day
        return self.workdays[self.upto[day - self.base]]

    def working_days_in(self, first: int, last: int) -> list[int]:
        """The working days from ``first`` to ``last`` (both included)."""
        lo = bisect.bisect_left(self.workdays, first)
        hi = bisect.bisect_right(self.workdays, last)
        return self.workdays[lo:hi]

    def utc(self, local: int) -> int:
        return local - self.offset[local // DAY - self.base]

    def local(self, utc: int) -> int:
        return utc + self.offset[utc // DAY - self.base]

    def add_months(self, day: int, months: int, days: int = 0) -> int:
        """The day ``months`` months and ``days`` days after ``day`` (relativedelta's way)."""
        key = (day, months, days)
        found = self._shifted.get(key)
        if found is None:
            shifted = date.fromordinal(day) + relativedelta(months=months, days=days)
            found = self._shifted[key] = shifted.toordinal()
        return found

    def day_text(self, day: int) -> str:
        index = day - self.base
        if 0 <= index < self.size:
            return self._days[index]
        text = self._day_text.get(day)
        if text is None:
            text = self._day_text[day] = date.fromordinal(day).isoformat()
        return text

    def stamp(self, utc: int) -> str:
        """A UTC moment as the database column takes it."""
        day, second = divmod(utc, DAY)
        index = day - self.base
        if 0 <= index < self.size:
            return self._days[index] + self._stamp_clock[second]
        return self.day_text(day) + self._stamp_clock[second]

    def local_stamp(self, local: int) -> str:
        """A local moment (see :meth:`utc`) as the database column takes it, in UTC."""
        if local == self._last_local:
            return self._last_stamp
        text = self.stamp(local - self.offset[local // DAY - self.base])
        self._last_local = local
        self._last_stamp = text
        return text

    def iso(self, utc: int) -> str:
        """A UTC moment as ``datetime.isoformat`` gives it (in JSON data)."""
        day, second = divmod(utc, DAY)
        return f"{self.day_text(day)}T{self.clock[second]}+00:00"

    def moment(self, utc: int) -> datetime:
        return datetime(1, 1, 1, tzinfo=UTC) + timedelta(seconds=utc - DAY)


# --- deadline rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    kind: DeadlineKind
    amount: int
    unit: DueUnit
    remind_before: int
    recurring: bool


class DueMoments:
    """Due moments and their computation, as :func:`mda.services.workdays.compute_due` has them.

    The calendar part of a computation depends only on the rule and the local start day, so
    it is computed once per day (by ``compute_due`` itself) and the moments are filled in.
    """

    def __init__(self, calendar: Calendar, rules: Mapping[DeadlineKind, Rule]) -> None:
        self.calendar = calendar
        self.rules = rules
        self._templates: dict[tuple[DeadlineKind, int], tuple[str, str, str, str, int]] = {}
        self._parts: dict[tuple[DeadlineKind, int], tuple[Any, ...]] = {}

    def _template(self, rule: Rule, day: int) -> tuple[str, str, str, str, int]:
        key = (rule.kind, day)
        found = self._templates.get(key)
        if found is not None:
            return found
        start = datetime.combine(date.fromordinal(day), datetime.min.time(), LOCAL).replace(hour=12)
        _due, computation = workdays.compute_due(start, rule.amount, rule.unit)
        for name, marker in (("start", "@@S@@"), ("term_end", "@@T@@"), ("due", "@@D@@")):
            computation[name] = marker
        text = json.dumps({"rule": rule.kind.value, **computation})
        head, rest = text.split('"@@S@@"')
        middle, rest = rest.split('"@@T@@"')
        tail_mid, tail = rest.split('"@@D@@"')
        due_day = _due.astimezone(LOCAL).date().toordinal()
        found = (head, middle, tail_mid, tail, due_day)
        self._templates[key] = found
        return found

    def _day_parts(self, rule: Rule, day: int) -> tuple[Any, ...]:
        """What :meth:`due` makes of a day-counted ``rule`` from local ``day``, cut where the
        moments' clock texts go: the start, term end and due day's UTC offsets and the texts
        around the three clocks (each moment's UTC day is its local day at office hours)."""
        cal = self.calendar
        head, middle, tail_mid, tail, due_day = self._template(rule, day)
        term_day = due_day if rule.unit is DueUnit.WORKING_DAYS else self._term_day(rule, day)
        offset = cal.offset
        return (
            f'{head}"{cal.day_text(day)}T',
            offset[day - cal.base],
            f'+00:00"{middle}"{cal.day_text(term_day)}T',
            offset[term_day - cal.base],
            f'+00:00"{tail_mid}"{cal.day_text(due_day)}T',
            offset[due_day - cal.base],
            f'+00:00"{tail}',
            due_day * DAY,
        )

    def _term_day(self, rule: Rule, day: int) -> int:
        """The local day a rule counted in days, weeks or months ends on, from ``day``."""
        if rule.unit is DueUnit.DAYS:
            return day + rule.amount
        if rule.unit is DueUnit.WEEKS:
            return day + 7 * rule.amount
        return self.calendar.add_months(day, rule.amount)

    def due(self, rule: Rule, start: int) -> tuple[int, str]:
        """(due moment in UTC seconds, computation JSON) of a deadline counted from ``start``
        (local seconds)."""
        cal = self.calendar
        day, second = divmod(start, DAY)
        if second >= 7200 and rule.unit is not DueUnit.HOURS:
            # Counted in days from a moment whose UTC clock is on the same day (any moment
            # after 02:00): the day's parts with the three clocks filled in.
            key = (rule.kind, day)
            parts = self._parts.get(key)
            if parts is None:
                parts = self._parts[key] = self._day_parts(rule, day)
            head, s_off, middle, t_off, tail_mid, d_off, tail, due_base = parts
            clock = cal.clock
            return due_base + second - d_off, (
                f"{head}{clock[second - s_off]}{middle}{clock[second - t_off]}"
                f"{tail_mid}{clock[second - d_off]}{tail}"
            )
        head, middle, tail_mid, tail, due_day = self._template(rule, day)
        start_utc = cal.utc(start)
        if rule.unit is DueUnit.HOURS:
            due = term = start_utc + rule.amount * 3600
        elif rule.unit is DueUnit.WORKING_DAYS:
            due = term = cal.utc(due_day * DAY + second)
        else:
            term = cal.utc(self._term_day(rule, day) * DAY + second)
            due = cal.utc(due_day * DAY + second)
        computation = (
            f'{head}"{cal.iso(start_utc)}"{middle}"{cal.iso(term)}"{tail_mid}"{cal.iso(due)}"{tail}'
        )
        return due, computation

    def next_action(self, rule: Rule, due: int, opened: int) -> int:
        """The reminder moment before ``due``, or ``due`` once that has passed (UTC seconds)."""
        if rule.remind_before > 0:
            cal = self.calendar
            local_due = cal.local(due)
            day, second = divmod(local_due, DAY)
            remind = cal.utc(cal.add_working_days(day, -rule.remind_before) * DAY + second)
            if remind > opened:
                return remind
        return due


# --- the simulation ---------------------------------------------------------------------


@dataclass
class Coordinator:
    id: int
    username: str
    remote_addr: str
    on_behalf_of: str | None = None


@dataclass
class Ids:
    """The next id of each table with a generated key (assigned here, on the client)."""

    trajectory: int = 1
    event: int = 1
    access: int = 1
    deadline: int = 1
    measurement: int = 1


@dataclass
class Batch:
    """Rows of a run of households, per table, in the writer's column order."""

    trajectories: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    checklist: list[tuple[Any, ...]] = field(default_factory=list)
    measurements: list[tuple[Any, ...]] = field(default_factory=list)
    deadlines: list[tuple[Any, ...]] = field(default_factory=list)

    def rows(self) -> int:
        return sum(
            len(rows)
            for rows in (
                self.trajectories,
                self.events,
                self.checklist,
                self.measurements,
                self.deadlines,
            )
        )


TRAJECTORY_COLUMNS = (
    "id",
    "pseudonym_hash",
    "pseudonym",
    "key_version",
    "region_code",
    "state",
    "version",
    "coordinator_id",
    "referral_source",
    "violence_types",
    "children",
    "closure_reason",
    "referred_back_to",
    "suspended_at",
    "suspension_reason",
    "created_at",
    "state_entered_at",
    "closed_at",
    "reentries",
    "relapses",
    "updated_at",
    "redacted_at",
)
#: Columns of migration 0005, written when the model has them.
TRAJECTORY_EXTRA_COLUMNS = ("referred_on", "next_due_at", "next_due_kind")
EVENT_COLUMNS = (
    "id",
    "trajectory_id",
    "seq",
    "at",
    "actor_id",
    "kind",
    "trigger",
    "from_state",
    "to_state",
    "reason",
    "data",
    "redacted_at",
)
ACCESS_COLUMNS = (
    "id",
    "at",
    "user_id",
    "username",
    "on_behalf_of",
    "action",
    "object_type",
    "object_id",
    "trajectory_id",
    "channel",
    "remote_addr",
    "details",
)
CHECKLIST_COLUMNS = ("trajectory_id", "key", "done", "details", "updated_at", "updated_by_id")
MEASUREMENT_COLUMNS = (
    "id",
    "trajectory_id",
    "number",
    "measured_on",
    "violence_level",
    "safety_score",
    "recorded_at",
    "recorded_by_id",
)
DEADLINE_COLUMNS = (
    "id",
    "trajectory_id",
    "region_code",
    "kind",
    "status",
    "opened_at",
    "due_at",
    "next_action_at",
    "stage",
    "escalations",
    "closed_at",
    "closed_by_id",
    "version",
    "computation",
    "note",
)
# Indices into a deadline row while it is being built.
_D_STATUS, _D_NEXT, _D_CLOSED, _D_BY, _D_VERSION, _D_NOTE = 4, 7, 10, 11, 12, 14


class _Cutoff(Exception):
    """The household's next step lies after the moment the population is taken."""


@dataclass(frozen=True)
class Options:
    """What shapes a run: its moment, the rules in force and the extra columns present."""

    now: datetime
    screening_rule: workflow.ScreeningRule = workflow.DEFAULT_SCREENING_RULE
    referred_on_column: bool = False
    next_due_columns: bool = False


class Simulator:
    """Walks households through the workflow and appends their rows to a :class:`Batch`."""

    def __init__(
        self,
        seed: int,
        calendar: Calendar,
        rules: Mapping[DeadlineKind, Rule],
        coordinators: Mapping[str, list[Coordinator]],
        keys: PseudonymKeys,
        ids: Ids,
        options: Options,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (a reproducible simulation)
        self.cal = calendar
        self.rules = rules
        self.due_moments = DueMoments(calendar, rules)
        self.coordinators = coordinators
        self.keys = keys
        self.ids = ids
        self.options = options
        now_utc = int((options.now - datetime(1, 1, 1, tzinfo=UTC)).total_seconds()) + DAY
        self.end = calendar.local(now_utc)
        self.end_utc = calendar.utc(self.end)
        self.rule_json = options.screening_rule.as_data()
        self._memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._json: dict[tuple[Any, ...], str] = {}
        self._allowed: dict[tuple[TrajectoryState, str], bool] = {}
        self._sources = _cumulative(REFERRAL_SOURCES)
        self._children = _cumulative(CHILDREN)
        self._close_intake = _cumulative(CLOSE_INTAKE)
        self._close_care = _cumulative(CLOSE_CARE)

    def start_block(self, seed: str, ids: Ids) -> None:
        """Continue with a fresh random stream and the id ranges of another block."""
        self.rng = random.Random(seed)  # noqa: S311 (a reproducible simulation)
        self.ids = ids

    # --- small helpers ------------------------------------------------------------------

    def _pick(self, table: tuple[list[Any], list[float]]) -> Any:
        values, bounds = table
        return values[bisect.bisect_left(bounds, self.rng.random())]

    def _office(self, moment: int) -> int:
        """``moment``, moved into office hours (08:00-18:00) of a working day when outside
        them, and after the household's previous step."""
        day, second = divmod(moment, DAY)
        cal = self.cal
        if second >= 64800:
            day, second = cal.next_working_day(day + 1), 28800 + self.rng.randrange(3600)
        elif not cal.is_working(day):
            day, second = cal.next_working_day(day), 28800 + self.rng.randrange(3600)
        elif second < 28800:
            second = 28800 + self.rng.randrange(3600)
        at = day * DAY + second
        if at <= self.last:
            at = self.last + 60 + self.rng.randrange(600)
        if at > self.end:
            raise _Cutoff
        return at

    def _after_days(self, start: int, low: float, high: float, mode: float) -> int:
        return start + int(self.rng.triangular(low, high, mode) * DAY)

    def _after_working_days(self, start: int, low: int, high: int, mode: float) -> int:
        count = round(self.rng.triangular(low, high, mode))
        day = self.cal.add_working_days(start // DAY, count)
        return day * DAY + self.rng.randrange(28800, 64800)

    # --- one household ------------------------------------------------------------------

    def household(self, region: str, registered_day: int, batch: Batch) -> None:
        """Simulate one household registered on ``registered_day`` (ordinal) in ``region``."""
        rng = self.rng
        cal = self.cal
        self.batch = batch
        self.tid = self.ids.trajectory
        self.ids.trajectory += 1
        self.region = region
        coordinator = rng.choice(self.coordinators[region])
        self.actor = coordinator
        self.seq = 0
        self.state = S.REFERRED
        self.checklist: dict[str, bool | None] = {}
        self.checklist_at: dict[str, str] = {}  # key -> its moment, stamped
        self.measured: dict[int, int] = {}  # number -> measurement 1 clock (for 1 only) or 0
        self.m1_clock = 0
        self.pending: list[tuple[int, int, int]] = []  # (recorded, number, measured_on day)
        self.open: dict[DeadlineKind, list[Any]] = {}
        self.open_due: dict[DeadlineKind, int] = {}
        self.deadlines: list[list[Any]] = []
        self.timers: dict[DeadlineKind, tuple[int, str]] = {}
        self.accepted = False
        self.closure_reason: ClosureReason | None = None
        self.referred_back_to: str | None = None
        self.closed_at = 0
        self.relapses = 0
        self.reentries = 0
        self.severity = rng.random()
        sources = self._pick(self._sources)
        children = self._pick(self._children)
        types = [name for name, chance in VIOLENCE_TYPES if rng.random() < chance]
        if not types:
            types = [ViolenceType.PARTNER_VIOLENCE.value]
        if ViolenceType.CHILD_ABUSE.value in types and children == ChildrenBucket.NONE.value:
            children = ChildrenBucket.ONE.value
        self.children = children

        # The referral reached the team on ``referred_on``, registered then or a few days later.
        if rng.random() < 0.55:
            referred_on = registered_day
        else:
            referred_on = cal.add_working_days(registered_day, -rng.randint(1, 4))
        self.last = 0
        registered = registered_day * DAY + rng.randrange(30600, 61200)
        if registered > self.end:
            registered = max(registered_day * DAY + 60, self.end - rng.randrange(60, 3600))
        self.created = registered
        self.last = registered
        self.state_entered = registered
        self._register(registered, sources, types, referred_on)
        with contextlib.suppress(_Cutoff):  # the rest of its walk lies in the future
            self._walk(registered)
        self._finish(sources, types, referred_on)

    def _register(self, at: int, source: str, types: list[str], referred_on: int) -> None:
        # As json.dumps writes it (codes, numbers and dates: nothing to escape).
        referred = (
            f'"referred_on": "{self.cal.day_text(referred_on)}", '
            if self.options.referred_on_column
            else ""
        )
        data = (
            f'{{"region": "{self.region}", "referral_source": "{source}", '
            f'"violence_types": {self._json_list(types)}, "children": "{self.children}", '
            f'"coordinator_id": {self.actor.id}, {referred}"demo": true}}'
        )  # "demo": the marker, beside the pseudonym's DEMO- prefix
        self._event(at, "registered", None, None, S.REFERRED.value, None, data)
        # Deadlines counted from the referral count from its date (at the registering hour).
        start = at
        if self.options.referred_on_column:
            start = referred_on * DAY + at % DAY
        for kind in workflow.OPENED_ON_REGISTRATION:
            self._open(kind, at, start)

    def _event(
        self,
        at: int,
        kind: str,
        trigger: str | None,
        from_state: str | None,
        to_state: str | None,
        reason: str | None,
        data: str,
    ) -> None:
        seq = self.seq = self.seq + 1
        self.last = at
        stamp = self.updated = self.cal.local_stamp(at)
        ids = self.ids
        actor = self.actor
        tid = self.tid
        self.batch.events.append(
            (ids.event, tid, seq, stamp, actor.id, kind, trigger, from_state, to_state,
             reason, data, None)
        )  # fmt: skip
        ids.event += 1

    # --- deadlines ----------------------------------------------------------------------

    def _open(self, kind: DeadlineKind, at: int, start: int | None = None) -> bool:
        """Open a ``kind`` deadline at ``at`` (counted from ``start``); False if it cannot."""
        rule = self.rules.get(kind)
        if rule is None or kind in self.open:
            return False
        cal = self.cal
        due, computation = self.due_moments.due(rule, at if start is None else start)
        opened = cal.utc(at)
        due_stamp = cal.stamp(due)
        action = self.due_moments.next_action(rule, due, opened)
        row = [
            self.ids.deadline,
            self.tid,
            self.region,
            kind.value,
            "open",
            cal.local_stamp(at),
            due_stamp,
            due_stamp if action == due else cal.stamp(action),
            0,
            0,
            None,
            None,
            1,
            computation,
            None,
        ]
        self.ids.deadline += 1
        self.deadlines.append(row)
        self.open[kind] = row
        self.open_due[kind] = due
        self._plan_by_hand(kind, due)
        return True

    def _plan_by_hand(self, kind: DeadlineKind, due: int) -> None:
        """Whether and when a coordinator meets or acknowledges this deadline by hand."""
        rng = self.rng
        cal = self.cal
        if kind is K.PLAN_REVIEW_DUE:
            draw = rng.random()
            if draw < P_REVIEW_MET:
                moment = cal.local(due) + int(rng.triangular(-10, 21, 0) * DAY)
                self.timers[kind] = (moment, "met")
            elif draw < P_REVIEW_MET + P_REVIEW_ACKNOWLEDGED:
                moment = cal.local(due) + int(rng.triangular(3, 25, 7) * DAY)
                self.timers[kind] = (moment, "acknowledged")
        elif kind is K.SCHOOL_NOTICE_DUE and rng.random() < P_SCHOOL_TOLD:
            hours = rng.triangular(1, 60, 6)
            self.timers[kind] = (cal.local(due) + int((hours - 24) * 3600), "met")

    def _close(self, kinds: Iterable[DeadlineKind], status: str, at: int) -> list[str]:
        closed = []
        stamp = None
        for kind in kinds:
            row = self.open.pop(kind, None)
            if row is None:
                continue
            del self.open_due[kind]
            self.timers.pop(kind, None)
            if stamp is None:
                stamp = self.cal.local_stamp(at)
            row[_D_STATUS] = status
            row[_D_NEXT] = None
            row[_D_CLOSED] = stamp
            row[_D_BY] = self.actor.id
            row[_D_VERSION] = 2
            closed.append(kind.value)
        return sorted(set(closed))

    def _apply(self, changes: workflow.DeadlineChanges, at: int) -> tuple[list[str], ...]:
        met = self._close(changes.meet, "met", at)
        cancelled = self._close(changes.cancel, "cancelled", at)
        opened = []
        for kind in changes.open:
            start = None
            if kind in workflow.OPENED_BY_MEASUREMENT.get(1, ()) and self.m1_clock:
                start = self.m1_clock  # measurements 2 and 3 count from measurement 1's date
            if self._open(kind, at, start):
                opened.append(kind.value)
        return met, cancelled, sorted(set(opened))

    # --- steps --------------------------------------------------------------------------

    def _due_steps(self, until: int) -> None:
        """Measurements and deadlines met by hand that fall before ``until``, in time order."""
        while True:
            next_at, measurement, timer = until, False, None
            if self.pending and self.pending[0][0] <= next_at and self.state in MEASUREMENT_STATES:
                next_at, measurement = self.pending[0][0], True
            for kind, (moment, _how) in self.timers.items():
                if moment <= next_at:
                    next_at, measurement, timer = moment, False, kind
            if timer is not None:
                moment, how = self.timers.pop(timer)
                self._by_hand(timer, how, moment)
            elif measurement:
                _recorded, number, measured_on = self.pending.pop(0)
                self._measure(next_at, number, measured_on)
            else:
                return

    def _step(self, moment: int) -> int:
        """The office-hours moment of the next step at about ``moment``, after what is due."""
        at = self._office(moment)
        self._due_steps(at)
        return self._office(max(at, self.last + 60))

    def _check(self, at: int, key: str, done: bool) -> None:
        at = self._step(at)
        allowed = self._allowed.get((self.state, key))
        if allowed is None:
            problems = workflow.checklist_allowed(workflow.TrajectoryFacts(state=self.state), key)
            allowed = self._allowed[(self.state, key)] = not problems
        if not allowed:
            raise AssertionError(f"demo walk ticks {key} in {self.state}")
        self.checklist[key] = done
        self.checklist_at[key] = self.cal.local_stamp(at)
        met: list[str] = []
        deadline_kind = workflow.MET_BY_CHECKLIST.get(key)
        if deadline_kind is not None and done:
            met = self._close([deadline_kind], "met", at)
            data = self._checklist_json(key, done, {"met": met})
        else:
            data = self._checklist_json(key, done, {})
        self._event(at, "checklist", None, None, None, None, data)

    def _json_list(self, values: list[str]) -> str:
        """``json.dumps(values)`` of a list of codes, made once."""
        key = ("list", *values)
        text = self._json.get(key)
        if text is None:
            text = self._json[key] = json.dumps(values)
        return text

    def _deadlines_json(self, names: tuple[str, ...], *kinds: list[str]) -> str:
        """``json.dumps`` of the deadlines changed by a step (``names`` to lists of kinds),
        made once for each combination."""
        key = (names, *(tuple(k) for k in kinds))
        text = self._json.get(key)
        if text is None:
            text = self._json[key] = json.dumps(dict(zip(names, kinds, strict=True)))
        return text

    def _checklist_json(self, key: str, done: bool, deadlines: dict[str, Any]) -> str:
        memo = (key, done, tuple(deadlines.get("met", ())), bool(deadlines))
        text = self._json.get(memo)
        if text is None:
            text = json.dumps({"key": key, "done": done, "deadlines": deadlines})
            self._json[memo] = text
        return text

    def _facts(self) -> workflow.TrajectoryFacts:
        return workflow.TrajectoryFacts(
            state=self.state,
            version=self.seq,
            region=self.region,
            coordinator_id=self.actor.id,
            checklist={k: v for k, v in self.checklist.items() if v is not None},
            measurements=set(self.measured),
            children=self.children,
            closure_reason=self.closure_reason,
            referred_back_to=self.referred_back_to,
            closed_at=self.cal.moment(self.cal.utc(self.closed_at)) if self.closed_at else None,
            relapses=self.relapses,
            reentries=self.reentries,
            accepted=self.accepted,
        )

    def _fire(
        self,
        at: int,
        trigger: str,
        closure_reason: ClosureReason | None = None,
        referred_back_to: str | None = None,
        incident_day: int | None = None,
    ) -> None:
        """Fire ``trigger`` at about ``at`` as the workflow judges it, and write its rows."""
        at = self._step(at)
        key = (
            self.state,
            trigger,
            closure_reason,
            referred_back_to is not None,
            incident_day is not None,
            frozenset(item for item in self.checklist.items() if item[1] is not None),
            frozenset(self.measured),
            self.children != ChildrenBucket.NONE.value,
            self.accepted,
            self.closure_reason,
        )
        judged = self._memo.get(key)
        if judged is None:
            facts = self._facts()
            incident = None if incident_day is None else date.fromordinal(incident_day)
            transition = workflow.fire(
                facts,
                trigger,
                now=self.cal.moment(self.cal.utc(at)),
                closure_reason=closure_reason,
                referred_back_to=referred_back_to,
                incident_date=incident,
                screening_rule=self.options.screening_rule,
            )
            judged = (transition.dest, transition.deadlines, transition.reset_checklist)
            self._memo[key] = judged
        dest, changes, reset = judged
        source = self.state
        self.state = dest
        self.state_entered = at
        if dest is S.CLOSED:
            self.closure_reason = closure_reason or ClosureReason.NOT_ELIGIBLE
            self.closed_at = at
            if trigger == "decline":
                self.referred_back_to = referred_back_to
        for item in reset:
            self.checklist[item] = None
            self.checklist_at[item] = self.cal.local_stamp(at)
        if trigger == "accept":
            self.accepted = True
        elif trigger == "relapse":
            self.relapses += 1
        elif trigger == "reopen":
            self.reentries += 1
            self.closure_reason = None
            self.closed_at = 0
            self.referred_back_to = None
        met, cancelled, opened = self._apply(changes, at)
        memo = (trigger, closure_reason, referred_back_to, tuple(met), tuple(cancelled),
                tuple(opened))  # fmt: skip
        text = None if incident_day is not None else self._json.get(memo)
        if text is None:
            text = self._transition_json(
                trigger, closure_reason, referred_back_to, incident_day, met, cancelled, opened
            )
            if incident_day is None:
                self._json[memo] = text
        self._event(at, "transition", trigger, source.value, dest.value, None, text)

    def _transition_json(
        self,
        trigger: str,
        closure_reason: ClosureReason | None,
        referred_back_to: str | None,
        incident_day: int | None,
        met: list[str],
        cancelled: list[str],
        opened: list[str],
    ) -> str:
        params: dict[str, str] = {}
        if closure_reason is not None:
            params["closure_reason"] = closure_reason.value
        if incident_day is not None:
            params["incident_date"] = self.cal.day_text(incident_day)
        if referred_back_to is not None:
            params["referred_back_to"] = referred_back_to
        data: dict[str, Any] = {
            "params": params,
            "deadlines": {"met": met, "cancelled": cancelled, "opened": opened},
        }
        if trigger == "accept":
            data["screening_rule"] = self.rule_json
        return json.dumps(data)

    def _measure(self, at: int, number: int, measured_on: int) -> None:
        at = self._office(at)
        rng = self.rng
        none, moderate, _severe = MEASUREMENT_LEVELS.get(number, MEASUREMENT_LEVELS[3])
        draw = self.severity if rng.random() < LEVEL_PERSISTENCE else rng.random()
        if draw < none:
            level, score = ViolenceLevel.NONE.value, rng.randint(6, 10)
        elif draw < none + moderate:
            level, score = ViolenceLevel.MODERATE.value, rng.randint(4, 7)
        else:
            level, score = ViolenceLevel.SEVERE.value, rng.randint(1, 5)
        safety_score = None if rng.random() < 0.1 else score
        stamp = self.cal.local_stamp(at)
        self.batch.measurements.append(
            (self.ids.measurement, self.tid, number, self.cal.day_text(measured_on), level,
             safety_score, stamp, self.actor.id)
        )  # fmt: skip
        self.ids.measurement += 1
        self.measured[number] = measured_on
        if number == 1:
            # Where the follow-up measurements count from: measured_on, at the recording hour.
            self.m1_clock = measured_on * DAY + at % DAY
            for follow_up, months in ((2, 6), (3, 18)):
                on = self.cal.add_months(measured_on, months) + round(rng.triangular(-20, 60, 4))
                on = max(on, measured_on + 1)
                recorded = on * DAY + rng.randrange(30600, 61200) + rng.choice((0, 0, DAY, 3 * DAY))
                self.pending.append((recorded, follow_up, on))
        opened_kinds = workflow.OPENED_BY_MEASUREMENT.get(number, ())
        met_kinds = tuple(k for n, k in workflow.MET_BY_MEASUREMENT.items() if n == number)
        met, cancelled, opened = self._apply(
            workflow.DeadlineChanges(open=opened_kinds, meet=met_kinds), at
        )
        deadlines = self._deadlines_json(("met", "cancelled", "opened"), met, cancelled, opened)
        score_text = "null" if safety_score is None else safety_score
        data = (
            f'{{"number": {number}, "measured_on": "{self.cal.day_text(measured_on)}", '
            f'"violence_level": "{level}", "safety_score": {score_text}, '
            f'"deadlines": {deadlines}}}'
        )
        self._event(at, "measurement", None, None, None, None, data)

    def _by_hand(self, kind: DeadlineKind, how: str, at: int) -> None:
        """Meet (``met``) or acknowledge a deadline by hand, as mda.services.deadlines does."""
        at = self._office(at)
        row = self.open.get(kind)
        if row is None:
            return
        note = None
        if how == "acknowledged":
            if self.cal.utc(at) < self.open_due[kind]:
                return
            note = self.rng.choice(ACKNOWLEDGE_NOTES)
        deadline_id = row[0]
        closed = self._close([kind], how, at)
        row[_D_NOTE] = note
        opened: list[str] = []
        rule = self.rules.get(kind)
        if rule is not None and rule.recurring and self._open(kind, at):
            opened = [kind.value]
        deadlines = self._deadlines_json((how, "opened"), closed, opened)
        data = f'{{"deadline_id": {deadline_id}, "kind": "{kind.value}", "deadlines": {deadlines}}}'
        self._event(at, f"deadline_{how}", None, None, None, note, data)

    # --- the walk -----------------------------------------------------------------------

    def _close_for(self, at: int, table: tuple[list[Any], list[float]]) -> None:
        self._fire(at, "close", closure_reason=self._pick(table))

    def _walk(self, registered: int) -> None:
        rng = self.rng
        if rng.random() < P_CLOSED_BEFORE_SCREENING:
            self._close_for(self._after_working_days(registered, 1, 8, 3), self._close_intake)
            return
        t = self._after_working_days(registered, 0, 3, 0)
        self._fire(t, "start_screening")
        self._screening(self.last)
        while self.state is not S.CLOSED or self._reopens():
            handler = {
                S.TEAM_FORMING: self._team_forming,
                S.IMMEDIATE_SAFETY: self._immediate_safety,
                S.RISK_CARE: self._care,
                S.RECOVERY: self._care,
                S.AFTERCARE: self._aftercare,
            }[self.state]
            handler(self.last)

    def _screening(self, start: int) -> None:
        rng = self.rng
        rule = self.options.screening_rule
        draw = rng.random()
        if draw < P_DECLINED:
            outcome = "decline"
        elif draw < P_DECLINED + P_WITHDRAWN_IN_SCREENING:
            outcome = "close"
        else:
            outcome = "accept"
        while True:
            values = {key: rng.random() < 0.8 for key in rule.criteria}
            for key in rule.required:
                values[key] = outcome != "decline" or rng.random() < 0.5
            if bool(rule.unmet(values)) == (outcome == "decline"):
                break
        end = self._after_working_days(start, 2, 14, 5)
        keys = list(rule.criteria)
        if outcome == "close":
            keys = keys[: rng.randint(0, len(keys))]
        moments = sorted(start + rng.randrange(max(1, end - start)) for _ in keys)
        for key, moment in zip(keys, moments, strict=True):
            self._check(moment, key, values[key])
        if outcome == "accept":
            self._fire(end, "accept")
        elif outcome == "decline":
            self._fire(
                end,
                "decline",
                closure_reason=ClosureReason.NOT_ELIGIBLE,
                referred_back_to=rng.choice(REFERRED_BACK_TO),
            )
        else:
            self._close_for(end, self._close_intake)

    def _ticks(self, start: int, end: int, share: float = 0.8, stop: int | None = None) -> None:
        """Tick the state's checklist items not yet done, spread over the first ``share`` of
        ``start`` to ``end`` (those planned before ``stop`` only, when given)."""
        rng = self.rng
        keys = [s.key for s in workflow.checklist_for(self.state) if not self.checklist.get(s.key)]
        span = max(1, int((end - start) * share))
        for moment, key in sorted((start + rng.randrange(span), key) for key in keys):
            if stop is None or moment < stop:
                self._check(moment, key, True)

    def _team_forming(self, start: int) -> None:
        end = self._after_working_days(start, 3, 18, 7)
        if self.rng.random() < P_WITHDRAWN_IN_TEAM_FORMING:
            stop = start + self.rng.randrange(max(1, end - start))
            self._ticks(start, end, stop=stop)
            self._close_for(stop, self._close_intake)
            return
        self._ticks(start, end)
        self._fire(end, "form_team")

    def _immediate_safety(self, start: int) -> None:
        rng = self.rng
        cal = self.cal
        plan = {
            "safety_conditions_set": self._after_working_days(start, 0, 5, 1),
            "safety_plan_made": self._after_working_days(start, 1, 10, 3),
            "trauma_screening_considered": self._after_working_days(start, 1, 15, 5),
        }
        latest = max(plan.values())
        if 1 not in self.measured and not any(n == 1 for _r, n, _d in self.pending):
            measured_on = cal.add_working_days(start // DAY, round(rng.triangular(1, 16, 6)))
            recorded = measured_on * DAY + rng.randrange(30600, 61200)
            if rng.random() < 0.3:
                recorded = cal.add_working_days(measured_on, rng.randint(1, 3)) * DAY + 36000
            self.pending.insert(0, (recorded, 1, measured_on))
            latest = max(latest, recorded)
        end = max(self._after_days(start, 12, 120, 35), latest + DAY)
        if rng.random() < P_CLOSED_IN_SAFETY:
            stop = start + rng.randrange(max(1, end - start))
            for key, moment in sorted(plan.items(), key=lambda item: item[1]):
                if moment < stop and not self.checklist.get(key):
                    self._check(moment, key, True)
            self._close_for(stop, self._close_care)
            return
        for key, moment in sorted(plan.items(), key=lambda item: item[1]):
            if not self.checklist.get(key):
                self._check(moment, key, True)
        self._due_steps(end)
        if 1 not in self.measured:  # recorded late: the phase waits for it
            self._due_steps(self.pending[0][0])
        self._fire(max(end, self.last), "safety_established")

    def _interrupt(self, start: int, end: int, close_chance: float) -> bool:
        """Maybe end the phase early by a closure or a relapse; True when it did."""
        rng = self.rng
        relapse_chance = P_RELAPSE * (0.5 + self.severity) / (1 + self.relapses)
        draw = rng.random()
        if draw >= close_chance + relapse_chance:
            return False
        stop = start + rng.randrange(max(1, end - start))
        self._ticks(start, end, share=0.7, stop=stop)
        if draw < close_chance:
            self._close_for(stop, self._close_care)
        else:
            at = self._step(stop)
            incident = max(at // DAY - rng.randint(0, 7), self.created // DAY)
            self._fire(at, "relapse", incident_day=incident)
        return True

    def _care(self, start: int) -> None:
        end = self._after_days(start, 35, 300, 110)
        if self._interrupt(start, end, P_CLOSED_IN_CARE):
            return
        self._ticks(start, end, share=0.7)
        self._fire(end, "risks_addressed" if self.state is S.RISK_CARE else "recovery_completed")

    def _aftercare(self, start: int) -> None:
        end = self._after_days(start, 30, 150, 60)
        third = next((recorded for recorded, n, _d in self.pending if n == 3), None)
        if third is not None:
            end = max(end, third + int(self.rng.triangular(5, 40, 10) * DAY))
        if self._interrupt(start, end, 0.0):
            return
        self._fire(end, "close", closure_reason=ClosureReason.GOALS_MET)

    def _reopens(self) -> bool:
        """Whether the closed household comes back within 12 months (a re-entry)."""
        if (
            not self.accepted
            or self.closure_reason is ClosureReason.NOT_ELIGIBLE
            or self.rng.random() >= P_REOPEN
        ):
            return False
        at = self._after_days(self.closed_at, 14, 330, 80)
        if 1 in self.measured:  # follow-up measurements missed while closed come late
            self.pending = [(max(r, at + 3600), n, day) for r, n, day in self.pending]
        else:  # measurement 1 is planned again in immediate safety
            self.pending = []
        self._fire(at, "reopen")
        return True

    # --- the rows -----------------------------------------------------------------------

    def _finish(self, source: str, types: list[str], referred_on: int) -> None:
        cal = self.cal
        actor = self.actor
        batch = self.batch
        code = demo_code(self.tid)
        # Salted like a real registration in this region (generation 0): see pseudonyms.Salt.
        digest = hmac.new(
            self.keys.current, Salt(self.region).prefix() + normalise(code).encode(), hashlib.sha256
        ).hexdigest()
        closed = cal.local_stamp(self.closed_at) if self.state is S.CLOSED else None
        row: tuple[Any, ...] = (
            self.tid,
            digest,
            code,
            self.keys.current_version,
            self.region,
            self.state.value,
            self.seq,
            actor.id,
            source,
            self._json_list(types),
            self.children,
            None if self.closure_reason is None else self.closure_reason.value,
            self.referred_back_to,
            None,
            None,
            cal.local_stamp(self.created),
            cal.local_stamp(self.state_entered),
            closed,
            self.reentries,
            self.relapses,
            self.updated,
            None,
        )
        if self.options.referred_on_column:
            row += (cal.day_text(referred_on),)
        if self.options.next_due_columns:
            if self.open_due:
                kind = min(self.open_due, key=lambda k: (self.open_due[k], k.value))
                row += (cal.stamp(self.open_due[kind]), kind.value)
            else:
                row += (None, None)
        batch.trajectories.append(row)
        for key, done in self.checklist.items():
            batch.checklist.append((self.tid, key, done, None, self.checklist_at[key], actor.id))
        batch.deadlines.extend(tuple(d) for d in self.deadlines)


def registration_days(
    rng: random.Random, calendar: Calendar, first: date, last: date, count: int
) -> list[int]:
    """``count`` working days from ``first`` to ``last``, sorted, inflow growing a little."""
    days = calendar.working_days_in(first.toordinal(), last.toordinal())
    if not days:
        raise ValueError("no working day between the start and today")
    span = len(days)
    # Inflow grows by about a third over the period (more regions running MDA++).
    picks = [days[min(span - 1, int(span * (rng.random() ** 0.8)))] for _ in range(count)]
    picks.sort()
    return picks


def regions_in_order(rng: random.Random, counts: Mapping[str, int]) -> list[str]:
    """Each region code as often as its count, in a seeded random order."""
    order = [code for code in sorted(counts) for _ in range(counts[code])]
    rng.shuffle(order)
    return order


ProgressFn = Callable[[int], None]
