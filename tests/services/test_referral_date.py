"""The referral date (DESIGN.md section 4): the day the referral reached the team.

It defaults to today's Dutch date, lies at most 365 days back and never in the future, is
kept in the ``registered`` event, and the deadlines opened on registration count from it (at
the registration's local time of day), so a referral registered late is as due or overdue as
it really is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from mda.models import AccessLogEntry, Deadline, Trajectory, TrajectoryEvent
from mda.services.clock import NL, today_nl
from mda.services.errors import ValidationError
from mda.services.settings import use_settings
from mda.services.trajectories import register_referral
from mda.services.workdays import compute_due
from mda.vocabulary import DeadlineKind
from tests.conftest import TEST_SETTINGS

# Tuesday 10 March 2026, 15:30 in Amsterdam (CET).
NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock(request):
    """The services' clock stopped at NOW (for the tests that use a session)."""
    if "session" in request.fixturenames:
        use_settings(request.getfixturevalue("session"), TEST_SETTINGS.at(NOW))


def register(session, act, keys, coordinator, **extra):
    return register_referral(
        session,
        act,
        region="UTR",
        reference=extra.pop("reference", "VT-2026-000777"),
        referral_source="veilig_thuis",
        violence_types=["partner_violence"],
        children="1",
        coordinator_id=coordinator.id,
        keys=keys,
        **extra,
    )


def screening_due(session, trajectory) -> Deadline:
    return session.scalars(
        select(Deadline).where(
            Deadline.trajectory_id == trajectory.id, Deadline.kind == DeadlineKind.SCREENING_DUE
        )
    ).one()


def registered_event(session, trajectory) -> TrajectoryEvent:
    return session.scalars(
        select(TrajectoryEvent).where(
            TrajectoryEvent.trajectory_id == trajectory.id, TrajectoryEvent.kind == "registered"
        )
    ).one()


def test_the_referral_date_defaults_to_todays_dutch_date(session, act, keys, coordinator):
    trajectory, created = register(session, act, keys, coordinator)
    assert created
    session.expire_all()
    trajectory = session.get(Trajectory, trajectory.id)
    assert trajectory.referred_on == date(2026, 3, 10) == today_nl(NOW)
    assert registered_event(session, trajectory).data["referred_on"] == "2026-03-10"
    deadline = screening_due(session, trajectory)
    assert deadline.opened_at == NOW
    assert deadline.due_at == compute_due(NOW, 10, "working_days")[0]
    assert (trajectory.next_due_at, trajectory.next_due_kind) == (
        deadline.due_at,
        DeadlineKind.SCREENING_DUE,
    )


def test_the_dutch_date_just_after_midnight_is_already_the_next_day(
    session, act, keys, coordinator
):
    # 00:30 in Amsterdam on 11 March is still 10 March in UTC.
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    use_settings(session, TEST_SETTINGS.at(late))
    trajectory, _ = register(session, act, keys, coordinator)
    assert trajectory.referred_on == date(2026, 3, 11)


def test_a_past_referral_date_moves_screening_due(session, act, keys, coordinator):
    # Referred on Friday 20 February, registered on 10 March: ten working days from the
    # referral end on Friday 6 March, at the registration's local time of day (15:30).
    trajectory, _ = register(session, act, keys, coordinator, referred_on=date(2026, 2, 20))
    assert trajectory.referred_on == date(2026, 2, 20)
    deadline = screening_due(session, trajectory)
    counted_from = datetime(2026, 2, 20, 15, 30, tzinfo=NL)
    assert deadline.due_at == compute_due(counted_from, 10, "working_days")[0]
    assert deadline.due_at.astimezone(NL) == datetime(2026, 3, 6, 15, 30, tzinfo=NL)
    assert deadline.opened_at == NOW
    # Overdue already: the sweep must look at it at once, not after a reminder moment.
    assert deadline.due_at < NOW
    assert deadline.next_action_at == deadline.due_at
    assert trajectory.next_due_at == deadline.due_at
    assert registered_event(session, trajectory).data["referred_on"] == "2026-02-20"


def test_a_referral_date_a_year_back_is_taken(session, act, keys, coordinator):
    oldest = date(2026, 3, 10) - timedelta(days=365)
    trajectory, created = register(session, act, keys, coordinator, referred_on=oldest)
    assert created and trajectory.referred_on == oldest


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (date(2026, 3, 11), "in the future"),
        (date(2026, 3, 10) - timedelta(days=366), "more than 365 days back"),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "must be a date"),
        ("2026-03-01", "must be a date"),
    ],
)
def test_a_referral_date_out_of_range_is_refused_and_nothing_is_written(
    session, act, keys, coordinator, day, words
):
    before = {m: count(session, m) for m in (Trajectory, TrajectoryEvent, Deadline)}
    log_before = count(session, AccessLogEntry)
    with pytest.raises(ValidationError) as refused:
        register(session, act, keys, coordinator, referred_on=day)
    assert "referred_on" in refused.value.details
    assert words in str(refused.value)
    if isinstance(day, date) and not isinstance(day, datetime):
        assert "from 2025-03-10 to 2026-03-10" in str(refused.value)
    assert {m: count(session, m) for m in before} == before
    assert count(session, AccessLogEntry) == log_before


# --- migration 0005 fills the new columns -----------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def at_0004(request, tmp_path):
    """A database at 0004_retention (before the referral date), with reference data."""
    from alembic import command

    from mda.dbtools import alembic_config
    from mda.extensions import make_engine
    from tests.conftest import fresh_postgres_database

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'at-0004.sqlite'}")
    else:
        server = request.getfixturevalue("postgres_server")
        engine = fresh_postgres_database(server, "mda_migration_0005")
    url = engine.url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "0004_retention")
    # The region the rows below need, written as the schema at 0004 has it (the models are
    # at head and may have columns 0004 does not know).
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO regions (code, name, mda_status, version)"
                " VALUES ('UTR', 'Utrecht', 'none', 1)"
            )
        )
    yield (
        engine,
        lambda revision: command.upgrade(alembic_config(url), revision),
        (lambda revision: command.downgrade(alembic_config(url), revision)),
    )
    engine.dispose()


def _insert(conn, statement: str, **values) -> None:
    from mda.models.base import UTCDateTime

    typed = [
        bindparam(k, type_=UTCDateTime()) for k, v in values.items() if isinstance(v, datetime)
    ]
    conn.execute(text(statement).bindparams(*typed), values)


def test_migration_0005_fills_the_referral_date_and_the_earliest_open_deadline(at_0004):
    from sqlalchemy.exc import DBAPIError, IntegrityError

    engine, upgrade, downgrade = at_0004
    # Registered at 00:30 on 11 March in Amsterdam (still 10 March in UTC).
    created = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    due = {k: created + timedelta(days=d) for k, d in (("met", 1), ("plan", 3), ("screen", 9))}
    with engine.begin() as conn:
        for number in (1, 2):
            _insert(
                conn,
                "INSERT INTO trajectories (id, pseudonym_hash, pseudonym, key_version,"
                " region_code, state, version, referral_source, violence_types, children,"
                " created_at, state_entered_at, reentries, relapses, updated_at) VALUES (:id,"
                " :h, :p, 1, 'UTR', 'screening', 1, 'veilig_thuis', '[]', '1', :t, :t, 0, 0,"
                " :t)",
                id=number,
                h=f"{number:064d}",
                p=f"AAAA-AAAA-000{number}",
                t=created,
            )
        _insert(
            conn,
            "INSERT INTO trajectory_events (trajectory_id, seq, at, kind, data)"
            " VALUES (1, 1, :t, 'registered', '{}')",
            t=created,
        )
        _insert(
            conn,
            "INSERT INTO checklist_items (trajectory_id, key, done, updated_at)"
            " VALUES (1, 'multiple_life_domains', true, :t)",
            t=created,
        )
        for kind, status, moment in (
            ("team_due", "met", due["met"]),
            ("plan_review_due", "open", due["plan"]),
            ("screening_due", "open", due["screen"]),
        ):
            _insert(
                conn,
                "INSERT INTO deadlines (trajectory_id, region_code, kind, status, opened_at,"
                " due_at, stage, escalations, version) VALUES (1, 'UTR', :k, :s, :t, :d, 0, 0,"
                " 1)",
                k=kind,
                s=status,
                t=created,
                d=moment,
            )
    upgrade("head")
    with Session(engine) as session:
        first, second = session.scalars(select(Trajectory).order_by(Trajectory.id)).all()
        assert first.referred_on == second.referred_on == date(2026, 3, 11)
        assert (first.next_due_at, first.next_due_kind) == (
            due["plan"],
            DeadlineKind.PLAN_REVIEW_DUE,
        )
        assert (second.next_due_at, second.next_due_kind) == (None, None)
        # Nothing of the trajectory's own rows was lost on the way (SQLite keeps its table).
        assert session.scalar(select(func.count()).select_from(TrajectoryEvent)) == 1
        assert session.scalar(text("SELECT count(*) FROM checklist_items")) == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE trajectories SET referred_on = NULL WHERE id = 2"))
    # The event log is still append-only (0004's trigger reads trajectories).
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE trajectory_events SET kind = 'x'"))
    # Down and up again with the rows in place.
    downgrade("0004_retention")
    upgrade("head")
    with Session(engine) as session:
        first = session.get(Trajectory, 1)
        assert first.referred_on == date(2026, 3, 11)
        assert first.next_due_kind is DeadlineKind.PLAN_REVIEW_DUE
        assert session.scalar(text("SELECT count(*) FROM checklist_items")) == 1
