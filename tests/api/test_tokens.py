"""POST /api/v1/tokens and the token's life: expiry, revocation, second factor, throttling."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from mda.models import ApiToken, utcnow
from mda.services import tokens as token_service
from mda.vocabulary import Role
from tests.api.conftest import API, issue
from tests.support import factories


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_for_every_role_tells_who_it_is_for(client, session):
    for role in Role:
        user = factories.user(session, role)
        response = issue(client, user)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["token_type"] == "Bearer"
        assert body["token"].startswith("mda_")
        info = client.get(f"{API}/tokens/current", headers=bearer(body["token"])).get_json()
        assert info["username"] == user.username
        assert info["role"] == role.value
        assert info["regions"] == user.region_list


def test_token_expires_after_the_configured_lifetime(client, session):
    client.application.config["API_TOKEN_LIFETIME"] = timedelta(minutes=5)
    user = factories.user(session)
    body = issue(client, user).get_json()
    row = session.get(ApiToken, body["id"])
    assert timedelta(minutes=4) < row.expires_at - utcnow() <= timedelta(minutes=5)
    assert token_service.verify_token(session, body["token"]) is not None
    later = utcnow() + timedelta(minutes=6)
    assert token_service.verify_token(session, body["token"], now=later) is None


def test_expired_token_is_refused(client, session):
    user = factories.user(session)
    text, row = token_service.issue_token(session, user, timedelta(minutes=1))
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = client.get(f"{API}/tokens/current", headers=bearer(text))
    assert response.status_code == 401


def test_revoked_token_stops_working(client, session):
    user = factories.user(session)
    token = issue(client, user).get_json()["token"]
    assert client.delete(f"{API}/tokens/current", headers=bearer(token)).status_code == 204
    assert client.get(f"{API}/tokens/current", headers=bearer(token)).status_code == 401
    # Another token of the same user is not affected.
    other = issue(client, user).get_json()["token"]
    assert client.get(f"{API}/tokens/current", headers=bearer(other)).status_code == 200


def test_deactivated_user_loses_api_access(client, session):
    user = factories.user(session)
    token = issue(client, user).get_json()["token"]
    user.active = False
    session.commit()
    assert client.get(f"{API}/tokens/current", headers=bearer(token)).status_code == 401


def test_wrong_password_and_unknown_user_answer_alike(client, session):
    user = factories.user(session)
    wrong = issue(client, user, password="not the password at all")
    assert wrong.status_code == 401
    assert wrong.mimetype == "application/problem+json"
    unknown = client.post(f"{API}/tokens", json={"username": "nobody", "password": "x" * 12})
    assert unknown.status_code == 401
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]


def test_failed_attempts_are_throttled(client, session):
    limit = client.application.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    user = factories.user(session)
    for _ in range(limit):
        assert issue(client, user, password="wrong password here").status_code == 401
    response = issue(client, user)  # even the right password waits now
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/problem+json"


def enable_totp(session, user) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled = True
    session.commit()
    return pyotp.TOTP(secret)


def test_second_factor_is_required_when_enabled(client, session):
    user = factories.user(session)
    otp = enable_totp(session, user)
    missing = issue(client, user)
    assert missing.status_code == 401
    assert "second_factor" in missing.get_json()["detail"]
    wrong_code = f"{(int(otp.now()) + 1) % 1_000_000:06d}"
    assert issue(client, user, second_factor=wrong_code).status_code == 401
    assert issue(client, user, second_factor=otp.now()).status_code == 201


def test_required_second_factor_must_be_set_up_first(client, session):
    client.application.config["REQUIRE_SECOND_FACTOR"] = True
    user = factories.user(session)
    response = issue(client, user)
    assert response.status_code == 403
    assert "second factor" in response.get_json()["detail"]


def test_password_change_comes_first(client, session):
    user = factories.user(session)
    user.must_change_password = True
    session.commit()
    response = issue(client, user)
    assert response.status_code == 403
    assert "password" in response.get_json()["detail"]
