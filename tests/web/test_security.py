"""Each protection has a test that fails when the protection is removed: CSRF, throttling,
idle time-out, the second factor, the security headers, cookie flags; and secrets stay out of
logs and off later pages."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pyotp
from flask import Flask
from sqlalchemy import select

import mda
from mda.extensions import db
from mda.models import AccessLogEntry, LoginAttempt
from mda.services import totp
from tests.support import factories
from tests.web.conftest import csrf_token_of, sign_in
from tests.web.test_authz_matrix import page_routes

PACKAGE = Path(mda.__file__).parent

# --- CSRF -------------------------------------------------------------------------------


def test_every_form_post_needs_a_csrf_token(app_with, session):
    app = app_with(WTF_CSRF_ENABLED=True)
    user = factories.user(session, "admin")
    client = app.test_client()
    posts = sorted({(r.rule, e) for e, m, r in page_routes(app) if m == "POST"})
    assert posts, "no form routes found"
    # Signed out: no post is accepted without the token.
    for rule, endpoint in posts:
        # Every variable part, with or without a converter and its arguments, becomes "1".
        url = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", "1", rule)
        response = client.post(url, data={"username": user.username, "lang": "en"})
        assert response.status_code == 400, f"{endpoint} accepted a post without a CSRF token"
    # The sign-in itself refuses a post without the token, and accepts one with it.
    assert client.get("/").status_code == 302
    page = client.get("/auth/login").get_data(as_text=True)
    response = client.post(
        "/auth/login",
        data={
            "username": user.username,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token_of(page),
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    # Signed in: sign-out without the token is refused, so a foreign page cannot sign us out.
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/").status_code == 200


# --- throttling -------------------------------------------------------------------------


def test_sign_in_page_throttles_with_a_clear_message(client, session):
    user = factories.user(session)
    for _ in range(5):
        response = sign_in(client, user.username, "wrong password!!")
        assert response.status_code == 200
    response = sign_in(client, user.username)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "15" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_throttle_message_is_in_dutch_by_default(client, session):
    user = factories.user(session)
    for _ in range(5):
        sign_in(client, user.username, "wrong password!!")
    body = sign_in(client, user.username).get_data(as_text=True)
    assert "Te veel mislukte inlogpogingen" in body


def test_throttling_counts_the_client_address_behind_a_trusted_proxy(app_with, session):
    app = app_with(TRUSTED_PROXIES=1)
    client = app.test_client()
    client.post(
        "/auth/login",
        data={"username": "nobody-at-all", "password": "wrong password!!"},
        headers={"X-Forwarded-For": "198.51.100.23"},
    )
    attempt = db.session.scalar(
        select(LoginAttempt).where(LoginAttempt.username == "nobody-at-all")
    )
    assert attempt.remote_addr == "198.51.100.23"


# --- idle time-out ----------------------------------------------------------------------


def test_idle_session_is_signed_out(client, session, app):
    user = factories.user(session)
    sign_in(client, user.username)
    assert client.get("/trajectories/").status_code == 200
    timeout = app.config["IDLE_TIMEOUT_MINUTES"] * 60
    with client.session_transaction() as sess:
        sess["last_seen"] = int(time.time()) - timeout + 60
    assert (
        client.get("/trajectories/").status_code == 200
    )  # active within the limit: still signed in
    with client.session_transaction() as sess:
        sess["last_seen"] = int(time.time()) - timeout - 1
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    # And it stays signed out: the session itself is gone, not only that one request.
    assert client.get("/account/").status_code == 302


# --- the second factor ------------------------------------------------------------------


def _enable_totp(session, user) -> pyotp.TOTP:
    secret = totp.begin_enrolment(session, factories.actor(user), user)
    otp = pyotp.TOTP(secret)
    totp.confirm_enrolment(session, factories.actor(user), user, otp.at(time.time() - 30))
    return otp


def test_password_alone_does_not_sign_in_a_user_with_a_second_factor(client, session):
    user = factories.user(session)
    otp = _enable_totp(session, user)
    response = sign_in(client, user.username)
    assert response.headers["Location"].endswith("/auth/second-factor")
    assert client.get("/").status_code == 302
    assert client.get("/account/").status_code == 302
    response = client.post("/auth/second-factor", data={"code": "000000"})
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    response = client.post("/auth/second-factor", data={"code": otp.now()})
    assert response.status_code == 302
    assert client.get("/trajectories/").status_code == 200


def test_a_used_code_cannot_be_replayed(app, session):
    user = factories.user(session)
    otp = _enable_totp(session, user)
    code = otp.now()
    first, second = app.test_client(), app.test_client()
    sign_in(first, user.username)
    assert first.post("/auth/second-factor", data={"code": code}).status_code == 302
    sign_in(second, user.username)
    assert second.post("/auth/second-factor", data={"code": code}).status_code == 200
    assert second.get("/").status_code == 302


def test_production_setting_forces_enrolment_before_anything_else(app_with, session):
    app = app_with(REQUIRE_SECOND_FACTOR=True)
    user = factories.user(session)
    client = app.test_client()
    sign_in(client, user.username)
    for path in ("/", "/account/", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/account/second-factor")
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page  # the QR code, rendered on the server
    response = client.post("/account/second-factor", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/trajectories/").status_code == 200


def test_without_the_setting_enrolment_is_offered_not_forced(client, session):
    user = factories.user(session)
    sign_in(client, user.username)
    assert client.get("/trajectories/").status_code == 200
    assert "/account/second-factor" in client.get("/account/").get_data(as_text=True)


def test_one_time_password_forces_a_password_change(app, session):
    admin = factories.user(session, "admin")
    client = app.test_client()
    sign_in(client, admin.username)
    page = client.post(
        "/admin/users/new", data={"username": "c.jansen", "role": "coordinator", "regions": "UTR"}
    ).get_data(as_text=True)
    password = re.search(r'id="one-time-password">([^<]+)<', page).group(1)
    newcomer = app.test_client()
    sign_in(newcomer, "c.jansen", password)
    response = newcomer.get("/")
    assert response.headers["Location"].endswith("/account/password")
    response = newcomer.post(
        "/account/password",
        data={
            "current_password": password,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert newcomer.get("/trajectories/").status_code == 200


# --- headers and cookies ----------------------------------------------------------------


def test_security_headers_on_every_kind_of_page(client, session):
    user = factories.user(session, "admin")
    pages = [client.get("/auth/login"), client.get("/no-such-page")]
    sign_in(client, user.username)
    pages += [client.get("/"), client.get("/admin/users"), client.get("/audit/access-log")]
    for response in pages:
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
    # Signed-in pages are not cached.
    assert pages[2].headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_style_or_external_assets():
    offenders = []
    for path in PACKAGE.rglob("*.html"):
        text = path.read_text()
        for pattern, what in (
            (r"<script(?![^>]*\bsrc=)[^>]*>", "inline <script>"),
            (r"\sstyle\s*=", "style= attribute"),
            (r"<style", "<style> block"),
            (r"\son[a-z]+\s*=", "inline event handler"),
            (r"(?:src|href)=\"(?:https?:)?//", "asset from another host"),
        ):
            if re.search(pattern, text, re.IGNORECASE):
                offenders.append(f"{path.relative_to(PACKAGE)}: {what}")
    assert not offenders, offenders


def _production_app(tmp_path) -> Flask:
    return mda.create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "x" * 32,
            "PSEUDONYM_KEY": "y" * 32,
            "DATABASE_URL": "sqlite://",
            "BROKER_URL": "memory://",
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )


def test_production_cookies_are_secure_httponly_and_samesite(tmp_path):
    app = _production_app(tmp_path)
    assert app.config["REQUIRE_SECOND_FACTOR"] is True
    response = app.test_client().get("/auth/login", base_url="https://mda.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- secrets stay secret ----------------------------------------------------------------


def test_passwords_and_totp_secrets_are_never_logged_nor_shown_again(app, session, caplog):
    caplog.set_level(logging.DEBUG)
    admin = factories.user(session, "admin")
    client = app.test_client()
    sign_in(client, admin.username)
    page = client.post(
        "/admin/users/new",
        data={"username": "c.pietersen", "role": "coordinator", "regions": "UTR"},
    ).get_data(as_text=True)
    one_time = re.search(r'id="one-time-password">([^<]+)<', page).group(1)
    listing = client.get("/admin/users").get_data(as_text=True)
    user_id = re.search(r'/admin/users/(\d+)">c.pietersen<', listing).group(1)
    reset_page = client.post(f"/admin/users/{user_id}/reset-password").get_data(as_text=True)
    reset = re.search(r'id="one-time-password">([^<]+)<', reset_page).group(1)
    assert reset != one_time
    # Never again on the admin's pages.
    for path in ("/admin/users", f"/admin/users/{user_id}"):
        body = client.get(path).get_data(as_text=True)
        assert one_time not in body and reset not in body

    newcomer = app.test_client()
    sign_in(newcomer, "c.pietersen", reset)
    new_password = "my own long passphrase"
    newcomer.post(
        "/account/password",
        data={"current_password": reset, "new_password": new_password, "confirm": new_password},
    )
    page = newcomer.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    newcomer.post("/account/second-factor", data={"code": pyotp.TOTP(secret).now()})
    assert secret not in newcomer.get("/account/second-factor").get_data(as_text=True)
    assert secret not in newcomer.get("/account/").get_data(as_text=True)

    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    # Read through the app's own session: the requests above used it.
    details = " ".join(str(e.details) for e in db.session.scalars(select(AccessLogEntry)))
    for value in (one_time, reset, new_password, secret, factories.PASSWORD):
        assert value not in logged
        assert value not in details
