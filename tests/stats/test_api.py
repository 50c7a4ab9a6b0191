"""The release contract through the API: the programme team lists, reads and downloads."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from mda.models import AccessLogEntry
from mda.services.context import Actor
from mda.services.settings import settings_of, use_settings
from mda.stats import releases
from mda.vocabulary import Role
from tests.api.conftest import ApiCaller, issue
from tests.conftest import TEST_SETTINGS
from tests.stats import cohort
from tests.support import factories

# Every role against these routes is in tests/api/test_roles.py; here one refused role.
ROLES = {
    "manager": (Role.MANAGER, ["UTR"]),
    "programme": (Role.PROGRAMME, []),
}


@pytest.fixture
def session(app):
    from mda.extensions import db

    return db.session


@pytest.fixture
def release(session):
    before = settings_of(session)
    use_settings(session, TEST_SETTINGS.at(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))
    rows = cohort.build(session)
    made, _ = releases.make_release(session, Actor.system("cli"), "2026-10")
    use_settings(session, before)  # the tokens live by the real clock
    return made, rows


@pytest.fixture
def callers(client, session):
    out = {}
    for name, (role, regions) in ROLES.items():
        user = factories.user(session, role, regions)
        response = issue(client, user)
        assert response.status_code == 201
        out[name] = ApiCaller(client, user, response.get_json()["token"])
    return out


def test_only_the_programme_team_reaches_releases(callers, release):
    made, _rows = release
    paths = [
        "statistics/releases",
        f"statistics/releases/{made.id}",
        f"statistics/releases/{made.id}.csv",
        f"statistics/releases/{made.id}.xlsx",
    ]
    for name, caller in callers.items():
        for path in paths:
            response = caller.get(path)
            expected = 200 if name == "programme" else 403
            assert response.status_code == expected, (name, path)


def test_the_release_contract(callers, release):
    made, _rows = release
    listed = callers["programme"].get("statistics/releases").get_json()
    assert listed[0]["id"] == made.id
    assert {"id", "period", "period_type", "version", "created_at"} <= set(listed[0])
    assert listed[0]["period"] == "2026-10" and listed[0]["period_type"] == "month"
    body = callers["programme"].get(f"statistics/releases/{made.id}").get_json()
    tables = {t["name"]: t for t in body["tables"]}
    for name in ("inflow_by_source", "active_by_state", "outflow_by_reason"):
        assert tables[name]["dimensions"][0] == "region"
    assert tables["outcome_by_measurement"]["dimensions"] == [
        "region",
        "measurement",
        "violence_level",
    ]
    cells = tables["active_by_state"]["cells"]
    national = [c for c in cells if c["coords"] == {"region": "_total", "state": "_total"}]
    assert len(national) == 1
    for cell in cells:
        assert set(cell["coords"]) == {"region", "state"}
        if cell["value"] is None:
            assert cell["status"] == "suppressed"
        else:
            assert isinstance(cell["value"], int) and "status" not in cell
    assert callers["programme"].get("statistics/releases/999999").status_code == 404
    filtered = callers["programme"].get("statistics/releases?period=2026-11").get_json()
    assert filtered == []


def test_downloads_are_files_logged_and_free_of_trajectories(callers, release, session):
    made, rows = release
    csv_response = callers["programme"].get(f"statistics/releases/{made.id}.csv")
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    xlsx_response = callers["programme"].get(f"statistics/releases/{made.id}.xlsx")
    with zipfile.ZipFile(io.BytesIO(xlsx_response.data)) as book:
        xml = " ".join(book.read(n).decode() for n in book.namelist())
    text = csv_response.get_data(as_text=True) + xml
    json_text = callers["programme"].get(f"statistics/releases/{made.id}").get_data(as_text=True)
    for row in rows:
        assert row.pseudonym not in text + json_text
    logged = session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.object_type == "stats_release", AccessLogEntry.action == "export"
        )
    ).all()
    assert sorted(e.details["format"] for e in logged) == ["csv", "xlsx"]
    assert {e.details["language"] for e in logged} == {None}  # the release's own files
    assert {e.channel for e in logged} == {"api"}
    dutch = callers["programme"].get(
        f"statistics/releases/{made.id}.csv", headers={"Accept-Language": "nl"}
    )
    assert dutch.status_code == 200 and dutch.get_data() != csv_response.get_data()
    last = session.scalars(
        select(AccessLogEntry)
        .where(AccessLogEntry.object_type == "stats_release", AccessLogEntry.action == "export")
        .order_by(AccessLogEntry.id.desc())
        .limit(1)
    ).one()
    assert last.details["format"] == "csv" and last.details["language"] == "nl"


def test_the_beat_task_releases_the_closed_periods_once(app, session):
    from worker.tasks import release_statistics

    before = settings_of(session)
    use_settings(session, TEST_SETTINGS.at(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))
    cohort.build(session)
    try:
        first = release_statistics.run()
        again = release_statistics.run()
    finally:
        use_settings(session, before)
    assert [(r["period"], r["version"], r["new"]) for r in first] == [
        ("2026-11", 1, True),
        ("2026-H1", 1, True),
    ]
    schedule = app.extensions["celery"].conf.beat_schedule
    assert "mda.release_statistics" in {entry["task"] for entry in schedule.values()}
    assert [(r["period"], r["version"], r["new"]) for r in again] == [
        ("2026-11", 1, False),
        ("2026-H1", 1, False),
    ]


def test_a_release_run_does_not_start_while_another_runs(app, session):
    """Beat's next run while a long release still runs (another thread here, another worker
    on PostgreSQL) does nothing and says so; afterwards the runs go on."""
    from mda.models import StatsRelease
    from worker.tasks import release_statistics

    before = settings_of(session)
    use_settings(session, TEST_SETTINGS.at(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))
    cohort.build(session)
    try:
        with releases.single_release_run(session) as alone:
            assert alone
            assert release_statistics.run() == []
        assert session.scalar(select(func.count()).select_from(StatsRelease)) == 0
        engine = session.get_bind().engine
        if engine.dialect.name == "postgresql":
            # Another worker process holds the run: its lock is on a connection of its own.
            with engine.connect() as other:
                key = releases.RELEASE_RUN_LOCK_KEY
                assert other.scalar(select(func.pg_try_advisory_lock(key)))
                try:
                    assert release_statistics.run() == []
                finally:
                    other.execute(select(func.pg_advisory_unlock(key)))
                    other.commit()
        assert [r["period"] for r in release_statistics.run()] == ["2026-11", "2026-H1"]
    finally:
        use_settings(session, before)
