"""Input that used to be a 500 is a 4xx that writes nothing; answers are never cached; a refused
coordinator does not tell whose the id is.

- JSON nested 1,000 deep (Python's parser would raise ``RecursionError``) on every API route
  that takes a body: 400 with the reason. So is a number with more digits than Python converts.
- Integers of 2**63 and more as ids, in the path (404) or in a body (422): no ``OverflowError``.
- ``Cache-Control: no-store`` and ``Pragma: no-cache`` on every API answer, errors included.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from mda.models import Base, Trajectory
from mda.vocabulary import Role
from mda.web.api.blueprint import API_PREFIX
from mda.web.api.schemas import CHECKLIST_KEYS
from mda.web.hardening import JSON_MAX_DEPTH, json_depth
from tests.api.conftest import API
from tests.api.test_infrastructure import assert_problem
from tests.support import factories

BODY_METHODS = ("POST", "PUT", "PATCH")
HUGE = (2**63, 2**70)
DEEP_LIST = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
# Tables a refused request may touch: a token's last use, a sign-in attempt.
UNTOUCHED_EXCEPT = {"api_tokens", "login_attempts"}


def snapshot(session) -> dict[str, Any]:
    """Row counts of every table, and every trajectory's version: what a write would change."""
    session.expire_all()
    counts: dict[str, Any] = {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
        if table.name not in UNTOUCHED_EXCEPT
    }
    counts["versions"] = sorted(session.execute(select(Trajectory.id, Trajectory.version)).all())
    return counts


def api_rules(app, methods=None):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        chosen = sorted((rule.methods or set()) & set(methods or rule.methods or ()))
        for method in chosen:
            if method in ("HEAD", "OPTIONS"):
                continue
            yield rule, method


def build(app, rule, **overrides: Any) -> str:
    """A URL for ``rule`` with plausible values for its arguments (overrides win)."""
    plausible = {
        "trajectory_id": 1,
        "deadline_id": 1,
        "item": CHECKLIST_KEYS[0],
        "code": "UTR",
        "period": "2024-H1",
        "notification_id": 1,
    }
    unknown = set(rule.arguments) - set(plausible) - set(overrides)
    assert not unknown, f"{rule.rule}: give the test a value for {unknown}"
    values = {name: overrides.get(name, plausible.get(name)) for name in rule.arguments}
    return app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)


@pytest.fixture
def world(session, api_as):
    coordinator = api_as(Role.COORDINATOR, ["UTR"])
    trajectory = factories.trajectory(session, coordinator.user, reference="HARDENING-1")
    return coordinator, trajectory


# --- deep JSON ----------------------------------------------------------------------------


def test_every_api_route_with_a_body_refuses_json_nested_1000_deep(app, session, world):
    coordinator, trajectory = world
    before = snapshot(session)
    routes = list(api_rules(app, BODY_METHODS))
    assert len(routes) >= 10
    for rule, method in routes:
        url = build(app, rule, trajectory_id=trajectory.id)
        for body in (DEEP_LIST, DEEP_OBJECT, '{"reference": ' + DEEP_LIST + "}"):
            response = coordinator._call(
                method,
                url,
                data=body,
                headers={"Content-Type": "application/json", "If-Match": '"1"'},
            )
            problem = assert_problem(response, 400)
            assert f"nested more than {JSON_MAX_DEPTH} levels" in problem["detail"], (method, url)
    assert snapshot(session) == before


def test_a_number_with_too_many_digits_is_400_not_500(app, session, world):
    coordinator, trajectory = world
    before = snapshot(session)
    body = '{"coordinator_id": ' + "9" * 5000 + "}"
    response = coordinator.put(
        f"trajectories/{trajectory.id}/coordinator",
        data=body,
        headers={"Content-Type": "application/json", "If-Match": '"1"'},
    )
    assert "too many digits" in assert_problem(response, 400)["detail"]
    assert snapshot(session) == before


def test_ordinary_nesting_is_still_accepted(world):
    coordinator, _trajectory = world
    # Lists of objects are as deep as a request of this API goes (3); well under the limit.
    assert json_depth('{"blocks": [{"block": 1, "status": "done"}]}') == 3
    assert json_depth('{"reason": "[[[[{{{{ in a string ]]]] \\" }}"}') == 1
    response = coordinator.post("trajectories/lookup", json={"reference": "HARDENING-1"})
    assert response.status_code == 200, response.get_json()


def test_depth_is_measured_in_linear_time_on_hostile_strings():
    # Unterminated strings full of escaped quotes would make a naive regex quadratic.
    import time

    hostile = '["' + '\\"' * 400_000
    started = time.perf_counter()
    assert json_depth(hostile) == 1
    assert time.perf_counter() - started < 2


# --- huge integers ------------------------------------------------------------------------


def test_every_int_path_parameter_refuses_huge_ids(app, session, world):
    coordinator, _trajectory = world
    before = snapshot(session)
    checked = 0
    for rule, method in api_rules(app):
        ints = [
            name
            for name, converter in rule._converters.items()
            if isinstance(converter, IntegerConverter)
        ]
        for name in ints:
            for huge in (*HUGE, 10**30, "9" * 5000):
                url = build(app, rule, **{name: 1}).replace("/1", f"/{huge}", 1)
                response = coordinator._call(method, url, json={}, headers={"If-Match": '"1"'})
                # 404; or 405 where another method's rule has the same path (werkzeug checks
                # the method before the converter): a problem either way, never a 500.
                assert_problem(response, 405 if response.status_code == 405 else 404)
                checked += 1
    assert checked >= 8 * 4
    assert snapshot(session) == before


@pytest.mark.parametrize("huge", [*HUGE, 2**63 - 1, -(2**63) - 1])
def test_huge_ids_in_a_body_are_422(session, world, huge):
    coordinator, trajectory = world
    before = snapshot(session)
    response = coordinator.put(
        f"trajectories/{trajectory.id}/coordinator",
        json={"coordinator_id": huge},
        headers={"If-Match": f'"{trajectory.version}"'},
    )
    assert "coordinator_id" in assert_problem(response, 422)["errors"]
    response = coordinator.post(
        "trajectories",
        json={
            "region": "UTR",
            "reference": "HARDENING-2",
            "referral_source": "veilig_thuis",
            "violence_types": ["partner_violence"],
            "children": "1",
            "coordinator_id": huge,
        },
    )
    assert "coordinator_id" in assert_problem(response, 422)["errors"]
    response = coordinator.post(
        f"trajectories/{trajectory.id}/measurements",
        json={"number": huge, "measured_on": "2024-01-01", "violence_level": "none"},
        headers={"If-Match": f'"{trajectory.version}"'},
    )
    assert "number" in assert_problem(response, 422)["errors"]
    assert snapshot(session) == before


def test_strict_integer_refuses_what_no_64_bit_column_holds():
    import marshmallow as ma

    from mda.web.api.schemas import StrictInteger

    field = StrictInteger()
    assert field.deserialize(2**63 - 1) == 2**63 - 1
    for huge in (2**63, 2**70, -(2**63) - 1):
        with pytest.raises(ma.ValidationError, match="Out of range"):
            field.deserialize(huge)


# --- a refused coordinator tells nothing about the id -------------------------------------


def test_refused_coordinator_id_gives_one_message_that_names_no_one(session, world, api_as):
    coordinator, trajectory = world
    admin = factories.user(session, Role.ADMIN)
    elsewhere = factories.user(session, Role.COORDINATOR, ["AMA"])
    inactive = factories.user(session, Role.COORDINATOR, ["UTR"])
    inactive.active = False
    session.commit()
    candidates = {
        "admin": admin.id,
        "coordinator elsewhere": elsewhere.id,
        "inactive coordinator": inactive.id,
        "no such user": 999_999,
    }
    before = snapshot(session)
    for what, user_id in candidates.items():
        response = coordinator.put(
            f"trajectories/{trajectory.id}/coordinator",
            json={"coordinator_id": user_id},
            headers={"If-Match": f'"{trajectory.version}"'},
        )
        problem = assert_problem(response, 422)
        assert problem["detail"] == (
            f"User {user_id} is not an active coordinator of region UTR."
        ), what
        assert problem["errors"] == {"coordinator_id": "not an active coordinator of this region"}
        for user in (admin, elsewhere, inactive):
            assert user.username not in response.get_data(as_text=True), what
    # Registering with such a coordinator says the same.
    response = coordinator.post(
        "trajectories",
        json={
            "region": "UTR",
            "reference": "HARDENING-3",
            "referral_source": "veilig_thuis",
            "violence_types": ["partner_violence"],
            "children": "1",
            "coordinator_id": admin.id,
        },
    )
    problem = assert_problem(response, 422)
    assert problem["detail"] == f"User {admin.id} is not an active coordinator of region UTR."
    # Nothing written but the access-log entry of each refused change (NEN 7513).
    assert snapshot(session) == {**before, "access_log": before["access_log"] + len(candidates)}


# --- no caching ---------------------------------------------------------------------------


def assert_no_store(response):
    assert response.headers.get("Cache-Control") == "no-store", response.headers
    assert response.headers.get("Pragma") == "no-cache", response.headers


def test_every_api_answer_is_no_store(client, session, world):
    coordinator, trajectory = world
    user = factories.user(session, Role.COORDINATOR, ["UTR"])
    issued = client.post(
        f"{API}/tokens", json={"username": user.username, "password": factories.PASSWORD}
    )
    assert issued.status_code == 201 and issued.get_json()["token"]
    assert_no_store(issued)  # the one answer that shows a new token
    for response in (
        coordinator.get("tokens/current"),
        coordinator.get(f"trajectories/{trajectory.id}"),
        coordinator.get("trajectories"),
        coordinator.post("trajectories/lookup", json={"reference": "HARDENING-1"}),
        coordinator.get("regions"),
        client.get(f"{API}/openapi.json"),
        client.get(f"{API}/docs"),
        client.get(f"{API}/tokens/current"),  # 401
        coordinator.get("no-such-thing"),  # 404 before any route
        coordinator.get(f"trajectories/{2**70}"),
        coordinator.post("trajectories", json={"region": "UTR"}),  # 422
        coordinator.delete("tokens"),  # 405
    ):
        assert_no_store(response)
