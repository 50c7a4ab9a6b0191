"""Statements per request for W3's reads: what each one costs is a round trip and its ORM work.

The limits are what the services issue today. A regression (a lazy load of the coordinator,
the user's regions read apart from the token, a name query per page) fails here; W3
(``bench/w3_web.py``) measures what the statements cost under concurrent clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from mda.vocabulary import Role
from tests.api.conftest import register


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The statements sent meanwhile on the connection the requests use (the test's own),
    their first words. The session starts empty, as a request's does in production (the
    test's session outlives requests: a user still in it would need no statement)."""
    seen: list[str] = []
    session.expunge_all()

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(" ".join(statement.split()[:4]))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


def _tables(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]


def test_a_trajectory_read_is_seven_statements(coordinator, api_as, session):
    colleague = api_as(Role.COORDINATOR, ["UTR"])  # reads: the coordinator is someone else
    tid, closed = (register(coordinator, f"REF-READ-{n}")["id"] for n in (1, 2))
    close = {"trigger": "close", "closure_reason": "household_withdrew"}
    closing = coordinator.change("POST", f"trajectories/{closed}/transitions", json=close)
    assert closing.status_code == 200, closing.get_json()
    assert colleague.get(f"trajectories/{tid}").status_code == 200  # the token's last use

    for trajectory_id in (tid, closed):
        with statements(session) as seen:
            response = colleague.get(f"trajectories/{trajectory_id}")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["coordinator"]["username"] == coordinator.user.username
        sent = _tables(seen)
        # The token with its user and regions; the row with its coordinator; its checklist
        # and measurements; the access-log row; its events (which also say whether a closed
        # trajectory was ever accepted); its deadlines.
        assert len(sent) == 7, sent
        assert sum("api_tokens" in s for s in sent) == 1, sent
        assert not any(s.startswith("SELECT users.") or "EXISTS" in s for s in sent), sent


def test_a_worklist_page_is_four_statements(coordinator, session):
    for n in range(3):
        register(coordinator, f"REF-WORK-{n}")
    assert coordinator.get("worklist").status_code == 200  # the token's last use

    with statements(session) as seen:
        response = coordinator.get("worklist?per_page=2")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"][0]["coordinator"] == coordinator.user.username
    sent = _tables(seen)
    # The token with its user and regions; the page with its coordinators' names; the count;
    # the access-log rows in one INSERT.
    assert len(sent) == 4, sent
    assert sum(s.startswith("INSERT") for s in sent) == 1, sent
