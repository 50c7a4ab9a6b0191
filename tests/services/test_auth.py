"""Sign-in rules in the service layer: throttling per account and per address, the second
factor with replay protection. Shared by the pages and the API's token endpoint."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from mda.extensions import db as database
from mda.models import LoginAttempt, utcnow
from mda.services import auth, tokens, totp
from mda.services.errors import DomainError
from mda.services.settings import ThrottleLimits, use_settings
from tests.conftest import TEST_SETTINGS
from tests.support import factories

ADDR = "192.0.2.10"


def _fail(session, username, addr=ADDR, times=1):
    for _ in range(times):
        assert auth.authenticate(session, username, "wrong password!!", addr) is None


def test_right_password_signs_in_and_wrong_one_does_not(session):
    user = factories.user(session)
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) == user
    assert auth.authenticate(session, user.username.upper(), factories.PASSWORD, ADDR) == user
    assert auth.authenticate(session, user.username, "not the password", ADDR) is None
    assert auth.authenticate(session, "nobody-here", factories.PASSWORD, ADDR) is None


def test_inactive_account_cannot_sign_in(session):
    user = factories.user(session)
    user.active = False
    session.flush()
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) is None


def test_account_is_throttled_after_too_many_failures(session):
    user = factories.user(session)
    _fail(session, user.username, times=5)
    with pytest.raises(auth.ThrottledError) as caught:
        # Even the right password is not checked while the account is throttled.
        auth.authenticate(session, user.username, factories.PASSWORD, "198.51.100.7")
    exc = caught.value
    assert isinstance(exc, DomainError) and exc.status == 429
    assert exc.scope == "account"
    assert 14 * 60 < exc.retry_after <= 15 * 60
    assert "Try again in 15 minute(s)" in exc.message


def test_throttling_counts_only_failures_in_the_window(session):
    user = factories.user(session)
    old = utcnow() - timedelta(minutes=16)
    for _ in range(10):
        session.add(LoginAttempt(username=user.username, remote_addr=ADDR, succeeded=False, at=old))
    session.flush()
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) == user


def test_retry_moment_is_when_the_oldest_counted_failure_leaves_the_window(session):
    user = factories.user(session)
    ten_ago = utcnow() - timedelta(minutes=10)
    for _ in range(5):
        session.add(
            LoginAttempt(username=user.username, remote_addr=ADDR, succeeded=False, at=ten_ago)
        )
    session.flush()
    with pytest.raises(auth.ThrottledError) as caught:
        auth.authenticate(session, user.username, factories.PASSWORD, ADDR)
    assert 4 * 60 < caught.value.retry_after <= 5 * 60


def test_a_successful_sign_in_resets_the_account_count(session):
    user = factories.user(session)
    _fail(session, user.username, times=4)
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) == user
    _fail(session, user.username, times=4)
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) == user


def test_address_is_throttled_across_accounts(session):
    user = factories.user(session)
    # Guessing at many accounts from one address: 20 failures, 4 per account (no account hits 5).
    for i in range(5):
        _fail(session, f"guess{i}", times=4)
    with pytest.raises(auth.ThrottledError) as caught:
        auth.authenticate(session, user.username, factories.PASSWORD, ADDR)
    assert caught.value.scope == "address"
    # The same account from another address is fine.
    assert auth.authenticate(session, user.username, factories.PASSWORD, "203.0.113.5") == user


def test_app_settings_set_the_limits(app, session):
    """The app's configuration reaches the services through the sessions the app makes."""
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 2
    app_session = database.new_session(app)
    user = factories.user(app_session)
    _fail(app_session, user.username, times=2)
    with pytest.raises(auth.ThrottledError):
        auth.authenticate(app_session, user.username, factories.PASSWORD, ADDR)
    # A session given other settings follows those, whatever the app's configuration.
    use_settings(session, replace(TEST_SETTINGS, throttle=ThrottleLimits(per_account=3)))
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) == user


def _with_totp(session, user):
    secret = totp.new_secret()
    user.totp_secret = secret
    user.totp_enabled = True
    session.flush()
    return pyotp.TOTP(secret)


def test_password_of_second_factor_user_is_not_yet_a_success(session):
    user = factories.user(session)
    _with_totp(session, user)
    _fail(session, user.username, times=4)
    # Right password, but no code yet: the failure count must not be reset by it.
    assert auth.authenticate(session, user.username, factories.PASSWORD, ADDR) == user
    _fail(session, user.username, times=1)
    with pytest.raises(auth.ThrottledError):
        auth.authenticate(session, user.username, factories.PASSWORD, ADDR)


def test_second_factor_accepts_a_code_once(session):
    user = factories.user(session)
    otp = _with_totp(session, user)
    code = otp.now()
    assert auth.verify_second_factor(session, user, code, ADDR) is True
    assert user.totp_last_counter is not None
    # The same code again (an overheard one) is refused.
    assert auth.verify_second_factor(session, user, code, ADDR) is False
    # A later code is accepted again: replay protection is per time step, not a lock-out.
    assert auth.verify_second_factor(session, user, otp.at(time.time() + 30), ADDR) is True


def test_wrong_codes_are_throttled_like_passwords(session):
    user = factories.user(session)
    otp = _with_totp(session, user)
    wrong = "123456" if otp.now() != "123456" else "654321"
    for _ in range(5):
        assert auth.verify_second_factor(session, user, wrong, ADDR) is False
    with pytest.raises(auth.ThrottledError):
        auth.verify_second_factor(session, user, otp.now(), ADDR)
    failures = session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.username == user.username, LoginAttempt.succeeded.is_(False)
        )
    )
    assert failures == 5


def test_second_factor_refused_without_enrolment(session):
    user = factories.user(session)
    user.totp_secret = totp.new_secret()  # pending, not confirmed
    session.flush()
    code = pyotp.TOTP(user.totp_secret).now()
    assert auth.verify_second_factor(session, user, code) is False


def test_enrolment_needs_a_matching_code_and_shows_the_secret_only_while_pending(session):
    user = factories.user(session)
    me = factories.actor(user)
    secret = totp.begin_enrolment(session, me, user)
    with pytest.raises(DomainError):
        totp.confirm_enrolment(session, me, user, "12345x")
    totp.confirm_enrolment(session, me, user, pyotp.TOTP(secret).now())
    assert user.totp_enabled
    with pytest.raises(DomainError) as caught:
        totp.begin_enrolment(session, me, user)
    assert caught.value.status == 409
    other = factories.user(session)
    with pytest.raises(DomainError) as caught:
        totp.begin_enrolment(session, factories.actor(other), user)
    assert caught.value.status == 403


def test_the_database_decides_whether_a_code_was_used(session):
    # The user object a request holds can be stale: another request accepted the code after it
    # was loaded. The code must still be refused.
    user = factories.user(session)
    otp = _with_totp(session, user)
    code = otp.now()
    assert auth.verify_second_factor(session, user, code, ADDR) is True
    set_committed_value(user, "totp_last_counter", None)  # what a stale copy would say
    assert auth.verify_second_factor(session, user, code, ADDR) is False


def test_sign_out_ends_every_web_session_but_keeps_api_tokens(session):
    user = factories.user(session)
    text, _row = tokens.issue_token(session, user)
    old = user.get_id()
    auth.sign_out(session, user)
    assert auth.load_session_user(session, old) is None
    assert auth.load_session_user(session, user.get_id()) == user
    assert tokens.verify_token(session, text) is not None


def test_sign_out_everywhere_also_revokes_api_tokens(session):
    user = factories.user(session)
    texts = [tokens.issue_token(session, user)[0] for _ in range(3)]
    old = user.get_id()
    assert auth.sign_out_everywhere(session, user) == 3
    assert auth.load_session_user(session, old) is None
    assert [tokens.verify_token(session, text) for text in texts] == [None] * 3
