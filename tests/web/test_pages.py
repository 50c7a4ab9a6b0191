"""Admin and auditor pages, error pages, the language switch, and the refusal of a trajectory
to roles that never reach one (403 page plus a ``denied`` access-log entry)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from mda.extensions import db
from mda.models import AccessLogEntry, DeadlineRule, Organisation, User
from mda.services.authz import require_trajectory_access
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction, DeadlineKind, DueUnit, Role
from mda.web.security import current_actor
from tests.conftest import make_test_app
from tests.support import factories
from tests.web.conftest import sign_in


def _admin_client(app, session):
    admin = factories.user(session, Role.ADMIN)
    client = app.test_client()
    sign_in(client, admin.username)
    return client, admin


def test_admin_creates_edits_and_deactivates_a_user(app, session):
    client, _ = _admin_client(app, session)
    page = client.post(
        "/admin/users/new",
        data={"username": "m.devries", "role": "manager", "regions": ["UTR", "AMA"]},
    ).get_data(as_text=True)
    assert re.search(r'id="one-time-password">[^<]{12,}<', page)
    user = db.session.scalar(select(User).where(User.username == "m.devries"))
    assert user.role is Role.MANAGER and user.region_list == ["AMA", "UTR"]
    assert user.must_change_password
    token = user.session_token

    response = client.post(
        f"/admin/users/{user.id}",
        data={"username": user.username, "role": "coordinator", "regions": ["UTR"]},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role is Role.COORDINATOR and user.region_list == ["UTR"]
    assert not user.active  # the box was not ticked
    assert user.session_token != token  # signed out everywhere
    assert sign_in(app.test_client(), user.username, "whatever").status_code == 200


def test_admin_gets_a_clear_error_for_an_inconsistent_user(app, session):
    client, _ = _admin_client(app, session)
    response = client.post(
        "/admin/users/new", data={"username": "p.team", "role": "programme", "regions": ["UTR"]}
    )
    assert response.status_code == 200
    # The service's refusal in the page's language (Dutch by default), with the role's label.
    assert "Een programmateam werkt landelijk en krijgt geen regio." in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(User).where(User.username == "p.team")) is None


def test_admin_cannot_deactivate_themselves(app, session):
    client, admin = _admin_client(app, session)
    response = client.post(
        f"/admin/users/{admin.id}", data={"username": admin.username, "role": "admin"}
    )
    assert response.status_code == 403
    assert db.session.get(User, admin.id).active


def test_admin_resets_a_second_factor(app, session):
    client, _ = _admin_client(app, session)
    user = factories.user(session)
    user.totp_secret = "JBSWY3DPEHPK3PXP"
    user.totp_enabled = True
    session.commit()
    response = client.post(f"/admin/users/{user.id}/reset-second-factor")
    assert response.status_code == 302
    row = db.session.get(User, user.id)
    db.session.refresh(row)
    assert not row.totp_enabled and row.totp_secret is None


def test_admin_manages_organisations_and_deadline_rules(app, session):
    client, _ = _admin_client(app, session)
    response = client.post(
        "/admin/organisations",
        data={
            "name": "Politie Midden-Nederland",
            "kind": "police",
            "region_code": "UTR",
            "active": "y",
        },
    )
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.kind == "police"))
    assert org.region_code == "UTR" and org.active
    response = client.post(
        "/admin/organisations", data={"name": "Politie Midden-Nederland", "active": "y"}
    )
    # The service's refusal, in the page's language (Dutch by default).
    assert "Er is al een organisatie met de naam" in response.get_data(as_text=True)

    response = client.post(
        "/admin/deadline-rules/screening_due",
        data={
            "amount": "15",
            "unit": "working_days",
            "remind_before_working_days": "2",
            "remind_before_hours": "6",
            "escalate_after_working_days": "3",
            "repeat_every_working_days": "5",
            "enabled": "y",
        },
    )
    assert response.status_code == 302
    rule = db.session.get(DeadlineRule, DeadlineKind.SCREENING_DUE)
    db.session.refresh(rule)
    assert rule.amount == 15 and rule.unit is DueUnit.WORKING_DAYS
    assert rule.remind_before_hours == 6  # the whole ladder is the admin's to set
    response = client.post(
        "/admin/deadline-rules/screening_due",
        data={
            "amount": "0",
            "unit": "working_days",
            "remind_before_working_days": "2",
            "remind_before_hours": "6",
            "escalate_after_working_days": "3",
            "repeat_every_working_days": "5",
        },
    )
    assert response.status_code == 200
    db.session.refresh(rule)
    assert rule.amount == 15
    assert client.get("/admin/deadline-rules/no_such_rule").status_code == 404
    changes = db.session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.object_type.in_(["organisation", "deadline_rule"])
        )
    ).all()
    assert {c.object_type for c in changes} == {"organisation", "deadline_rule"}


def test_auditor_filters_and_exports_the_access_log(app, session):
    auditor = factories.user(session, Role.AUDITOR)
    coordinator = factories.user(session)
    me = factories.actor(coordinator)
    from mda.services.audit import log_access

    with unit_of_work(session):
        log_access(session, me, AccessAction.READ, "trajectory", 41, trajectory_id=41)
        log_access(session, me, AccessAction.CHANGE, "trajectory", 42, trajectory_id=42)
        log_access(session, me, AccessAction.READ, "trajectory", "=2+3", trajectory_id=42)
    client = app.test_client()
    sign_in(client, auditor.username)
    body = client.get(f"/audit/access-log?username={coordinator.username}&action=read")
    text = body.get_data(as_text=True)
    assert body.status_code == 200
    assert "2 regels" in text  # Dutch by default
    body = client.get("/audit/access-log?trajectory_id=42&action=change").get_data(as_text=True)
    assert "1 regel" in body
    assert client.get("/audit/access-log?trajectory_id=abc").status_code == 422
    # Values that once reached the database as they were: now a clear 422, not a 500.
    for query in ("trajectory_id=%C2%B2", "trajectory_id=99999999999", "username=a%00b"):
        assert client.get(f"/audit/access-log?{query}").status_code == 422, query
    for page in ("%C2%B2", "99999999999999999999999"):
        assert client.get(f"/audit/access-log?page={page}").status_code == 200, page

    response = client.get(f"/audit/access-log.csv?trajectory_id=42&username={coordinator.username}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["change", "read"]
    assert rows[1]["object_id"] == "'=2+3"  # no formula for a spreadsheet to run
    export = db.session.scalar(
        select(AccessLogEntry).where(AccessLogEntry.action == AccessAction.EXPORT)
    )
    assert export.username == auditor.username
    assert export.details["filters"]["trajectory_id"] == "42"
    assert export.details["rows"] == 2


@pytest.fixture
def probe_app(engine, connection, tmp_path):
    """An app with one extra route that reaches a trajectory through the services' rule,
    standing in for the trajectory pages (they join the matrix when they arrive)."""
    from tests.web.conftest import bound_app

    app = bound_app(engine, connection, tmp_path)

    @app.get("/probe/trajectories/<int:trajectory_id>")
    def probe(trajectory_id: int):
        with unit_of_work(db.session):
            require_trajectory_access(current_actor(), trajectory_id, "UTR", AccessAction.READ)
        return "content"

    with app.app_context():
        yield app


@pytest.mark.parametrize(
    ("role", "regions", "status"),
    [
        (Role.COORDINATOR, ["UTR"], 200),
        (Role.COORDINATOR, ["AMA"], 403),
        (Role.MANAGER, ["UTR"], 403),
        (Role.PROGRAMME, [], 403),
        (Role.ADMIN, [], 403),
        (Role.AUDITOR, [], 403),
    ],
)
def test_trajectory_refusal_is_a_403_page_and_is_logged(probe_app, session, role, regions, status):
    user = factories.user(session, role, regions)
    client = probe_app.test_client()
    sign_in(client, user.username)
    response = client.get("/probe/trajectories/7")
    assert response.status_code == status
    denied = db.session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.action == AccessAction.DENIED, AccessLogEntry.user_id == user.id
        )
    ).all()
    if status == 403:
        assert "Geen toegang" in response.get_data(as_text=True)
        assert [(d.trajectory_id, d.details["attempted"]) for d in denied] == [(7, "read")]
    else:
        assert denied == []


def test_error_pages_in_the_product_style(app, session):
    client = app.test_client()
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Niet gevonden" in response.get_data(as_text=True)
    assert 'href="/static/css/mda.css"' in response.get_data(as_text=True)


def test_500_page_hides_the_error(tmp_path):
    app = make_test_app(INSTANCE_PATH=str(tmp_path / "i"), PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Er ging iets mis" in body and "secret internals" not in body


def test_409_page(tmp_path):
    from mda.services.errors import Conflict

    app = make_test_app(INSTANCE_PATH=str(tmp_path / "i"))

    @app.get("/stale")
    def stale():
        raise Conflict("changed by someone else")

    response = app.test_client().get("/stale")
    assert response.status_code == 409
    assert "Intussen gewijzigd" in response.get_data(as_text=True)


def test_language_switch(client):
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    assert "Inloggen" in client.get("/auth/login", headers=english_browser).get_data(as_text=True)
    response = client.post("/language", data={"lang": "en", "next": "/auth/login"})
    assert response.headers["Location"] == "/auth/login"
    assert "Sign in" in client.get("/auth/login").get_data(as_text=True)
    assert client.post("/language", data={"lang": "xx"}).status_code == 400
    response = client.post("/language", data={"lang": "nl", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


# --- huge ids, deep JSON, no caching (issue 8) ----------------------------------------------


def _page_rules(app, methods):
    from mda.web.api.blueprint import API_PREFIX

    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX) or rule.endpoint.endswith("static"):
            continue
        for method in sorted((rule.methods or set()) & set(methods)):
            yield rule, method


def test_huge_ids_in_page_urls_are_404_not_500(app, session):
    from werkzeug.routing import IntegerConverter

    client, _ = _admin_client(app, session)
    checked = 0
    for rule, method in _page_rules(app, ("GET", "POST")):
        ints = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        for name in ints:
            for huge in (2**63, 2**70, "9" * 5000):
                url = rule.rule.replace(f"<int:{name}>", str(huge))
                response = client.open(url, method=method)
                assert response.status_code == 404, (method, url, response.status_code)
                checked += 1
    assert checked >= 5 * 3


def test_page_forms_refuse_deeply_nested_json_with_400(app, session):
    client, _ = _admin_client(app, session)
    admin_page_posts = [
        (rule, method)
        for rule, method in _page_rules(app, ("POST",))
        if not rule.arguments and rule.rule.startswith(("/admin", "/account"))
    ]
    assert admin_page_posts
    for rule, method in admin_page_posts:
        response = client.open(
            rule.rule,
            method=method,
            data="[" * 1000 + "]" * 1000,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, (rule.rule, response.status_code)


def test_pages_are_not_cached_but_static_assets_may_be(app, session):
    anonymous = app.test_client()
    client, admin = _admin_client(app, session)
    for response in (
        anonymous.get("/auth/login"),
        anonymous.get("/no-such-page"),
        anonymous.get("/healthz"),
        client.get("/account/"),
        client.get("/admin/users"),
        client.get(f"/admin/users/{admin.id}"),
        client.get("/admin/organisations"),
    ):
        assert response.headers.get("Cache-Control") == "no-store", response.request.path
        assert response.headers.get("Pragma") == "no-cache", response.request.path
    asset = anonymous.get("/static/css/mda.css")
    assert asset.status_code == 200
    assert "no-store" not in asset.headers.get("Cache-Control", "")
    assert "Pragma" not in asset.headers
    asset.close()
