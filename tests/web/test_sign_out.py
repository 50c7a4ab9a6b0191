"""Sessions and tokens end when they should, tested through the real pages and API.

A copy of a session cookie (what an attacker who read it would hold) stops working at
sign-out, and at the absolute session lifetime however active the session was. A password
change, an admin's reset, a role change, a region taken away, a second-factor reset and a
deactivation each end every web session and revoke every API token of the account.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from mda.models import User
from mda.vocabulary import Role
from mda.web import security as web_security
from tests.support import factories
from tests.web.conftest import sign_in

API = "/api/v1"
NEW_PASSWORD = "a brand new passphrase"


def session_cookie(client: Any) -> str:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app: Flask, cookie: str) -> Any:
    """A fresh client (another browser) holding a copied session cookie."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return other


def is_signed_in(client: Any) -> bool:
    response = client.get("/account/")
    if response.status_code == 302:
        assert "/auth/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def api_token(app: Flask, user: User, password: str = factories.PASSWORD) -> str:
    response = app.test_client().post(
        f"{API}/tokens", json={"username": user.username, "password": password}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def api_status(app: Flask, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().get(f"{API}/tokens/current", headers=headers).status_code


def signed_in_client(app: Flask, user: User) -> Any:
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    return client


# --- sign-out ---------------------------------------------------------------------------


def test_a_copied_cookie_does_not_outlive_sign_out(app, session):
    user = factories.user(session)
    client = signed_in_client(app, user)
    stolen = session_cookie(client)
    assert is_signed_in(replay(app, stolen))
    token = api_token(app, user)

    assert client.post("/auth/logout").status_code == 302
    assert not is_signed_in(client)
    assert not is_signed_in(replay(app, stolen))
    # Signing in again gives a new session; the copy from before stays dead.
    client = signed_in_client(app, user)
    assert is_signed_in(client)
    assert not is_signed_in(replay(app, stolen))
    # An API token is a credential of its own, revoked with DELETE /tokens/current.
    assert api_status(app, token) == 200


def test_sign_out_ends_the_other_sessions_of_the_account(app, session):
    user = factories.user(session)
    laptop, desktop = signed_in_client(app, user), signed_in_client(app, user)
    someone_else = signed_in_client(app, factories.user(session))
    assert laptop.post("/auth/logout").status_code == 302
    assert not is_signed_in(desktop)
    assert is_signed_in(someone_else)


# --- account changes end sessions and tokens --------------------------------------------


def _own_password_change(app: Flask, user: User, victim: Any, admin: Any) -> None:
    response = victim.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    # The browser that changed the password stays signed in; every other one does not.
    assert is_signed_in(victim)


def _edit(admin: Any, user: User, role: str, regions: list[str], active: bool) -> None:
    data: dict[str, Any] = {"username": user.username, "role": role, "regions": regions}
    if active:
        data["active"] = "y"
    response = admin.post(f"/admin/users/{user.id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


EVENTS: dict[str, Callable[[Flask, User, Any, Any], None]] = {
    "own password change": _own_password_change,
    "admin password reset": lambda app, user, victim, admin: admin.post(
        f"/admin/users/{user.id}/reset-password"
    ),
    "second-factor reset": lambda app, user, victim, admin: admin.post(
        f"/admin/users/{user.id}/reset-second-factor"
    ),
    "role change": lambda app, user, victim, admin: _edit(admin, user, "manager", ["UTR"], True),
    "region taken away": lambda app, user, victim, admin: _edit(
        admin, user, "coordinator", ["UTR"], True
    ),
    "deactivation": lambda app, user, victim, admin: _edit(
        admin, user, "coordinator", ["UTR", "AMA"], False
    ),
}


@pytest.mark.parametrize("event", list(EVENTS))
def test_account_change_ends_every_session_and_token(app, session, event):
    admin = signed_in_client(app, factories.user(session, Role.ADMIN))
    user = factories.user(session, Role.COORDINATOR, ["UTR", "AMA"])
    victim = signed_in_client(app, user)
    copy = session_cookie(victim)
    tokens = [api_token(app, user), api_token(app, user)]
    bystander = factories.user(session)
    bystander_token = api_token(app, bystander)
    assert is_signed_in(replay(app, copy))
    assert [api_status(app, token) for token in tokens] == [200, 200]

    EVENTS[event](app, user, victim, admin)

    assert not is_signed_in(replay(app, copy))
    assert [api_status(app, token) for token in tokens] == [401, 401]
    if event != "own password change":
        assert not is_signed_in(victim)
    # Nobody else is affected.
    assert is_signed_in(admin)
    assert api_status(app, bystander_token) == 200


def test_adding_a_region_keeps_sessions_and_tokens(app, session):
    admin = signed_in_client(app, factories.user(session, Role.ADMIN))
    user = factories.user(session, Role.COORDINATOR, ["UTR"])
    victim = signed_in_client(app, user)
    token = api_token(app, user)
    _edit(admin, user, "coordinator", ["UTR", "AMA"], True)
    assert is_signed_in(victim)
    assert api_status(app, token) == 200


def test_reactivation_does_not_bring_back_old_tokens(app, session):
    admin = signed_in_client(app, factories.user(session, Role.ADMIN))
    user = factories.user(session)
    token = api_token(app, user)
    _edit(admin, user, "coordinator", ["UTR"], False)
    assert api_status(app, token) == 401
    _edit(admin, user, "coordinator", ["UTR"], True)
    assert api_status(app, token) == 401
    assert api_status(app, api_token(app, user)) == 200  # a new sign-in works


# --- absolute lifetime ------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The web layer's clock, moved by the test: ``clock[0] = ...``."""
    now = [time.time()]
    monkeypatch.setattr(web_security, "clock", lambda: now[0])
    return now


def test_absolute_lifetime_does_not_slide_with_requests(app, session, clock):
    lifetime = app.permanent_session_lifetime.total_seconds()
    idle = app.config["IDLE_TIMEOUT_MINUTES"] * 60
    # Signed in half a lifetime ago (by this clock), so a cookie expiry renewed from the real
    # time would lie later than the sign-in's end.
    start = clock[0] = time.time() - lifetime / 2
    user = factories.user(session)
    client = signed_in_client(app, user)
    end = datetime.fromtimestamp(int(start), UTC) + timedelta(seconds=lifetime)

    # A request well within the idle time-out, again and again: always signed in, and
    # neither the sign-in time nor the cookie's expiry moves.
    moment = start
    while moment + idle - 60 <= start + lifetime:
        moment += idle - 60
        clock[0] = moment
        assert is_signed_in(client), moment - start
        with client.session_transaction() as stored:
            assert stored[web_security.SIGNED_IN_AT] == int(start)
        expires = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).expires
        assert expires is not None and expires <= end
    copy = session_cookie(client)  # taken a moment ago: not idle, only old

    clock[0] = start + lifetime + 1
    response = client.get("/account/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert "Uw sessie is afgelopen" in client.get("/auth/login").get_data(as_text=True)
    assert not is_signed_in(client)
    assert not is_signed_in(replay(app, copy))


def test_a_session_without_a_sign_in_time_is_over(client, session):
    user = factories.user(session)
    sign_in(client, user.username)
    assert is_signed_in(client)
    with client.session_transaction() as stored:
        del stored[web_security.SIGNED_IN_AT]
    assert not is_signed_in(client)
