"""GET /api/v1/worklist: the worklist page's service as JSON (order, cursor, walls, log)."""

from __future__ import annotations

from mda.models import AccessLogEntry
from mda.vocabulary import Role
from tests.api.conftest import register


def test_lists_open_trajectories_earliest_due_first_by_cursor(coordinator, api_as):
    ids = [register(coordinator, f"REF-{n}")["id"] for n in range(3)]
    elsewhere = api_as(Role.COORDINATOR, ["AMA"])
    register(elsewhere, "REF-AMA", region="AMA")

    response = coordinator.get("worklist?per_page=2")
    assert response.status_code == 200, response.get_json()
    first = response.get_json()
    assert first["total"] == 3  # the other region's household is not there
    assert [item["id"] for item in first["items"]] == ids[:2]  # same due moment: by id
    item = first["items"][0]
    assert item["region"] == "UTR" and item["state"] == "referred" and item["phase"] == "intake"
    assert item["coordinator"] == coordinator.user.username
    assert item["next_deadline_kind"] and item["next_due_at"] and item["overdue"] is False
    assert first["next_cursor"]

    second = coordinator.get(f"worklist?per_page=2&cursor={first['next_cursor']}").get_json()
    assert [item["id"] for item in second["items"]] == ids[2:]
    assert second["next_cursor"] is None

    assert coordinator.get("worklist?state=screening").get_json()["total"] == 0
    assert coordinator.get("worklist?mine=true").get_json()["total"] == 3
    assert coordinator.get("worklist?overdue=true").get_json()["items"] == []
    code = first["items"][0]["pseudonym"][:4]
    found = coordinator.get(f"worklist?pseudonym={code}").get_json()
    assert ids[0] in [item["id"] for item in found["items"]]


def test_the_search_and_each_trajectory_shown_are_logged(coordinator, session):
    tid = register(coordinator, "REF-LOG")["id"]
    assert coordinator.get("worklist").status_code == 200
    entries = (
        session.query(AccessLogEntry)
        .filter_by(action="search", channel="api", username=coordinator.user.username)
        .all()
    )
    assert any(e.trajectory_id is None and e.details.get("worklist") for e in entries)
    shown = [e for e in entries if e.trajectory_id == tid]
    assert shown and shown[0].details["by"] == "worklist"


def test_refusals(coordinator, api_as):
    register(coordinator, "REF-1")
    manager = api_as(Role.MANAGER, ["UTR"])
    assert manager.get("worklist").status_code == 403
    assert coordinator.get("worklist?region=AMA").status_code == 403
    assert coordinator.get("worklist?cursor=not-a-cursor").status_code == 422
    assert coordinator.get("worklist?per_page=1000").status_code == 422
    assert coordinator.get("worklist?state=dancing").status_code == 422
    assert coordinator.get("worklist?page=2").status_code == 422  # no offsets here
    assert coordinator.get("worklist?pseudonym=!!").status_code == 422
