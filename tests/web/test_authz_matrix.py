"""The authorisation matrix: every page route, every role (signed out included), one status.

``EXPECTED`` is the one table. Every later page adds its rows here: the completeness test walks
``app.url_map`` and fails when a route (and method) has no row, or a row names a route that no
longer exists. Statuses are what the route answers to a plain request from that role (a form
posted empty, except where ``FORM_DATA`` gives data): 302 for a signed-out user is the redirect
to the sign-in page, 403 is the product's refusal page.

Routes under ``/api/`` are excluded on purpose: the API has its own bearer-token matrix in the
API tests (tests/api). The exclusion is this one explicit prefix, nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mda.models import Deadline, Organisation
from mda.services.admin import save_organisation
from mda.services.context import Actor
from mda.vocabulary import Role
from tests.conftest import make_test_app
from tests.support import factories
from tests.web.conftest import ROLES, sign_in

EXCLUDED_PREFIXES = ("/api/",)

ANON, COORD, MGR, PROG, ADMIN, AUDIT = ROLES


def statuses(anonymous: int, signed_in: int | None = None, **per_role: int) -> dict[str, int]:
    """A row: the anonymous status, a default for signed-in roles, and exceptions per role."""
    row = {ANON: anonymous}
    for role in ROLES[1:]:
        row[role] = per_role.get(role, signed_in if signed_in is not None else anonymous)
    return row


def only(role: str, ok: int = 200, anonymous: int = 302) -> dict[str, int]:
    """Reachable for ``role`` only: others signed in get 403, signed-out users the sign-in."""
    return statuses(anonymous, 403, **{role: ok})


# (endpoint, method) -> role -> status
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("static", "GET"): statuses(200),
    ("main.healthz", "GET"): statuses(200),
    # A coordinator's start page is the worklist, a manager's their region, the programme's the
    # overview of the regions.
    ("main.index", "GET"): statuses(302, 200, coordinator=302, manager=302, programme=302),
    ("main.language", "POST"): statuses(302),
    ("auth.login", "GET"): statuses(200, 302),
    ("auth.login", "POST"): statuses(200, 302),
    ("auth.second_factor", "GET"): statuses(302),
    ("auth.second_factor", "POST"): statuses(302),
    ("auth.logout", "POST"): statuses(302),
    ("account.index", "GET"): statuses(302, 200),
    ("account.password", "GET"): statuses(302, 200),
    ("account.password", "POST"): statuses(302, 200),
    ("account.second_factor", "GET"): statuses(302, 200),
    ("account.second_factor", "POST"): statuses(302, 200),
    ("admin.users", "GET"): only(ADMIN),
    ("admin.user_new", "GET"): only(ADMIN),
    ("admin.user_new", "POST"): only(ADMIN),
    ("admin.user_edit", "GET"): only(ADMIN),
    # An empty post keeps the form's current values (WTForms falls back to them): a save.
    ("admin.user_edit", "POST"): only(ADMIN, 302),
    ("admin.user_reset_password", "POST"): only(ADMIN),
    ("admin.user_reset_second_factor", "POST"): only(ADMIN, 302),
    ("admin.organisations", "GET"): only(ADMIN),
    ("admin.organisations", "POST"): only(ADMIN),
    ("admin.organisation_edit", "GET"): only(ADMIN),
    ("admin.organisation_edit", "POST"): only(ADMIN, 302),
    ("admin.deadline_rules", "GET"): only(ADMIN),
    ("admin.deadline_rule_edit", "GET"): only(ADMIN),
    ("admin.deadline_rule_edit", "POST"): only(ADMIN),
    ("admin.calendar_days", "GET"): only(ADMIN),
    ("admin.calendar_days", "POST"): only(ADMIN),
    # Removes the sample day and goes back to the list.
    ("admin.calendar_day_remove", "POST"): only(ADMIN, 302),
    ("audit.access_log", "GET"): only(AUDIT),
    ("audit.access_log_csv", "GET"): only(AUDIT),
    # The coordinator's pages; a change posted empty (no version) goes back to the page.
    ("trajectories.worklist", "GET"): only(COORD),
    ("trajectories.register", "GET"): only(COORD),
    ("trajectories.register", "POST"): only(COORD, 422),
    ("trajectories.lookup", "GET"): only(COORD),
    ("trajectories.lookup", "POST"): only(COORD),
    ("trajectories.show", "GET"): only(COORD),
    ("trajectories.trigger", "POST"): only(COORD, 302),
    ("trajectories.reopen", "POST"): only(COORD, 302),
    ("trajectories.checklist", "POST"): only(COORD, 302),
    ("trajectories.measurement", "POST"): only(COORD, 302),
    ("trajectories.deadline", "POST"): only(COORD, 302),
    ("trajectories.suspend", "POST"): only(COORD, 302),
    ("trajectories.resume", "POST"): only(COORD, 302),
    ("trajectories.transfer", "POST"): only(COORD, 302),
    ("trajectories.coordinator", "POST"): only(COORD, 302),
    # Regional implementation (the factory's manager keeps region UTR): managers keep their
    # region, admins read it; a change posted empty (no version) goes back to the page.
    ("regions.index", "GET"): statuses(302, 403, manager=200, admin=200),
    ("regions.show", "GET"): statuses(302, 403, manager=200, admin=200),
    ("regions.status", "POST"): only(MGR, 302),
    ("regions.blocks", "POST"): only(MGR, 302),
    ("regions.report", "GET"): statuses(302, 403, manager=200, admin=200),
    ("regions.report", "POST"): only(MGR, 302),
    # The programme's overview: the programme team, and admins to read.
    ("regions.programme", "GET"): statuses(302, 403, programme=200, admin=200),
    ("regions.programme_region", "GET"): statuses(302, 403, programme=200, admin=200),
    # Everyone's own notifications; marking another's (or none) read is not found; an empty
    # settings post saves the defaults. Reminder health: managers (their region) and admins.
    ("notifications.index", "GET"): statuses(302, 200),
    ("notifications.read", "POST"): statuses(302, 404),
    ("notifications.read_all", "POST"): statuses(302),
    ("notifications.settings", "GET"): statuses(302, 200),
    ("notifications.settings", "POST"): statuses(302),
    ("notifications.health", "GET"): statuses(302, 403, manager=200, admin=200),
    # Dashboards: a region's exact figures for its managers, released figures for the programme.
    ("dashboards.region", "GET"): only(MGR),
    ("dashboards.programme", "GET"): only(PROG),
    # A release's download in the page's language: the programme team (no such release: 404).
    ("dashboards.release_download", "GET"): statuses(302, 403, programme=404),
}

# Form data for routes where an empty post says nothing useful.
FORM_DATA: dict[tuple[str, str], dict[str, str]] = {
    ("main.language", "POST"): {"lang": "en", "next": "/"},
}

# Requested last: they end the signed-in session.
LAST = {("auth.logout", "POST")}


def page_routes(app: Flask) -> list[tuple[str, str, Any]]:
    """(endpoint, method, rule) for every route outside the excluded prefixes."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(EXCLUDED_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule))
    return found


def test_every_page_route_has_a_row_for_every_role():
    app = make_test_app()
    routes = {(endpoint, method) for endpoint, method, _ in page_routes(app)}
    missing = sorted(routes - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - routes)
    assert not missing, f"routes without an authorisation row: {missing}"
    assert not stale, f"rows for routes that do not exist: {stale}"
    incomplete = [key for key, row in EXPECTED.items() if set(row) != set(ROLES)]
    assert not incomplete, f"rows without a status for every role: {incomplete}"


def test_api_exclusion_is_only_the_api():
    app = make_test_app()
    excluded = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith(EXCLUDED_PREFIXES)]
    assert all(rule.startswith("/api/") for rule in excluded)


@pytest.fixture
def samples(session) -> dict[str, Any]:
    """Values for URL arguments: rows the routes can find."""
    admin = factories.user(session, Role.ADMIN)
    other = factories.user(session, Role.COORDINATOR)
    organisation: Organisation = save_organisation(
        session, Actor.from_user(admin), "Veilig Thuis Utrecht", "veilig_thuis", "UTR"
    )
    trajectory = factories.trajectory(session, other)
    deadline = session.scalar(select(Deadline.id).where(Deadline.trajectory_id == trajectory.id))
    return {
        "trajectory_id": trajectory.id,
        "deadline_id": deadline,
        "user_id": other.id,
        "organisation_id": organisation.id,
        "kind": "screening_due",
        "day": "2026-05-15",
        "filename": "css/mda.css",
        "code": "UTR",
        "period": "2025-H2",
        "notification_id": 2147483000,
        "release_id": 2147483000,
        "fmt": "csv",
    }


def _url(rule: Any, samples: dict[str, Any]) -> str:
    missing = [arg for arg in rule.arguments if arg not in samples]
    assert not missing, f"{rule.endpoint}: add a sample value for {missing} in samples()"
    return rule.build({arg: samples[arg] for arg in rule.arguments})[1]


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(app, session, samples, role):
    client = app.test_client()
    if role != ANON:
        user = factories.user(session, role)
        assert sign_in(client, user.username).status_code == 302
    routes = sorted(page_routes(app), key=lambda r: ((r[0], r[1]) in LAST, r[0], r[1]))
    wrong = []
    for endpoint, method, rule in routes:
        url = _url(rule, samples)
        data = FORM_DATA.get((endpoint, method), {})
        response = client.open(url, method=method, data=data)
        response.close()
        expected = EXPECTED[(endpoint, method)][role]
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code}, expected {expected}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
