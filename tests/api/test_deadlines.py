"""POST /trajectories/{id}/deadlines/{deadline_id}/met and /acknowledged through the API."""

from __future__ import annotations

from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.vocabulary import Role, TrajectoryState
from tests.services.steps import drive
from tests.support import factories


def relapsed(session, caller) -> int:
    act = factories.actor(caller.user)
    trajectory = factories.trajectory(session, caller.user, children="1")
    trajectory = drive(session, act, trajectory, TrajectoryState.RISK_CARE)
    svc.fire_trigger(session, act, trajectory.id, "relapse", incident_date=today_nl())
    return trajectory.id


def deadline_of(caller, tid: int, kind: str) -> tuple[dict, str]:
    read = caller.get(f"trajectories/{tid}")
    assert read.status_code == 200
    (row,) = [
        d for d in read.get_json()["deadlines"] if d["kind"] == kind and d["status"] == "open"
    ]
    return row, read.headers["ETag"]


def test_meeting_the_school_notice_through_the_api(api_as, session):
    coordinator = api_as(Role.COORDINATOR, ["UTR"])
    tid = relapsed(session, coordinator)
    notice, etag = deadline_of(coordinator, tid, "school_notice_due")
    assert notice["computation"]["unit"] == "hours" and notice["note"] is None
    url = f"trajectories/{tid}/deadlines/{notice['id']}/met"
    body = {"note": "School told by phone."}

    missing = coordinator.post(url, json=body)
    assert missing.status_code == 428
    assert missing.mimetype == "application/problem+json"
    elsewhere = api_as(Role.COORDINATOR, ["AMA"])
    assert elsewhere.post(url, json=body, headers={"If-Match": etag}).status_code == 403
    manager = api_as(Role.MANAGER, ["UTR"])
    assert manager.post(url, json=body, headers={"If-Match": etag}).status_code == 403
    other = factories.trajectory(session, coordinator.user)
    wrong = coordinator.post(
        f"trajectories/{other.id}/deadlines/{notice['id']}/met",
        json=body,
        headers={"If-Match": etag},
    )
    assert wrong.status_code == 404

    met = coordinator.post(url, json=body, headers={"If-Match": etag})
    assert met.status_code == 200, met.get_json()
    assert met.headers["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    (row,) = [d for d in met.get_json()["deadlines"] if d["id"] == notice["id"]]
    assert row["status"] == "met" and row["note"] == "School told by phone."

    again = coordinator.post(url, json=body, headers={"If-Match": met.headers["ETag"]})
    assert again.status_code == 422
    stale = coordinator.post(url, json=body, headers={"If-Match": etag})
    assert stale.status_code == 409


def test_refusals_of_meeting_and_acknowledging(api_as, session):
    coordinator = api_as(Role.COORDINATOR, ["UTR"])
    tid = coordinator.post(
        "trajectories",
        json={
            "region": "UTR",
            "reference": "DEADLINE-API-1",
            "referral_source": "police",
            "violence_types": ["child_abuse"],
            "children": "1",
        },
    ).get_json()["id"]
    screening, etag = deadline_of(coordinator, tid, "screening_due")
    base = f"trajectories/{tid}/deadlines/{screening['id']}"
    met = coordinator.post(f"{base}/met", json={}, headers={"If-Match": etag})
    assert met.status_code == 422
    assert "met by the workflow itself" in met.get_json()["detail"] + str(met.get_json())
    ack = coordinator.post(f"{base}/acknowledged", json={}, headers={"If-Match": etag})
    assert ack.status_code == 422
    text = str(ack.get_json())
    assert "not due yet" in text and "a note is needed" in text
    unknown = coordinator.post(
        f"{base}/acknowledged", json={"note": "x", "extra": 1}, headers={"If-Match": etag}
    )
    assert unknown.status_code == 422
