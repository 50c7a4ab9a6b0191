"""Every change needs If-Match (the version read): without it 428, so no update is lost."""

from __future__ import annotations

from mda.vocabulary import Role
from mda.web.api.blueprint import API_PREFIX
from mda.web.api.security import IF_MATCH_NEEDED
from tests.api.test_hardening import api_rules, build, snapshot
from tests.support import factories

CHANGE_METHODS = {"PUT", "POST", "DELETE", "PATCH"}
# A report is created by a PUT without If-Match (there is no version to read yet); a PUT
# without If-Match on a report that exists is refused as a conflict (409), never applied.
CREATES_WITHOUT_IF_MATCH = {"api.upsert_report"}
# What the test must reach at least: every change of a trajectory and of a region (a change
# endpoint added later is found in the URL map and checked too).
EXPECTED = {
    "api.set_checklist_item",
    "api.fire_trigger",
    "api.record_measurement",
    "api.assign_coordinator",
    "api.suspend_trajectory",
    "api.resume_trajectory",
    "api.transfer_trajectory",
    "api.update_implementation",
    "api.upsert_report",
}


def change_routes(app):
    """PUT/POST/DELETE routes of an existing trajectory, and every change under /regions."""
    for rule, method in api_rules(app, CHANGE_METHODS):
        if rule.rule.startswith((f"{API_PREFIX}/trajectories/<", f"{API_PREFIX}/regions")):
            yield rule, method


def test_every_change_without_if_match_is_428_and_changes_nothing(app, session, api_as):
    coordinator = api_as(Role.COORDINATOR, ["UTR"])
    admin = api_as(Role.ADMIN)
    trajectory = factories.trajectory(session, coordinator.user, reference="IF-MATCH-1")
    assert admin.put("regions/UTR/reports/2024-H1", json={}).status_code == 201
    before = snapshot(session)
    reached = set()
    for rule, method in change_routes(app):
        url = build(app, rule, trajectory_id=trajectory.id, period="2024-H1")
        caller = admin if "/regions/" in rule.rule else coordinator
        # No If-Match, an empty one, and "*" (which names no version): the same refusal,
        # before the body is even read (``{}`` is not a valid body for most of them).
        for headers in ({}, {"If-Match": ""}, {"If-Match": "*"}):
            response = caller._call(method, url, json={}, headers=headers)
            where = (method, rule.rule, headers)
            assert response.mimetype == "application/problem+json", where
            problem = response.get_json()
            if rule.endpoint in CREATES_WITHOUT_IF_MATCH:
                assert response.status_code == 409, (where, problem)
                assert problem["current_version"] == 1
                continue
            assert response.status_code == 428, (where, problem)
            assert problem["status"] == 428
            assert problem["title"] == "Precondition Required"
            assert problem["detail"] == IF_MATCH_NEEDED
        reached.add(rule.endpoint)
    assert reached >= EXPECTED
    assert snapshot(session) == before


def test_registration_lookup_and_tokens_need_no_if_match(api_as):
    coordinator = api_as(Role.COORDINATOR, ["UTR"])
    registered = coordinator.post(
        "trajectories",
        json={
            "region": "UTR",
            "reference": "IF-MATCH-NEW",
            "referral_source": "police",
            "violence_types": ["child_abuse"],
            "children": "1",
        },
    )
    assert registered.status_code == 201, registered.get_json()
    found = coordinator.post("trajectories/lookup", json={"reference": "IF-MATCH-NEW"})
    assert found.status_code == 200
    assert coordinator.delete("tokens/current").status_code in (200, 204)


def test_the_document_requires_if_match_and_lists_428(client):
    spec = client.get(f"{API_PREFIX}/openapi.json").get_json()
    seen = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            endpoint = operation.get("operationId", f"{method} {path}")
            is_change = method.upper() in CHANGE_METHODS and (
                path.startswith(f"{API_PREFIX}/trajectories/{{")
                or path.startswith(f"{API_PREFIX}/regions")
            )
            if not is_change:
                continue
            headers = {
                p["name"]: p
                for p in operation.get("parameters", [])
                if isinstance(p, dict) and p.get("in") == "header"
            }
            assert "If-Match" in headers, endpoint
            if "/reports/" in path:
                assert headers["If-Match"]["required"] is False
                assert "409" in operation["responses"] and "201" in operation["responses"]
            else:
                assert headers["If-Match"]["required"] is True, endpoint
                assert "428" in operation["responses"], endpoint
                assert "409" in operation["responses"], endpoint
            seen.add((method, path))
    assert len(seen) == len(list(change_routes(client.application)))
