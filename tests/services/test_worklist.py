"""The coordinator's worklist: open trajectories of their regions, earliest due first, by keyset.

Also the denormalised earliest open deadline it orders by (``trajectories.next_due_at`` and
``next_due_kind``): after every kind of deadline change it equals a fresh computation from the
deadline rows (a random walk over the services, on SQLite).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import AccessLogEntry, Deadline, Trajectory
from mda.services import deadlines as deadline_rows
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.errors import DomainError, Forbidden, ValidationError
from mda.services.settings import use_settings
from mda.services.worklist import WorklistFilters, worklist
from mda.vocabulary import (
    AccessAction,
    DeadlineKind,
    DeadlineStatus,
    Phase,
    Role,
    TrajectoryState,
)
from mda.workflows.trajectory import CHECKLISTS
from tests.conftest import TEST_SETTINGS
from tests.services.steps import FORWARD, PATH, complete, drive
from tests.support import factories

_numbers = iter(range(1, 10**6))


def register(session, coordinator, days_back: int = 0, region: str = "UTR", **extra):
    """A trajectory referred ``days_back`` days ago (its screening_due counts from then)."""
    row, _ = svc.register_referral(
        session,
        factories.actor(coordinator),
        region=region,
        reference=f"WL-{next(_numbers):06d}",
        referral_source="veilig_thuis",
        violence_types=["partner_violence"],
        children="1",
        coordinator_id=coordinator.id,
        keys=factories.pseudonym_keys(),
        referred_on=today_nl() - timedelta(days=days_back),
        **extra,
    )
    return row


def without_deadlines(session, trajectory) -> Trajectory:
    """Cancel the trajectory's open deadlines through the deadline service."""
    deadline_rows.close_deadlines(
        session, trajectory, list(DeadlineKind), DeadlineStatus.CANCELLED, _now(), None
    )
    session.commit()
    return trajectory


def _now() -> datetime:
    return datetime.now(UTC)


def ids(page) -> list[int]:
    return [row.trajectory_id for row in page.rows]


@pytest.fixture
def board(session, coordinator):
    """Four open trajectories of UTR, one closed, and one of another region."""
    late = register(session, coordinator, days_back=40)  # long overdue
    recent = register(session, coordinator, days_back=25)  # overdue too
    fresh = register(session, coordinator)  # due in ten working days
    idle = without_deadlines(session, register(session, coordinator))
    closed = register(session, coordinator, days_back=60)
    svc.fire_trigger(
        session, factories.actor(coordinator), closed.id, "close", closure_reason="other"
    )
    elsewhere = register(session, factories.user(session, regions=["AMA"]), 50, region="AMA")
    return {
        "late": late,
        "recent": recent,
        "fresh": fresh,
        "idle": idle,
        "closed": closed,
        "elsewhere": elsewhere,
    }


def test_earliest_due_first_and_without_a_deadline_last(session, act, board):
    page = worklist(session, act)
    expected = [board[k].id for k in ("late", "recent", "fresh", "idle")]
    assert ids(page) == expected
    assert page.total == 4
    assert page.next_cursor is None
    first, last = page.rows[0], page.rows[-1]
    assert first.overdue and first.next_deadline_kind is DeadlineKind.SCREENING_DUE
    assert first.next_due_at < _now()
    assert first.pseudonym == board["late"].pseudonym
    assert (first.region_code, first.state, first.phase) == (
        "UTR",
        TrajectoryState.REFERRED,
        Phase.INTAKE,
    )
    assert first.coordinator_name == board["late"].coordinator.username
    assert first.version == 1
    assert (last.next_deadline_kind, last.next_due_at, last.overdue) == (None, None, False)
    fresh = next(r for r in page.rows if r.trajectory_id == board["fresh"].id)
    assert not fresh.overdue and fresh.next_due_at > _now()


@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_pages_follow_each_other_by_cursor(session, act, board, per_page):
    seen, cursor, pages = [], None, 0
    while True:
        page = worklist(session, act, cursor=cursor, per_page=per_page)
        assert page.total == 4
        assert len(page.rows) <= per_page
        seen += ids(page)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [board[k].id for k in ("late", "recent", "fresh", "idle")]
    assert pages == -(-4 // per_page)


def test_filters(session, act, coordinator, board):
    other = factories.user(session, regions=["UTR"])
    mine_not = register(session, other, days_back=100)
    svc.fire_trigger(session, factories.actor(other), board["fresh"].id, "start_screening")
    by = {
        "state": WorklistFilters(state=TrajectoryState.SCREENING),
        "phase": WorklistFilters(phase=Phase.INTAKE),
        "safety": WorklistFilters(phase=Phase.SAFETY),
        "mine": WorklistFilters(mine=True),
        "overdue": WorklistFilters(overdue=True),
        "closed": WorklistFilters(state=TrajectoryState.CLOSED),
        "region": WorklistFilters(region="utr "),
    }
    found = {name: worklist(session, act, f) for name, f in by.items()}
    assert ids(found["state"]) == [board["fresh"].id]
    assert ids(found["phase"])[0] == mine_not.id and found["phase"].total == 5
    assert ids(found["safety"]) == [] and found["safety"].total == 0
    assert mine_not.id not in ids(found["mine"]) and found["mine"].total == 4
    assert ids(found["overdue"]) == [mine_not.id, board["late"].id, board["recent"].id]
    assert found["overdue"].total == 3
    assert ids(found["closed"]) == []
    assert found["region"].total == 5


def test_the_overdue_filter_pages_too(session, act, board):
    first = worklist(session, act, WorklistFilters(overdue=True), per_page=1)
    second = worklist(session, act, WorklistFilters(overdue=True), cursor=first.next_cursor)
    assert ids(first) + ids(second) == [board["late"].id, board["recent"].id]
    assert second.next_cursor is None


def test_search_by_pseudonym_prefix_ignores_case_and_dashes(session, act, board):
    code = board["recent"].pseudonym  # like K7QM-3XZP-A2RT
    for search in (code, code.lower(), code.replace("-", "")[:6].lower(), f" {code[:4]}-"):
        page = worklist(session, act, WorklistFilters(pseudonym=search))
        assert board["recent"].id in ids(page), search
        assert all(row.pseudonym.startswith(code[:4]) for row in page.rows)
    exact = worklist(session, act, WorklistFilters(pseudonym=code.lower()))
    assert ids(exact) == [board["recent"].id] and exact.total == 1
    # Not found outside the actor's reach, nor when closed.
    for hidden in ("elsewhere", "closed"):
        code = board[hidden].pseudonym
        assert worklist(session, act, WorklistFilters(pseudonym=code)).total == 0


def test_search_reads_crockford_letters_and_refuses_what_no_code_holds(session, act, board):
    code = board["late"].pseudonym
    # Crockford's I, L and O are read as 1, 1 and 0 (codes never hold them).
    spelled = code.replace("1", "l").replace("0", "o")
    assert board["late"].id in ids(worklist(session, act, WorklistFilters(pseudonym=spelled)))
    for bad in ("K7QM-3XZP-A2RT-X", "AB%", "Ü"):
        with pytest.raises(ValidationError) as refused:
            worklist(session, act, WorklistFilters(pseudonym=bad))
        assert "pseudonym" in refused.value.details
    assert worklist(session, act, WorklistFilters(pseudonym=" - ")).total == 4


def test_only_the_actors_regions_and_a_foreign_region_is_refused_alike(session, act, board):
    page = worklist(session, act)
    assert board["elsewhere"].id not in ids(page)
    messages = []
    for region in ("AMA", "XYZ"):
        with pytest.raises(Forbidden) as refused:
            worklist(session, act, WorklistFilters(region=region))
        messages.append(str(refused.value).replace(region, "?"))
    assert messages[0] == messages[1]


def test_several_regions_are_merged_in_one_order(session, board):
    both = factories.user(session, regions=["UTR", "AMA"])
    page = worklist(session, factories.actor(both))
    assert ids(page) == [board[k].id for k in ("elsewhere", "late", "recent", "fresh", "idle")]
    ama = worklist(session, factories.actor(both), WorklistFilters(region="AMA"))
    assert ids(ama) == [board["elsewhere"].id]
    pages, cursor = [], None
    while True:
        page = worklist(session, factories.actor(both), cursor=cursor, per_page=2)
        pages += ids(page)
        if (cursor := page.next_cursor) is None:
            break
    assert pages == ids(worklist(session, factories.actor(both)))


def test_coordinators_only(session, board):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    with pytest.raises(Forbidden):
        worklist(session, factories.actor(manager))


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "",  # empty: the first page (no cursor)
        base64.urlsafe_b64encode(b'{"d": null}').decode(),
        base64.urlsafe_b64encode(b'{"d": "yesterday", "i": 3}').decode(),
        base64.urlsafe_b64encode(b'{"d": "2026-01-01T00:00:00", "i": 3}').decode(),
        base64.urlsafe_b64encode(b'{"d": null, "i": "3"}').decode(),
        base64.urlsafe_b64encode(b'{"d": null, "i": true}').decode(),
        base64.urlsafe_b64encode(b'{"d": null, "i": 99999999999999999999999}').decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_tampered_cursor_is_a_validation_error(session, act, board, cursor):
    if cursor == "":
        assert worklist(session, act, cursor=cursor).total == 4
        return
    with pytest.raises(ValidationError) as refused:
        worklist(session, act, cursor=cursor)
    assert "cursor" in refused.value.details


def test_a_cursor_from_elsewhere_still_pages_sensibly(session, act, board):
    # A well-formed cursor is a position, not a permission: it shows what comes after it.
    raw = json.dumps({"d": None, "i": 0}).encode()
    page = worklist(session, act, cursor=base64.urlsafe_b64encode(raw).decode())
    assert ids(page) == [board["idle"].id]


@pytest.mark.parametrize("per_page", [0, 201, True, 2.5])
def test_per_page_is_bounded(session, act, per_page):
    with pytest.raises(ValidationError):
        worklist(session, act, per_page=per_page)


def test_every_trajectory_shown_is_logged(session, coordinator, board):
    api_actor = factories.actor(coordinator, channel="api")
    before = session.scalar(select(AccessLogEntry.id).order_by(AccessLogEntry.id.desc()).limit(1))
    page = worklist(session, api_actor, WorklistFilters(overdue=True), per_page=1)
    entries = session.scalars(
        select(AccessLogEntry).where(AccessLogEntry.id > (before or 0)).order_by(AccessLogEntry.id)
    ).all()
    assert [e.action for e in entries] == [AccessAction.SEARCH] * 2
    assert all(e.channel == "api" and e.user_id == coordinator.id for e in entries)
    summary, shown = entries
    assert summary.trajectory_id is None
    assert summary.details["results"] == 1 and summary.details["total"] == 2
    assert shown.trajectory_id == page.rows[0].trajectory_id
    assert shown.details["by"] == "worklist" and shown.details["overdue"] is True


def test_the_system_actor_sees_every_region(session, board):
    page = worklist(session, Actor.system("cli"))
    assert {board[k].id for k in ("late", "elsewhere")} <= set(ids(page))
    assert board["closed"].id not in ids(page)


# --- the denormalised earliest open deadline ------------------------------------------------


def fresh_next_due(session, trajectory_id):
    rows = session.scalars(
        select(Deadline).where(
            Deadline.trajectory_id == trajectory_id, Deadline.status == DeadlineStatus.OPEN
        )
    ).all()
    return deadline_rows.earliest_open(rows)


def assert_next_due_is_fresh(session, trajectory_id):
    session.expire_all()
    row = session.get(Trajectory, trajectory_id)
    assert (row.next_due_at, row.next_due_kind) == fresh_next_due(session, trajectory_id)


STEPS = st.sampled_from(
    [
        "tick",
        "complete",
        "forward",
        "forward",
        "measure",
        "meet",
        "acknowledge",
        "shift",
        "suspend",
        "resume",
        "transfer",
        "close",
        "reopen",
        "relapse",
    ]
)


@pytest.fixture
def sqlite_session(sqlite_engine):
    with sqlite_engine.connect() as connection:
        outer = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            use_settings(session, TEST_SETTINGS)
            yield session
        outer.rollback()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(PATH),
    steps=st.lists(st.tuples(STEPS, st.integers(0, 8)), min_size=10, max_size=40),
)
def test_the_earliest_open_deadline_stays_right_after_every_change(sqlite_session, start, steps):
    session = sqlite_session
    coordinator = factories.user(session, regions=["UTR", "AMA"])
    act = factories.actor(coordinator)
    trajectory = register(session, coordinator, days_back=3)
    assert_next_due_is_fresh(session, trajectory.id)
    trajectory = drive(session, act, trajectory, start)
    assert_next_due_is_fresh(session, trajectory.id)
    tid = trajectory.id
    for step, number in steps:
        row = session.get(Trajectory, tid, populate_existing=True)
        open_rows = session.scalars(
            select(Deadline).where(
                Deadline.trajectory_id == tid, Deadline.status == DeadlineStatus.OPEN
            )
        ).all()
        pick = open_rows[number % len(open_rows)] if open_rows else None
        try:
            if step == "tick":
                specs = CHECKLISTS.get(row.state, ())
                if specs:
                    key = specs[number % len(specs)].key
                    svc.set_checklist_item(session, act, tid, key, True)
            elif step == "complete":
                complete(session, act, row)
            elif step == "forward":
                svc.fire_trigger(session, act, tid, FORWARD.get(row.state, "reopen"))
            elif step == "measure":
                svc.record_measurement(
                    session,
                    act,
                    tid,
                    number=1 + number % 3,
                    measured_on=today_nl(),
                    violence_level="none",
                )
            elif step == "meet" and pick is not None:
                deadline_rows.meet_deadline(session, act, pick.id, "gedaan")
            elif step == "acknowledge" and pick is not None:
                # Acknowledged once it has fallen due: the change happens later than now.
                later = max(_now(), pick.due_at) + timedelta(hours=1)
                deadline_rows.acknowledge_deadline(session, act, pick.id, "te laat", now=later)
            elif step == "shift":
                # A resumption after `number` days of suspension moves every open deadline.
                deadline_rows.shift(session, row, timedelta(days=number, hours=3), _now())
                session.commit()
            elif step == "suspend":
                svc.suspend(session, act, tid, "wacht op opname")
            elif step == "resume":
                svc.resume(session, act, tid)
            elif step == "transfer":
                svc.transfer(session, act, tid, "AMA" if row.region_code == "UTR" else "UTR")
            elif step == "close":
                svc.fire_trigger(session, act, tid, "close", closure_reason="other")
            elif step == "reopen":
                svc.fire_trigger(session, act, tid, "reopen")
            elif step == "relapse":
                svc.fire_trigger(session, act, tid, "relapse", incident_date=today_nl())
        except DomainError:
            pass
        assert_next_due_is_fresh(session, tid)
