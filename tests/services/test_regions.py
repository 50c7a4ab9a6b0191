"""Regional implementation status, half-yearly reports and the programme's overview."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from mda.extensions import make_engine
from mda.models import HalfYearReport, RegionStatusChange
from mda.services import regions as svc
from mda.services.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TransitionRefused,
    ValidationError,
)
from mda.vocabulary import MdaStatus, Role
from tests.conftest import BACKENDS, fresh_postgres_database, migrate
from tests.support import factories


@pytest.fixture
def manager(session):
    return factories.actor(factories.user(session, Role.MANAGER, ["UTR"]))


def test_manager_moves_status_up_with_the_blocks_behind_it(session, manager):
    view = svc.get_implementation(session, manager, "UTR")
    assert view["status"] == "none" and view["blocks"] == dict.fromkeys(range(1, 6), "not_started")
    with pytest.raises(TransitionRefused) as refused:
        svc.update_implementation(session, manager, "UTR", status="pilot")
    assert "pilot needs building block 3 in progress or done" in refused.value.unmet[0]
    assert svc.get_implementation(session, manager, "UTR")["version"] == view["version"]
    view = svc.update_implementation(
        session,
        manager,
        "UTR",
        status="pilot",
        blocks={3: "in_progress", 4: "done"},
        expected_version=view["version"],
    )
    assert view["status"] == "pilot" and view["blocks"][4] == "done"
    changes = session.scalars(
        select(RegionStatusChange.what).where(RegionStatusChange.region_code == "UTR")
    ).all()
    assert sorted(changes) == ["block:3", "block:4", "status"]
    with pytest.raises(Conflict):
        svc.update_implementation(
            session, manager, "UTR", blocks={1: "in_progress"}, expected_version=1
        )
    with pytest.raises(TransitionRefused, match="needs a reason"):
        svc.update_implementation(session, manager, "UTR", status="in_development")
    down = svc.update_implementation(
        session, manager, "UTR", status="in_development", reason="pilot paused by the board"
    )
    assert down["status"] == "in_development" and down["version"] == view["version"] + 1


def test_only_the_regions_own_manager_or_an_admin_maintains_it(session, manager):
    for role, regions in [
        (Role.MANAGER, ["AMA"]),
        (Role.COORDINATOR, ["UTR"]),
        (Role.PROGRAMME, []),
    ]:
        other = factories.actor(factories.user(session, role, regions))
        with pytest.raises(Forbidden):
            svc.update_implementation(session, other, "UTR", blocks={1: "done"})
    admin = factories.actor(factories.user(session, Role.ADMIN))
    assert (
        svc.update_implementation(session, admin, "UTR", blocks={1: "done"})["blocks"][1] == "done"
    )
    with pytest.raises(ValidationError, match="blocks are 1 to 5"):
        svc.update_implementation(session, manager, "UTR", blocks={6: "done"})
    with pytest.raises(ValidationError, match="block 2 'finished' is not one of"):
        svc.update_implementation(session, manager, "UTR", blocks={2: "finished"})


def _history(session, region: str, *moves: tuple[str, str]) -> None:
    """Past status changes as the status machine records them: (UTC moment, new status)."""
    old = "none"
    for when, new in moves:
        session.add(
            RegionStatusChange(
                region_code=region,
                at=datetime.fromisoformat(when).replace(tzinfo=UTC),
                what="status",
                from_value=old,
                to_value=new,
            )
        )
        old = new
    session.flush()


def test_reports_and_the_programme_overview(session, manager):
    programme = factories.actor(factories.user(session, Role.PROGRAMME))
    _history(session, "UTR", ("2020-09-01T08:00:00", "pilot"))
    _history(session, "AMA", ("2020-03-01T08:00:00", "in_development"), ("2020-11-01", "pilot"))
    svc.upsert_report(session, manager, "UTR", "2020-H1", vision_in_regional_plan=True)
    report = svc.upsert_report(
        session, manager, "UTR", "2020-H2", mda_status="pilot", vision_in_regional_plan=True
    )
    assert report.mda_status.value == "pilot" and report.professionals_trained is False
    assert report.version == 1
    report = svc.upsert_report(
        session, manager, "UTR", "2020-H2", professionals_trained=True, expected_version=1
    )
    assert report.vision_in_regional_plan and report.professionals_trained
    assert report.version == 2
    ama = factories.actor(factories.user(session, Role.MANAGER, ["AMA"]))
    svc.upsert_report(session, ama, "AMA", "2020-H2")
    overview = svc.programme_overview(session, programme, "2020-H2")
    assert overview["previous_period"] == "2020-H1"
    assert overview["statuses"]["pilot"] == {"count": 2, "out_of": 28, "previous": 0}
    assert overview["statuses"]["none"] == {"count": 0, "out_of": 28, "previous": 1}
    assert overview["indicators"]["vision_in_regional_plan"] == {
        "count": 1,
        "out_of": 28,
        "previous": 1,
    }
    assert overview["reported"] == 2
    with pytest.raises(ValidationError, match="like 2020-H2"):
        svc.upsert_report(session, manager, "UTR", "2020-2")
    with pytest.raises(ValidationError, match="Unknown indicator"):
        svc.upsert_report(session, manager, "UTR", "2021-H1", happy=True)
    with pytest.raises(Forbidden):
        svc.programme_overview(session, manager, "2020-H2")
    with pytest.raises(Forbidden):
        svc.upsert_report(session, ama, "UTR", "2021-H1")
    assert svc.previous_period("2021-H1") == "2020-H2"


def test_the_reports_status_is_the_regions_status_at_the_end_of_the_period(session, manager):
    # A manager cannot report a status the region never reached ("N of 28" inflated).
    with pytest.raises(ValidationError, match="status history says none") as refused:
        svc.upsert_report(session, manager, "UTR", "2020-H2", mda_status="structural")
    assert refused.value.details == {"mda_status": "none (from the status history)"}
    # The last change before the end of the half year counts (Amsterdam time: 1 January
    # 00:30 is 31 December 23:30 UTC, already the next half year); none before any change.
    _history(
        session,
        "UTR",
        ("2019-06-01T08:00:00", "in_development"),
        ("2020-12-31T22:30:00", "pilot"),
        ("2020-12-31T23:30:00", "in_development"),
    )
    assert svc.status_at(session, "UTR", svc.period_end("2019-H1")).value == "in_development"
    assert svc.period_end("2020-H2") == datetime(2020, 12, 31, 23, 0, tzinfo=UTC)
    assert svc.upsert_report(session, manager, "UTR", "2018-H2").mda_status.value == "none"
    assert svc.upsert_report(session, manager, "UTR", "2020-H2").mda_status.value == "pilot"
    assert svc.upsert_report(session, manager, "UTR", "2021-H1").mda_status.value == (
        "in_development"
    )
    # The current half year: the status now, as the status machine set it.
    view = svc.get_implementation(session, manager, "UTR")
    svc.update_implementation(
        session,
        manager,
        "UTR",
        status="pilot",
        blocks={3: "in_progress", 4: "in_progress"},
        expected_version=view["version"],
    )
    current = svc.current_period()
    assert svc.upsert_report(session, manager, "UTR", current).mda_status.value == "pilot"
    # Rewriting an old report takes the history again, whatever was stored.
    report = svc.get_report(session, manager, "UTR", "2020-H2")
    report.mda_status = MdaStatus.STRUCTURAL
    session.flush()
    again = svc.upsert_report(session, manager, "UTR", "2020-H2", expected_version=1)
    assert again.mda_status.value == "pilot"


def test_report_versions(session, manager):
    svc.upsert_report(session, manager, "UTR", "2020-H2")
    with pytest.raises(Conflict, match="has a report for 2020-H2 already") as exists:
        svc.upsert_report(session, manager, "UTR", "2020-H2", working_by_vision=True)
    assert exists.value.details == {"version": 1}
    with pytest.raises(Conflict, match="no report for 2021-H1 yet"):
        svc.upsert_report(session, manager, "UTR", "2021-H1", expected_version=1)
    assert svc.upsert_report(session, manager, "UTR", "2020-H2", expected_version=1).version == 2
    with pytest.raises(Conflict, match="at version 2, not 1"):
        svc.upsert_report(session, manager, "UTR", "2020-H2", expected_version=1)
    assert svc.get_report(session, manager, "UTR", "2020-H2").working_by_vision is False
    with pytest.raises(NotFound):
        svc.get_report(session, manager, "UTR", "2021-H1")


# --- two first writes at once (real commits, both backends) -----------------------------


@pytest.fixture(params=BACKENDS)
def committed_engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    """A migrated database of its own whose commits are real (not the tests' savepoints)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    else:
        server = request.getfixturevalue("postgres_server")
        engine = fresh_postgres_database(server, f"mda_report_race_{os.getpid()}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


def test_two_first_writes_at_once_give_one_report_and_one_conflict(committed_engine):
    with Session(committed_engine, expire_on_commit=False) as session:
        manager = factories.actor(factories.user(session, Role.MANAGER, ["UTR"]))
        session.commit()

    def first_write(period: str, barrier: threading.Barrier, indicator: str) -> str:
        with Session(committed_engine, expire_on_commit=False) as own:

            @event.listens_for(own, "before_flush")
            def both_have_looked(*_args: Any) -> None:
                # Both have read "no report yet" before either inserts (on PostgreSQL; on
                # SQLite the second is still queued for the write lock, and the wait ends).
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=0.5)

            try:
                svc.upsert_report(own, manager, "UTR", period, **{indicator: True})
            except Conflict as exc:
                return f"conflict: {exc.message}"
            return "created"

    for year in range(2016, 2021):
        period = f"{year}-H1"
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def run(index: int, indicator: str) -> None:
            try:
                results[index] = first_write(period, barrier, indicator)  # noqa: B023
            except Exception as exc:  # an IntegrityError here is the bug
                results[index] = exc  # noqa: B023

        threads = [
            threading.Thread(target=run, args=(0, "working_by_vision")),
            threading.Thread(target=run, args=(1, "professionals_trained")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a contender hung"
        assert sorted(str(r)[:8] for r in results) == ["conflict", "created"], results
        with Session(committed_engine) as session:
            rows = session.scalars(
                select(HalfYearReport).where(HalfYearReport.period == period)
            ).all()
            assert len(rows) == 1 and rows[0].version == 1
            winner = "working_by_vision" if results[0] == "created" else "professionals_trained"
            assert getattr(rows[0], winner) is True
