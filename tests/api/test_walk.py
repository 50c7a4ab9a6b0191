"""One household through the whole workflow by the API alone, with If-Match on every change."""

from __future__ import annotations

from mda.models import AccessLogEntry
from mda.services import trajectories as trajectory_service
from mda.services.clock import today_nl
from mda.vocabulary import Role


class Walk:
    """Follows the ETag: every change sends the version it last read."""

    def __init__(self, caller, tid: int, version: int) -> None:
        self.caller, self.tid, self.version = caller, tid, version
        self.view: dict = {}

    def _change(self, method: str, path: str, body: dict | None, status: int = 200) -> dict:
        response = self.caller._call(
            method,
            f"/api/v1/trajectories/{self.tid}{path}",
            json=body,
            headers={"If-Match": f'"{self.version}"'},
        )
        assert response.status_code == status, response.get_json()
        self.view = response.get_json()
        assert self.view["version"] == self.version + 1
        assert response.headers["ETag"] == f'"{self.view["version"]}"'
        self.version = self.view["version"]
        return self.view

    def tick(self, *keys: str, done: bool = True) -> None:
        for key in keys:
            self._change("PUT", f"/checklist/{key}", {"done": done})

    def fire(self, trigger: str, **params) -> dict:
        offered = {t["name"]: t for t in self.view["triggers"]}
        assert trigger in offered
        if not params:  # the view cannot know parameters (closure_reason, incident_date) yet
            assert offered[trigger]["allowed"], offered[trigger]["unmet"]
        return self._change("POST", "/transitions", {"trigger": trigger, **params})

    def measure(self, number: int, level: str) -> None:
        body = {"number": number, "measured_on": today_nl().isoformat(), "violence_level": level}
        self._change("POST", "/measurements", {**body, "safety_score": 6}, status=201)


def test_a_household_through_the_whole_workflow(api_as, session):
    coordinator = api_as(Role.COORDINATOR, ["UTR"])
    created = coordinator.post(
        "trajectories",
        json={
            "region": "UTR",
            "reference": "VT-WALK-0001",
            "referral_source": "veilig_thuis",
            "violence_types": ["partner_violence"],
            "children": "2",
        },
    )
    assert created.status_code == 201
    walk = Walk(coordinator, created.get_json()["id"], created.get_json()["version"])
    walk.view = created.get_json()

    walk.fire("start_screening")
    assert walk.view["state"] == "screening"
    walk.tick("multiple_life_domains", "interrelated_problems", "severe_or_persistent")
    walk.tick("intergenerational", "needs_care_and_justice", done=False)
    walk.fire("accept")
    assert (walk.view["state"], walk.view["phase"]) == ("team_forming", "intake")

    assert {t["name"]: t["allowed"] for t in walk.view["triggers"]}["form_team"] is False
    walk.tick("lead_assigned", "partners_committed", "initial_plan")
    walk._change("PUT", "/checklist/disciplines_committed", {"done": True, "details": "GGZ, OM"})
    walk.fire("form_team")
    assert (walk.view["state"], walk.view["phase"]) == ("immediate_safety", "safety")
    assert "measurement_1_due" in {d["kind"] for d in walk.view["deadlines"]}

    walk.tick("safety_conditions_set", "safety_plan_made", "trauma_screening_considered")
    walk.measure(1, "severe")
    walk.fire("safety_established")
    assert walk.view["phase"] == "risk"

    walk.tick("risk_assessment_done", "plan_updated_for_risks", "perpetrator_approach_considered")
    walk.fire("risks_addressed")
    assert walk.view["state"] == "recovery"

    # A new incident: back to immediate safety, whose checklist must be confirmed again.
    walk.fire("relapse", incident_date=today_nl().isoformat())
    assert walk.view["state"] == "immediate_safety"
    assert walk.view["relapses"] == 1
    assert all(item["done"] is None for item in walk.view["checklist"])
    walk.tick("safety_conditions_set", "safety_plan_made", "trauma_screening_considered")
    walk.fire("safety_established")
    walk.tick("risk_assessment_done", "plan_updated_for_risks", "perpetrator_approach_considered")
    walk.fire("risks_addressed")

    walk.tick("recovery_support_started", "trauma_treatment_decided", "goals_evaluated")
    walk.fire("recovery_completed")
    assert (walk.view["state"], walk.view["phase"]) == ("aftercare", "aftercare")
    walk.measure(2, "moderate")
    walk.measure(3, "none")

    walk.fire("close", closure_reason="goals_met", reason="goals reached with the family")
    assert (walk.view["state"], walk.view["closure_reason"]) == ("closed", "goals_met")
    walk.fire("reopen", reason="new concerns from the school")
    assert walk.view["state"] == "immediate_safety" and walk.view["reentries"] == 1
    walk.fire("close", closure_reason="stepped_down")

    # Read back by the API: the whole history, one event per version, in order.
    final = coordinator.get(f"trajectories/{walk.tid}")
    assert final.headers["ETag"] == f'"{walk.version}"'
    body = final.get_json()
    assert [e["seq"] for e in body["events"]] == list(range(1, walk.version + 1))
    assert [m["violence_level"] for m in body["measurements"]] == ["severe", "moderate", "none"]
    transitions = [e["trigger"] for e in body["events"] if e["kind"] == "transition"]
    assert transitions == [
        "start_screening",
        "accept",
        "form_team",
        "safety_established",
        "risks_addressed",
        "relapse",
        "safety_established",
        "risks_addressed",
        "recovery_completed",
        "close",
        "reopen",
        "close",
    ]
    # The events replay to the state the row holds.
    row = trajectory_service.get_trajectory(session, _system(), walk.tid)
    assert trajectory_service.replay_events(session, row).state.value == "closed"
    # Every change went through the API channel into the access log.
    changes = session.query(AccessLogEntry).filter_by(trajectory_id=walk.tid, action="change")
    assert changes.count() == walk.version - 1
    assert {entry.channel for entry in changes} == {"api"}


def _system():
    from mda.services.context import Actor

    return Actor.system("cli")
