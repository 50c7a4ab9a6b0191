"""Implausible dates are refused: measurements and relapses within the trajectory's life,
half-year report periods within the programme, "today" always the Dutch date.

A refusal is a 422 (:class:`ValidationError`) naming the field and the allowed range, and
writes nothing: no event, no new version, no measurement, no report.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from mda.models import HalfYearReport, Trajectory, TrajectoryEvent
from mda.services import regions as region_svc
from mda.services import trajectories as svc
from mda.services.clock import NL, half_year_nl, today_nl
from mda.services.errors import ValidationError
from mda.services.settings import settings_of, use_settings
from mda.vocabulary import Role
from mda.vocabulary import TrajectoryState as S
from mda.workflows import trajectory as wf
from tests.services.steps import drive
from tests.support import factories

ANCIENT = date(1, 1, 1)


def at_nl(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """The moment ``hour:minute`` Amsterdam time on ``day``, as UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=NL).astimezone(UTC)


def written(session, trajectory_id: int) -> tuple[int, int, int]:
    """(events, version, measurements) of a trajectory, as the database has them."""
    events = session.scalar(
        select(func.count())
        .select_from(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == trajectory_id)
    )
    row = session.get(Trajectory, trajectory_id, populate_existing=True)
    return events, row.version, len(row.measurements)


def first_day(trajectory) -> date:
    return today_nl(trajectory.created_at)


def refused(session, trajectory_id: int, field: str, call, **kwargs) -> ValidationError:
    """``call`` must be refused with a ValidationError on ``field``, writing nothing."""
    before = written(session, trajectory_id)
    with pytest.raises(ValidationError) as exc:
        call(session, **kwargs)
    assert field in exc.value.details, exc.value.details
    assert re.search(r"from \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d", exc.value.details[field])
    assert field in exc.value.message
    assert written(session, trajectory_id) == before
    return exc.value


@pytest.fixture
def safety(session, coordinator, act):
    """A trajectory in immediate_safety without measurements (registered today)."""
    return drive(session, act, factories.trajectory(session, coordinator), S.IMMEDIATE_SAFETY)


@pytest.fixture
def risk(session, coordinator, act):
    """A trajectory in risk_care (measurement 1 recorded today), ready for a relapse."""
    return drive(session, act, factories.trajectory(session, coordinator), S.RISK_CARE)


def measure(session, act, trajectory, number, day, now=None):
    return svc.record_measurement(
        session,
        act,
        trajectory.id,
        number=number,
        measured_on=day,
        violence_level="moderate",
        now=now,
    )


def relapse(session, act, trajectory, day, now=None):
    return svc.fire_trigger(session, act, trajectory.id, "relapse", incident_date=day, now=now)


# --- the Dutch clock ------------------------------------------------------------------------


def test_today_nl_is_the_amsterdam_date():
    # Winter (CET, UTC+1): 23:30 UTC is 00:30 the next day in Amsterdam.
    assert today_nl(datetime(2026, 3, 10, 23, 30, tzinfo=UTC)) == date(2026, 3, 11)
    assert today_nl(datetime(2026, 3, 10, 22, 59, tzinfo=UTC)) == date(2026, 3, 10)
    # Summer (CEST, UTC+2): from 22:00 UTC on.
    assert today_nl(datetime(2026, 7, 14, 22, 0, tzinfo=UTC)) == date(2026, 7, 15)
    assert today_nl(datetime(2026, 7, 14, 21, 59, tzinfo=UTC)) == date(2026, 7, 14)
    assert half_year_nl(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == (2026, 2)
    assert half_year_nl(datetime(2026, 6, 30, 21, 30, tzinfo=UTC)) == (2026, 1)
    assert isinstance(today_nl(), date)
    with pytest.raises(ValueError, match="naive"):
        today_nl(datetime(2026, 3, 10, 23, 30))


def test_the_workflow_guard_takes_the_dutch_date():
    half_past_midnight = datetime(2024, 3, 12, 23, 30, tzinfo=UTC)  # 13 March in Amsterdam
    facts = wf.TrajectoryFacts(state=S.RISK_CARE)
    today = wf.unmet_conditions(
        facts, "relapse", incident_date=date(2024, 3, 13), now=half_past_midnight
    )
    assert today == []
    assert wf.unmet_conditions(
        facts, "relapse", incident_date=date(2024, 3, 14), now=half_past_midnight
    ) == ["incident_date lies in the future"]


# --- measurements ---------------------------------------------------------------------------


def test_measurement_on_0001_01_01_is_refused(session, act, safety):
    error = refused(
        session,
        safety.id,
        "measured_on",
        measure,
        act=act,
        trajectory=safety,
        number=1,
        day=ANCIENT,
    )
    today = today_nl()
    assert error.details["measured_on"] == (
        f"a date from {first_day(safety).isoformat()} to {today.isoformat()}"
    )
    assert "before the trajectory was registered" in error.message


def test_measurement_within_the_trajectorys_life(session, act, safety):
    start = first_day(safety)
    later = at_nl(start + timedelta(days=40))  # the clock, 40 days on
    for day in (start - timedelta(days=1), ANCIENT, start + timedelta(days=41)):
        refused(
            session,
            safety.id,
            "measured_on",
            measure,
            act=act,
            trajectory=safety,
            number=1,
            day=day,
            now=later,
        )
    # Its first day is accepted, and so is today (the last day), for the next measurement.
    measure(session, act, safety, 1, start, now=later)
    measure(session, act, safety, 2, start + timedelta(days=40), now=later)
    assert written(session, safety.id)[2] == 2


def test_today_accepted_tomorrow_refused(session, act, safety):
    today = today_nl()
    error = refused(
        session,
        safety.id,
        "measured_on",
        measure,
        act=act,
        trajectory=safety,
        number=1,
        day=today + timedelta(days=1),
    )
    assert "in the future" in error.message
    measure(session, act, safety, 1, today)


def test_a_later_measurement_is_not_dated_before_an_earlier_one(session, act, safety):
    start = first_day(safety)
    later = at_nl(start + timedelta(days=40))
    measure(session, act, safety, 1, start + timedelta(days=10), now=later)
    # Measurement 2 before the trajectory existed, and before measurement 1's date.
    for day in (ANCIENT, start - timedelta(days=1), start + timedelta(days=9)):
        error = refused(
            session,
            safety.id,
            "measured_on",
            measure,
            act=act,
            trajectory=safety,
            number=2,
            day=day,
            now=later,
        )
        assert "before measurement 1's date" in error.message
        assert error.details["measured_on"].startswith(
            f"a date from {(start + timedelta(days=10)).isoformat()} "
        )
    # The same day as measurement 1 is fine.
    measure(session, act, safety, 2, start + timedelta(days=10), now=later)


def test_amsterdam_today_at_half_past_midnight_is_accepted(session, act, safety):
    # 00:30 in Amsterdam on the day after the trajectory was registered: UTC is still on
    # the day before, but the Dutch date is the one meant.
    tomorrow = first_day(safety) + timedelta(days=1)
    half_past_midnight = at_nl(tomorrow, 0, 30)
    assert half_past_midnight.date() == tomorrow - timedelta(days=1)  # the UTC date
    measure(session, act, safety, 1, tomorrow, now=half_past_midnight)
    refused(
        session,
        safety.id,
        "measured_on",
        measure,
        act=act,
        trajectory=safety,
        number=2,
        day=tomorrow + timedelta(days=1),
        now=half_past_midnight,
    )


def test_a_date_time_is_not_a_date(session, act, safety):
    before = written(session, safety.id)
    with pytest.raises(ValidationError) as exc:
        measure(session, act, safety, 1, datetime.now(UTC))
    assert exc.value.details == {"measured_on": "a date"}
    assert written(session, safety.id) == before


# --- relapses -------------------------------------------------------------------------------


def test_relapse_on_0001_01_01_is_refused(session, act, risk):
    error = refused(
        session, risk.id, "incident_date", relapse, act=act, trajectory=risk, day=ANCIENT
    )
    assert "before the trajectory was registered" in error.message
    assert session.get(Trajectory, risk.id).state is S.RISK_CARE


def test_relapse_within_the_trajectorys_life(session, act, risk):
    start = first_day(risk)
    later = at_nl(start + timedelta(days=40))
    for day in (start - timedelta(days=1), start + timedelta(days=41)):
        refused(
            session,
            risk.id,
            "incident_date",
            relapse,
            act=act,
            trajectory=risk,
            day=day,
            now=later,
        )
    trajectory = relapse(session, act, risk, start, now=later)  # the first day
    assert trajectory.state is S.IMMEDIATE_SAFETY and trajectory.relapses == 1


def test_relapse_today_accepted_tomorrow_refused(session, act, risk):
    today = today_nl()
    error = refused(
        session,
        risk.id,
        "incident_date",
        relapse,
        act=act,
        trajectory=risk,
        day=today + timedelta(days=1),
    )
    assert "in the future" in error.message
    assert relapse(session, act, risk, today).relapses == 1


def test_relapse_at_half_past_midnight_in_amsterdam_is_accepted(session, act, risk):
    tomorrow = first_day(risk) + timedelta(days=1)
    half_past_midnight = at_nl(tomorrow, 0, 30)
    assert half_past_midnight.date() < tomorrow  # UTC is still on the day before
    trajectory = relapse(session, act, risk, tomorrow, now=half_past_midnight)
    assert trajectory.state is S.IMMEDIATE_SAFETY
    # The event log still replays to the row (the guard reads the same Dutch date).
    assert svc.replay_events(session, trajectory).state is S.IMMEDIATE_SAFETY


def test_an_implausible_incident_date_is_refused_on_any_trigger(session, act, risk):
    before = written(session, risk.id)
    with pytest.raises(ValidationError) as exc:
        svc.fire_trigger(
            session, act, risk.id, "close", closure_reason="other", incident_date=ANCIENT
        )
    assert "incident_date" in exc.value.details
    assert written(session, risk.id) == before


# --- half-year report periods ---------------------------------------------------------------


@pytest.fixture
def manager(session):
    return factories.actor(factories.user(session, Role.MANAGER, ["UTR"]))


@pytest.fixture
def programme(session):
    return factories.actor(factories.user(session, Role.PROGRAMME))


def reports(session) -> int:
    return session.scalar(select(func.count()).select_from(HalfYearReport)) or 0


def next_period(period: str) -> str:
    year, half = region_svc.parse_period(period)
    return f"{year}-H2" if half == 1 else f"{year + 1}-H1"


CURRENT = region_svc.current_period()
OUT_OF_RANGE = ["0000-H1", "9999-H2", "2014-H2", "1999-H1"]
MALFORMED = [
    "2020-H2\n",  # "$" would let a trailing newline through
    " 2020-H2",
    "2020-h2",
    "2020-H3",
    "20201-H1",
    "２０２０-H2",  # fullwidth digits: \d matches them, int() reads them
    "٢٠٢٠-H1",  # Arabic-Indic digits
    "",
    None,
]


@pytest.mark.parametrize("period", [*OUT_OF_RANGE, next_period(CURRENT)])
def test_report_period_outside_the_programme_is_refused(session, manager, programme, period):
    before = reports(session)
    with pytest.raises(ValidationError) as exc:
        region_svc.upsert_report(session, manager, "UTR", period, working_by_vision=True)
    assert exc.value.details == {
        "period": f"a half year from {region_svc.FIRST_PERIOD} to {region_svc.current_period()}"
    }
    assert "period" in exc.value.message and "2015-H1" in exc.value.message
    assert reports(session) == before
    with pytest.raises(ValidationError) as exc:
        region_svc.programme_overview(session, programme, period)
    assert "period" in exc.value.details


@pytest.mark.parametrize("period", MALFORMED)
def test_report_period_is_validated_strictly(session, manager, programme, period):
    before = reports(session)
    with pytest.raises(ValidationError, match="like 2020-H2") as exc:
        region_svc.upsert_report(session, manager, "UTR", period)
    assert "period" in exc.value.details
    assert reports(session) == before
    with pytest.raises(ValidationError, match="like 2020-H2"):
        region_svc.programme_overview(session, programme, period)


def test_report_periods_from_the_programme_start_to_the_current_half_year(
    session, manager, programme
):
    assert region_svc.FIRST_PERIOD == "2015-H1"
    region_svc.upsert_report(session, manager, "UTR", "2015-H1", working_by_vision=True)
    region_svc.upsert_report(session, manager, "UTR", CURRENT, working_by_vision=True)
    assert reports(session) == 2
    overview = region_svc.programme_overview(session, programme, "2015-H1")
    assert overview["previous_period"] == "2014-H2"
    assert overview["statuses"]["none"] == {"count": 1, "out_of": 28, "previous": None}
    assert region_svc.programme_overview(session, programme, CURRENT)["reported"] == 1


def test_the_current_half_year_is_the_dutch_one(session, manager):
    # 1 July 00:30 in Amsterdam: UTC is still on 30 June (H1), the Dutch date is in H2.
    half_past_midnight = at_nl(date(2026, 7, 1), 0, 30)
    assert half_past_midnight.date() == date(2026, 6, 30)
    report = region_svc.upsert_report(session, manager, "UTR", "2026-H2", now=half_past_midnight)
    assert report.period == "2026-H2"
    with pytest.raises(ValidationError, match="2015-H1 to 2026-H1"):
        region_svc.upsert_report(
            session, manager, "UTR", "2026-H2", now=at_nl(date(2026, 6, 30), 23, 59)
        )


def test_previous_period_is_always_well_formed():
    for year in range(2015, 2031):
        for half in (1, 2):
            before = region_svc.previous_period(f"{year}-H{half}")
            assert re.fullmatch(r"[0-9]{4}-H[12]", before), before
    assert region_svc.previous_period("2015-H1") == "2014-H2"
    assert region_svc.previous_period("0001-H1") == "0000-H2"
    with pytest.raises(ValidationError):
        region_svc.previous_period("0000-H1")


# --- the injected clock (point 5): one ``now`` per use case, from the session's settings ---


def test_the_session_clock_sets_the_moment_of_every_use_case(session, act, safety):
    """With the clock of the session's settings stopped at 00:30 Amsterdam time, a use case
    takes that moment for its event and its Dutch date for "today", with no ``now=``."""
    tomorrow = first_day(safety) + timedelta(days=1)
    half_past_midnight = at_nl(tomorrow, 0, 30)
    use_settings(session, settings_of(session).at(half_past_midnight))
    changed = svc.record_measurement(
        session,
        act,
        safety.id,
        number=1,
        measured_on=tomorrow,  # "today" in Amsterdam, still yesterday in UTC
        violence_level="severe",
    )
    event = session.scalar(
        select(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == safety.id)
        .order_by(TrajectoryEvent.seq.desc())
        .limit(1)
    )
    assert event.at == half_past_midnight
    assert changed.updated_at == half_past_midnight
    # A registration under that clock starts its deadlines at that moment too.
    coordinator = factories.user(session)
    registered = factories.trajectory(session, coordinator)
    assert registered.created_at == half_past_midnight
    # And a day later by the same clock, that measurement date is no longer "the future".
    with pytest.raises(ValidationError):
        svc.record_measurement(
            session,
            act,
            safety.id,
            number=2,
            measured_on=tomorrow + timedelta(days=1),
            violence_level="severe",
        )
