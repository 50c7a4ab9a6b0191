"""The trajectory endpoints: register, look up, list, read, change; versions and refusals."""

from __future__ import annotations

import pytest

from mda.models import AccessLogEntry, Trajectory, TrajectoryEvent
from mda.services.clock import today_nl
from mda.vocabulary import Role
from tests.api.conftest import count

NEW = {
    "region": "UTR",
    "reference": "VT-2024-000123",
    "referral_source": "veilig_thuis",
    "violence_types": ["partner_violence", "child_abuse"],
    "children": "2",
}


@pytest.fixture
def coordinator(api_as):
    return api_as(Role.COORDINATOR, ["UTR"])


def register(caller, **changes):
    return caller.post("trajectories", json={**NEW, **changes})


def test_register_answers_201_with_pseudonym_and_assigns_the_caller(coordinator):
    response = register(coordinator)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["state"] == "referred"
    assert body["phase"] == "intake"
    assert body["version"] == 1
    assert body["pseudonym"] and NEW["reference"] not in str(body)
    assert body["coordinator"]["id"] == coordinator.user.id
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(f"/api/v1/trajectories/{body['id']}")
    assert {t["name"] for t in body["triggers"]} >= {"start_screening", "close"}


def test_known_reference_answers_200_with_the_same_trajectory(coordinator, session):
    first = register(coordinator).get_json()
    # The same reference written differently is still the same household.
    again = register(coordinator, reference=" vt-2024-000123 ", children="0")
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert count(session, Trajectory) == 1


def test_another_coordinator_of_the_region_can_be_named(coordinator, api_as):
    colleague = api_as(Role.COORDINATOR, ["UTR"])
    body = register(coordinator, coordinator_id=colleague.user.id).get_json()
    assert body["coordinator"]["id"] == colleague.user.id


def test_a_coordinator_elsewhere_cannot_be_named(coordinator, api_as, session):
    elsewhere = api_as(Role.COORDINATOR, ["AMA"])
    response = register(coordinator, coordinator_id=elsewhere.user.id)
    assert response.status_code == 422
    assert "coordinator_id" in response.get_json()["errors"]
    assert count(session, Trajectory) == 0


def test_lookup_by_reference(coordinator):
    created = register(coordinator).get_json()
    found = coordinator.post("trajectories/lookup", json={"reference": "VT-2024-000123"})
    assert found.status_code == 200
    assert found.get_json()["id"] == created["id"]
    missing = coordinator.post("trajectories/lookup", json={"reference": "VT-9999"})
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_list_filters_and_paginates(coordinator):
    ids = [register(coordinator, reference=f"REF-{n}").get_json()["id"] for n in range(3)]
    first = ids[0]
    coordinator.change(
        "PUT", f"trajectories/{first}/checklist/multiple_life_domains", json={"done": True}
    )
    coordinator.change(
        "POST", f"trajectories/{first}/transitions", json={"trigger": "start_screening"}
    )
    page = coordinator.get("trajectories?per_page=2").get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2
    assert [t["id"] for t in page["items"]] == ids[:2]
    second = coordinator.get("trajectories?per_page=2&page=2").get_json()
    assert [t["id"] for t in second["items"]] == ids[2:]
    screening = coordinator.get("trajectories?state=screening").get_json()
    assert [t["id"] for t in screening["items"]] == [first]
    intake = coordinator.get("trajectories?phase=intake").get_json()
    assert intake["total"] == 3
    assert coordinator.get("trajectories?overdue=true").get_json()["total"] == 0
    assert coordinator.get("trajectories?overdue=false").get_json()["total"] == 3


def test_list_refuses_unknown_filter_values(coordinator):
    response = coordinator.get("trajectories?state=dancing")
    assert response.status_code == 422
    assert "screening" in response.get_json()["errors"]["state"][0]
    assert coordinator.get("trajectories?per_page=1000").status_code == 422


def test_read_has_etag_and_is_logged_as_api_access(coordinator, session):
    created = register(coordinator).get_json()
    response = coordinator.get(f"trajectories/{created['id']}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.get_json()
    assert body["checklist"] == []  # referred has no checklist
    entries = session.query(AccessLogEntry).filter_by(trajectory_id=created["id"]).all()
    actions = [(e.action.value, e.channel, e.username) for e in entries]
    assert ("create", "api", coordinator.user.username) in actions
    assert ("read", "api", coordinator.user.username) in actions


def test_changes_are_logged_as_api_access(coordinator, session):
    tid = register(coordinator).get_json()["id"]
    coordinator.change(
        "POST", f"trajectories/{tid}/transitions", json={"trigger": "start_screening"}
    )
    entry = (
        session.query(AccessLogEntry)
        .filter_by(trajectory_id=tid, action="change")
        .order_by(AccessLogEntry.id.desc())
        .first()
    )
    assert entry.channel == "api"
    assert entry.remote_addr == "127.0.0.1"
    assert entry.details["change"] == "start_screening"


def test_stale_version_is_409_and_changes_nothing(coordinator, session):
    tid = register(coordinator).get_json()["id"]
    moved = coordinator.post(
        f"trajectories/{tid}/transitions",
        json={"trigger": "start_screening"},
        headers={"If-Match": '"1"'},
    )
    assert moved.status_code == 200
    assert moved.headers["ETag"] == '"2"'
    events = count(session, TrajectoryEvent)
    stale = coordinator.put(
        f"trajectories/{tid}/checklist/multiple_life_domains",
        json={"done": True},
        headers={"If-Match": '"1"'},
    )
    assert stale.status_code == 409
    problem = stale.get_json()
    assert problem["current_version"] == 2
    assert "version" in problem["detail"]
    assert count(session, TrajectoryEvent) == events
    view = coordinator.get(f"trajectories/{tid}").get_json()
    assert view["version"] == 2
    assert {i["key"]: i["done"] for i in view["checklist"]}["multiple_life_domains"] is None


def test_malformed_if_match_is_400(coordinator):
    tid = register(coordinator).get_json()["id"]
    response = coordinator.post(
        f"trajectories/{tid}/transitions",
        json={"trigger": "start_screening"},
        headers={"If-Match": "yesterday"},
    )
    assert response.status_code == 400
    assert "If-Match" in response.get_json()["detail"]


def test_refused_trigger_is_422_listing_unmet_conditions(coordinator, session):
    tid = register(coordinator).get_json()["id"]
    unassigned = coordinator.change(
        "PUT", f"trajectories/{tid}/coordinator", json={"coordinator_id": None}
    )
    assert unassigned.get_json()["coordinator"] is None
    events = count(session, TrajectoryEvent)
    version = coordinator.get(f"trajectories/{tid}").get_json()["version"]
    refused = coordinator.post(
        f"trajectories/{tid}/transitions",
        json={"trigger": "form_team"},
        headers={"If-Match": str(version)},
    )
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["unmet"], problem
    assert problem["title"] == "Transition refused"
    refused = coordinator.change(
        "POST", f"trajectories/{tid}/transitions", json={"trigger": "start_screening"}
    )
    assert refused.status_code == 422
    assert any("coordinator" in line for line in refused.get_json()["unmet"])
    assert count(session, TrajectoryEvent) == events
    assert coordinator.get(f"trajectories/{tid}").get_json()["state"] == "referred"


def test_unknown_trigger_and_checklist_item_name_the_allowed_ones(coordinator):
    tid = register(coordinator).get_json()["id"]
    response = coordinator.change(
        "POST", f"trajectories/{tid}/transitions", json={"trigger": "teleport"}
    )
    assert response.status_code == 422
    assert "start_screening" in response.get_json()["errors"]["trigger"][0]
    response = coordinator.change(
        "PUT", f"trajectories/{tid}/checklist/tea_made", json={"done": True}
    )
    assert response.status_code == 404
    assert "lead_assigned" in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "violence_types": ["shouting"]}, "violence_types"),
        ({**NEW, "children": 2}, "children"),
        ({**NEW, "children": "4"}, "children"),
        ({**NEW, "referral_source": "neighbour"}, "referral_source"),
        ({**NEW, "violence_types": []}, "violence_types"),
        ({**NEW, "coordinator_id": "7"}, "coordinator_id"),
        ({**NEW, "name": "J. Jansen"}, "name"),
        ({k: v for k, v in NEW.items() if k != "reference"}, "reference"),
        # Text no database can store: a 500 on PostgreSQL if it got that far.
        ({**NEW, "reference": "VT-12\x0034"}, "reference"),
        ({**NEW, "reference": "VT-12\ud800x34"}, "reference"),
        ({**NEW, "violence_types": ["partner_violence\x00"]}, "violence_types"),
    ],
)
def test_bad_registration_is_422_and_writes_nothing(coordinator, session, body, field):
    log = count(session, AccessLogEntry)
    response = coordinator.post("trajectories", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert count(session, Trajectory) == 0
    assert count(session, AccessLogEntry) == log


def test_unknown_region_is_422(coordinator, session):
    response = register(coordinator, region="XYZ")
    assert response.status_code == 422
    assert count(session, Trajectory) == 0


def test_measurement_wrong_types_and_future_dates(coordinator):
    tid = register(coordinator).get_json()["id"]
    url = f"trajectories/{tid}/measurements"
    for body, field in [
        ({"number": "1", "measured_on": "2024-01-01", "violence_level": "none"}, "number"),
        ({"number": 1, "measured_on": "01-01-2024", "violence_level": "none"}, "measured_on"),
        ({"number": 1, "measured_on": "2024-01-01", "violence_level": "awful"}, "violence_level"),
        (
            {
                "number": 1,
                "measured_on": "2024-01-01",
                "violence_level": "none",
                "safety_score": 11,
            },
            "safety_score",
        ),
        ({"number": True, "measured_on": "2024-01-01", "violence_level": "none"}, "number"),
    ]:
        response = coordinator.change("POST", url, json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], body
    # Valid input, but not possible in this state: refused with the reason.
    response = coordinator.change(
        "POST",
        url,
        json={"number": 1, "measured_on": today_nl().isoformat(), "violence_level": "none"},
    )
    assert response.status_code == 422
    assert response.get_json()["unmet"]


def test_free_text_that_looks_like_an_identifier_is_refused(coordinator, session):
    tid = register(coordinator).get_json()["id"]
    events = count(session, TrajectoryEvent)
    response = coordinator.change(
        "PUT", f"trajectories/{tid}/suspension", json={"reason": "mail j.jansen@example.nl"}
    )
    assert response.status_code == 422
    assert count(session, TrajectoryEvent) == events


def test_suspend_resume_assign_transfer(coordinator, api_as):
    tid = register(coordinator).get_json()["id"]
    body = coordinator.change(
        "PUT", f"trajectories/{tid}/suspension", json={"reason": "household abroad"}
    )
    assert body.status_code == 200 and body.get_json()["suspended"] is True
    body = coordinator.change("DELETE", f"trajectories/{tid}/suspension")
    assert body.status_code == 200 and body.get_json()["suspended"] is False
    colleague = api_as(Role.COORDINATOR, ["UTR", "AMA"])
    body = coordinator.change(
        "PUT", f"trajectories/{tid}/coordinator", json={"coordinator_id": colleague.user.id}
    )
    assert body.get_json()["coordinator"]["id"] == colleague.user.id
    moved = coordinator.change("POST", f"trajectories/{tid}/transfer", json={"region": "AMA"})
    assert moved.status_code == 200
    assert moved.get_json()["region"] == "AMA"
    # The trajectory left the caller's region: out of reach now, for the colleague it is not.
    assert coordinator.get(f"trajectories/{tid}").status_code == 403
    assert colleague.get(f"trajectories/{tid}").status_code == 200


def test_unknown_trajectory_is_404(coordinator):
    response = coordinator.get("trajectories/999999")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
