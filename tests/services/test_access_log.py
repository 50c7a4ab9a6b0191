"""The access log in the manner of NEN 7513 (DESIGN.md section 6), on both backends.

Who saw trajectory X is answered by its id: a list writes one entry per trajectory it
returned, the look-up by reference the trajectory it found. Every entry says on whose behalf
(the user's organisation, or the API token that called). A change refused once the
trajectory was loaded leaves one entry of the attempt and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from mda.models import AccessLogEntry, ApiToken, Organisation, Trajectory, TrajectoryEvent
from mda.services import trajectories as svc
from mda.services.errors import Conflict, IdentifierFound, TransitionRefused, ValidationError
from mda.vocabulary import AccessAction, Role
from tests.support import factories

API = "/api/v1"


def _entries(session: Session, *where: Any) -> list[AccessLogEntry]:
    return list(session.scalars(select(AccessLogEntry).where(*where).order_by(AccessLogEntry.id)))


def _last_id(session: Session) -> int:
    return session.scalar(select(func.max(AccessLogEntry.id))) or 0


def _seen(session: Session, since: int) -> list[int]:
    """The trajectory ids of the search entries written after entry ``since``."""
    return [
        e.trajectory_id
        for e in _entries(
            session,
            AccessLogEntry.id > since,
            AccessLogEntry.action == AccessAction.SEARCH,
            AccessLogEntry.trajectory_id.is_not(None),
        )
    ]


@contextmanager
def _access_log_inserts(session: Session) -> Iterator[list[str]]:
    """The INSERT statements into the access log sent while the block runs."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ACCESS_LOG"):
            statements.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _organisation(session: Session, user: Any, name: str) -> Organisation:
    organisation = Organisation(name=name, kind="veilig_thuis", region_code="UTR")
    session.add(organisation)
    user.organisation = organisation
    session.commit()
    return organisation


# --- (a) a list or search: one entry per trajectory returned ----------------------------


def test_a_list_of_n_writes_n_entries_with_their_trajectory_ids(backend, session, coordinator):
    act = factories.actor(coordinator)
    mine = [factories.trajectory(session, coordinator) for _ in range(3)]
    factories.trajectory(session, factories.user(session, Role.COORDINATOR, ["AMA"]), region="AMA")
    since = _last_id(session)
    with _access_log_inserts(session) as inserts:
        rows, total = svc.list_trajectories(session, act)
    assert [r.id for r in rows] == [t.id for t in mine] and total == 3
    assert _seen(session, since) == [t.id for t in mine]
    assert len(inserts) == 1, "a page of entries is one statement"
    # Besides the entries per trajectory, the search itself with its criteria.
    (search,) = _entries(session, AccessLogEntry.id > since, AccessLogEntry.trajectory_id.is_(None))
    assert search.action is AccessAction.SEARCH and search.details["results"] == 3
    # Each shown trajectory's entry, as the database made it from the page's ids: the same
    # moment, user and channel as the search, its id as the object, the list's criteria.
    shown = _entries(session, AccessLogEntry.id > since, AccessLogEntry.trajectory_id.is_not(None))
    for entry, trajectory in zip(shown, mine, strict=True):
        assert entry.object_type == "trajectory" and entry.object_id == str(trajectory.id)
        assert entry.action is AccessAction.SEARCH and entry.details["by"] == "list"
        assert (entry.at, entry.user_id, entry.username, entry.channel) == (
            search.at, coordinator.id, coordinator.username, search.channel
        )  # fmt: skip
    # Who saw trajectory X: by its id.
    who = _entries(session, AccessLogEntry.trajectory_id == mine[1].id)
    assert [(e.action, e.user_id) for e in who][-1] == (AccessAction.SEARCH, coordinator.id)


def test_a_filtered_page_logs_only_the_trajectories_on_it(backend, session, coordinator):
    act = factories.actor(coordinator)
    mine = [factories.trajectory(session, coordinator) for _ in range(3)]
    svc.fire_trigger(session, act, mine[2].id, "start_screening")
    since = _last_id(session)
    rows, total = svc.list_trajectories(session, act, per_page=2, page=2)
    assert [r.id for r in rows] == [mine[2].id] and total == 3
    assert _seen(session, since) == [mine[2].id]
    since = _last_id(session)
    rows, total = svc.list_trajectories(session, act, state="screening")
    assert _seen(session, since) == [mine[2].id]
    since = _last_id(session)
    rows, total = svc.list_trajectories(session, act, overdue=True)
    assert rows == [] and _seen(session, since) == []
    assert len(_entries(session, AccessLogEntry.id > since)) == 1  # the search itself


def test_the_look_up_by_reference_logs_the_trajectory_not_the_reference(
    backend, session, coordinator, keys
):
    act = factories.actor(coordinator)
    trajectory = factories.trajectory(session, coordinator, reference="VT-LOOKUP-4711")
    since = _last_id(session)
    found = svc.find_by_reference(session, act, "VT-LOOKUP-4711", keys=keys)
    assert found.id == trajectory.id
    (entry,) = _entries(session, AccessLogEntry.id > since)
    assert (entry.action, entry.trajectory_id) == (AccessAction.SEARCH, trajectory.id)
    assert "4711" not in f"{entry.object_id} {entry.details}"


def test_a_page_of_the_api_list_logs_its_trajectories(backend, app, client):
    from mda.extensions import db

    session = db.session
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    mine = [factories.trajectory(session, coordinator) for _ in range(3)]
    token = _token(client, coordinator)
    since = _last_id(session)
    response = client.get(
        f"{API}/trajectories?page=1&per_page=2", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    assert [i["id"] for i in response.get_json()["items"]] == [t.id for t in mine[:2]]
    assert _seen(session, since) == [t.id for t in mine[:2]]
    assert {e.channel for e in _entries(session, AccessLogEntry.id > since)} == {"api"}


# --- (b) on whose behalf --------------------------------------------------------------------


def test_a_web_actor_acts_on_behalf_of_the_users_organisation(backend, session, coordinator):
    _organisation(session, coordinator, "Veilig Thuis Utrecht")
    act = factories.actor(coordinator, channel="web")  # as mda.web.security builds it
    assert act.on_behalf_of == "Veilig Thuis Utrecht"
    trajectory = factories.trajectory(session, coordinator)
    svc.get_trajectory(session, act, trajectory.id)
    entries = _entries(session, AccessLogEntry.trajectory_id == trajectory.id)
    assert entries and {e.on_behalf_of for e in entries} == {"Veilig Thuis Utrecht"}


def test_an_api_actor_acts_for_the_organisation_through_its_token(backend, app, client):
    from mda.extensions import db

    session = db.session
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    _organisation(session, coordinator, "Lokaal Team Utrecht")
    trajectory = factories.trajectory(session, coordinator)
    token = _token(client, coordinator)
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.user_id == coordinator.id))
    since = _last_id(session)
    response = client.get(
        f"{API}/trajectories/{trajectory.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    entries = _entries(session, AccessLogEntry.id > since)
    expected = f"Lokaal Team Utrecht via api-token:{token_id}"
    assert entries and {e.on_behalf_of for e in entries} == {expected}


def test_an_api_actor_without_organisation_acts_through_its_token(backend, app, client):
    from mda.extensions import db

    session = db.session
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    trajectory = factories.trajectory(session, coordinator)
    token = _token(client, coordinator)
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.user_id == coordinator.id))
    since = _last_id(session)
    response = client.get(
        f"{API}/trajectories/{trajectory.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    entries = _entries(session, AccessLogEntry.id > since)
    assert entries and {e.on_behalf_of for e in entries} == {f"api-token:{token_id}"}


def _token(client: Any, user: Any) -> str:
    response = client.post(
        f"{API}/tokens", json={"username": user.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


# --- (c) a refused change is logged, and nothing else is written ------------------------------


def _state(session: Session, trajectory_id: int) -> tuple:
    row = session.get(Trajectory, trajectory_id, populate_existing=True)
    assert row is not None
    events = session.scalar(
        select(func.count())
        .select_from(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == trajectory_id)
    )
    checklist = tuple((i.key, i.done, i.details) for i in row.checklist)
    return row.version, row.state, row.coordinator_id, checklist, events


REFUSALS = {
    "validation": (
        ValidationError,
        "assign_coordinator",
        lambda s, a, t: svc.assign_coordinator(s, a, t, 999_999),
    ),
    "conflict": (
        Conflict,
        "start_screening",
        lambda s, a, t: svc.fire_trigger(s, a, t, "start_screening", expected_version=7),
    ),
    "identifier": (
        IdentifierFound,
        "checklist referral_received",
        lambda s, a, t: svc.set_checklist_item(
            s, a, t, "referral_received", True, "mail jan.jansen@example.nl"
        ),
    ),
    "transition": (
        TransitionRefused,
        "accept",
        lambda s, a, t: svc.fire_trigger(s, a, t, "accept"),
    ),
}
REASONS = {
    ValidationError: "validation_error",
    Conflict: "conflict",
    IdentifierFound: "identifier_found",
    TransitionRefused: "transition_refused",
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refused_change_leaves_one_entry_and_changes_nothing_else(
    backend, session, coordinator, kind
):
    error, what, attempt = REFUSALS[kind]
    act = factories.actor(coordinator)
    trajectory = factories.trajectory(session, coordinator)
    before = _state(session, trajectory.id)
    since = _last_id(session)
    with pytest.raises(error):
        attempt(session, act, trajectory.id)
    assert _state(session, trajectory.id) == before
    (entry,) = _entries(session, AccessLogEntry.id > since)
    assert (entry.action, entry.trajectory_id, entry.user_id) == (
        AccessAction.CHANGE,
        trajectory.id,
        coordinator.id,
    )
    assert entry.details == {"change": what, "refused": True, "reason": REASONS[error]}
    assert "example.nl" not in str(entry.details)
