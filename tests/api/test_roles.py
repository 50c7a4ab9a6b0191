"""Every endpoint for every role, including region scope: the services' rules, through the API."""

from __future__ import annotations

import pytest

from mda.models import AccessLogEntry
from mda.services.clock import today_nl
from mda.vocabulary import Role

# (name, role, regions): a coordinator and a manager inside and outside region UTR.
CALLERS = {
    "coordinator": (Role.COORDINATOR, ["UTR"]),
    "coordinator_elsewhere": (Role.COORDINATOR, ["AMA"]),
    "manager": (Role.MANAGER, ["UTR"]),
    "manager_elsewhere": (Role.MANAGER, ["AMA"]),
    "programme": (Role.PROGRAMME, []),
    "admin": (Role.ADMIN, []),
    "auditor": (Role.AUDITOR, []),
}
NEW = {
    "region": "UTR",
    "reference": "ROLE-TEST-1",
    "referral_source": "police",
    "violence_types": ["child_abuse"],
    "children": "1",
}
TODAY = today_nl().isoformat()

# endpoint -> (method, path, body, {caller: expected status}); {tid} is a UTR trajectory.
ONLY_UTR_COORDINATOR = {
    "coordinator": 200,
    "coordinator_elsewhere": 403,
    "manager": 403,
    "manager_elsewhere": 403,
    "programme": 403,
    "admin": 403,
    "auditor": 403,
}
MAINTAIN_UTR = {
    "coordinator": 403,
    "coordinator_elsewhere": 403,
    "manager": 200,
    "manager_elsewhere": 403,
    "programme": 403,
    "admin": 200,
    "auditor": 403,
}
ENDPOINTS = {
    "list regions": ("GET", "regions", None, dict.fromkeys(CALLERS, 200)),
    "register": (
        "POST",
        "trajectories",
        {**NEW, "reference": "ROLE-TEST-NEW"},
        {**ONLY_UTR_COORDINATOR, "coordinator": 201},
    ),
    "list": (
        "GET",
        "trajectories",
        None,
        {**ONLY_UTR_COORDINATOR, "coordinator_elsewhere": 200},
    ),
    "read": ("GET", "trajectories/{tid}", None, ONLY_UTR_COORDINATOR),
    # A reference known only in another region is "not found" there, exactly like an unknown
    # one (region walls: nothing tells the caller that another region knows it).
    "lookup": (
        "POST",
        "trajectories/lookup",
        {"reference": "ROLE-TEST-1"},
        {**ONLY_UTR_COORDINATOR, "coordinator_elsewhere": 404},
    ),
    "trigger": (
        "POST",
        "trajectories/{tid}/transitions",
        {"trigger": "start_screening"},
        ONLY_UTR_COORDINATOR,
    ),
    "checklist": (
        "PUT",
        "trajectories/{tid}/checklist/multiple_life_domains",
        {"done": True},
        {**ONLY_UTR_COORDINATOR, "coordinator": 422},  # not an item of state referred
    ),
    "measurement": (
        "POST",
        "trajectories/{tid}/measurements",
        {"number": 1, "measured_on": TODAY, "violence_level": "none"},
        {**ONLY_UTR_COORDINATOR, "coordinator": 422},  # not before immediate_safety
    ),
    "assign": (
        "PUT",
        "trajectories/{tid}/coordinator",
        {"coordinator_id": None},
        ONLY_UTR_COORDINATOR,
    ),
    "suspend": (
        "PUT",
        "trajectories/{tid}/suspension",
        {"reason": "household on holiday"},
        ONLY_UTR_COORDINATOR,
    ),
    "resume": (
        "DELETE",
        "trajectories/{tid}/suspension",
        None,
        {**ONLY_UTR_COORDINATOR, "coordinator": 422},  # not suspended
    ),
    "transfer": (
        "POST",
        "trajectories/{tid}/transfer",
        {"region": "UTR"},
        {**ONLY_UTR_COORDINATOR, "coordinator": 422},  # already there
    ),
    "read implementation": (
        "GET",
        "regions/UTR/implementation",
        None,
        {**MAINTAIN_UTR, "programme": 200},
    ),
    "update implementation": (
        "PUT",
        "regions/UTR/implementation",
        {"blocks": [{"block": 1, "status": "in_progress"}]},
        MAINTAIN_UTR,
    ),
    "report": (
        "PUT",
        "regions/UTR/reports/2021-H1",
        {"working_by_vision": True},
        {**MAINTAIN_UTR, "manager": 201},  # the manager creates it, the admin then changes it
    ),
    "overview": (
        "GET",
        "programme/overview?period=2021-H1",
        None,
        {**dict.fromkeys(CALLERS, 403), "programme": 200, "admin": 200},
    ),
    "who am I": ("GET", "tokens/current", None, dict.fromkeys(CALLERS, 200)),
    # Everyone reads their own notifications; nobody marks another's (or none) read.
    "notifications": ("GET", "notifications", None, dict.fromkeys(CALLERS, 200)),
    "notification read": (
        "POST",
        "notifications/2147483000/read",
        None,
        dict.fromkeys(CALLERS, 404),
    ),
    "statistics releases": (
        "GET",
        "statistics/releases",
        None,
        {**dict.fromkeys(CALLERS, 403), "programme": 200},
    ),
    # No release exists here: the programme team passes the role check and finds none (404);
    # tests/stats/test_api.py reads and downloads a real one.
    "statistics release": (
        "GET",
        "statistics/releases/999999",
        None,
        {**dict.fromkeys(CALLERS, 403), "programme": 404},
    ),
    "statistics release csv": (
        "GET",
        "statistics/releases/999999.csv",
        None,
        {**dict.fromkeys(CALLERS, 403), "programme": 404},
    ),
    "statistics release xlsx": (
        "GET",
        "statistics/releases/999999.xlsx",
        None,
        {**dict.fromkeys(CALLERS, 403), "programme": 404},
    ),
}


@pytest.fixture
def callers(api_as):
    return {name: api_as(role, regions) for name, (role, regions) in CALLERS.items()}


def new_trajectory(callers, reference: str = "ROLE-TEST-1") -> int:
    response = callers["coordinator"].post("trajectories", json={**NEW, "reference": reference})
    assert response.status_code in (200, 201)
    return response.get_json()["id"]


@pytest.fixture
def tid(callers):
    return new_trajectory(callers)


def current_version(callers, method: str, path: str, tid: int) -> int | None:
    """The version a change is made against (its If-Match), read as an allowed reader."""
    if method == "GET" or path in ("trajectories", "trajectories/lookup"):
        return None
    if path.startswith("trajectories/"):
        read = callers["coordinator"].get(f"trajectories/{tid}")
    elif path.startswith("regions/UTR/reports/"):
        read = callers["admin"].get(path)
        if read.status_code == 404:
            return None  # not written yet: the first write creates it, without If-Match
    else:
        read = callers["admin"].get("regions/UTR/implementation")
    assert read.status_code == 200, read.get_json()
    return read.get_json()["version"]


def test_every_endpoint_for_every_role(callers):
    """One table of endpoint x caller; each endpoint gets a fresh trajectory in ``referred``."""
    wrong = []
    for n, (endpoint, (method, path, body, expected)) in enumerate(ENDPOINTS.items()):
        assert set(expected) == set(CALLERS), endpoint
        tid = new_trajectory(callers, f"ROLE-TEST-{n}")
        url = "/api/v1/" + path.format(tid=tid)
        if body and "reference" in body and endpoint == "lookup":
            body = {"reference": f"ROLE-TEST-{n}"}
        for name, caller in callers.items():
            kwargs = {"json": body} if body is not None else {}
            version = current_version(callers, method, path, tid)
            if version is not None:
                kwargs["headers"] = {"If-Match": f'"{version}"'}
            response = caller._call(method, url, **kwargs)
            problem = response.status_code >= 400
            if response.status_code != expected[name] or (
                problem and response.mimetype != "application/problem+json"
            ):
                wrong.append((endpoint, name, expected[name], response.status_code))
    assert wrong == [], wrong


def test_coordinator_elsewhere_sees_none_of_another_regions_trajectories(callers, tid):
    listed = callers["coordinator_elsewhere"].get("trajectories").get_json()
    assert listed["total"] == 0 and listed["items"] == []


def test_refused_access_is_logged_as_denied(callers, tid, session):
    caller = callers["coordinator_elsewhere"]
    assert caller.get(f"trajectories/{tid}").status_code == 403
    denied = session.query(AccessLogEntry).filter_by(action="denied", trajectory_id=tid).all()
    assert [(e.username, e.channel) for e in denied] == [(caller.user.username, "api")]


SAMPLES = {"code": "UTR", "period": "2021-H1"}


def _get_routes(app) -> list[str]:
    """Every GET route of the API with sample values for its arguments."""
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "GET" not in rule.methods:
            continue
        if rule.rule.endswith(("/openapi.json", "/docs")):
            continue
        values = {arg: SAMPLES.get(arg) for arg in rule.arguments}
        if None in values.values():  # an id of a trajectory: refused below, not scanned
            continue
        paths.append(rule.build(values, append_unknown=False)[1])
    return paths


def _leaks(text: str, pseudonym: str, tid: int) -> list[str]:
    found = []
    if pseudonym in text:
        found.append("pseudonym")
    for key in ('"pseudonym"', '"trajectory_id"', f'"id": {tid},', f'"id": {tid}}}'):
        if key in text:
            found.append(key)
    return found


def test_programme_and_managers_never_see_a_pseudonym_or_trajectory(app, callers, tid):
    """Every GET answer of the API to the programme and the managers, scanned for a trajectory.

    The scanner is shown to work on the coordinator's own view of the trajectory first, so the
    test fails if an aggregate endpoint ever starts to carry one.
    """
    coordinator_view = callers["coordinator"].get(f"trajectories/{tid}").get_data(as_text=True)
    pseudonym = callers["coordinator"].get(f"trajectories/{tid}").get_json()["pseudonym"]
    assert _leaks(coordinator_view, pseudonym, tid), "the scanner must find what it looks for"
    assert "/api/v1/programme/overview" in _get_routes(app)
    scanned = 0
    for name in ("programme", "manager", "manager_elsewhere"):
        caller = callers[name]
        for path in [*_get_routes(app), "/api/v1/programme/overview?period=2021-H1"]:
            response = caller.get(path)
            if response.status_code == 200:
                scanned += 1
                leaks = _leaks(response.get_data(as_text=True), pseudonym, tid)
                assert not leaks, (name, path, leaks)
        for path in ("trajectories", f"trajectories/{tid}"):
            assert caller.get(path).status_code == 403, (name, path)
    assert scanned >= 6
