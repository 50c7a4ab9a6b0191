"""Account upkeep in the service layer: only an admin manages accounts, role and region scope
stay consistent, resets sign the account out, and a user changes only their own password."""

from __future__ import annotations

import pytest

from mda.services import tokens as token_service
from mda.services import users
from mda.services.auth import authenticate, load_session_user
from mda.services.errors import Forbidden, ValidationError
from mda.services.passwords import verify_password
from mda.vocabulary import Role
from tests.support import factories


@pytest.fixture
def admin(session):
    return factories.actor(factories.user(session, Role.ADMIN))


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_an_admin_manages_accounts(session, role):
    someone = factories.actor(factories.user(session, role))
    target = factories.user(session)
    for call in (
        lambda: users.list_users(session, someone),
        lambda: users.invite_user(session, someone, "new.person", Role.AUDITOR),
        lambda: users.update_user(session, someone, target.id, Role.COORDINATOR, ["UTR"], False),
        lambda: users.reset_password(session, someone, target.id),
        lambda: users.reset_second_factor(session, someone, target.id),
    ):
        with pytest.raises(Forbidden):
            call()
    assert target.active


def test_invited_user_gets_a_one_time_password_to_change(session, admin):
    created = users.invite_user(session, admin, "a.visser", Role.MANAGER, ["utr", "AMA"])
    assert created.user.must_change_password
    assert created.user.region_list == ["AMA", "UTR"]
    assert verify_password(created.user.password_hash, created.one_time_password)


def test_role_and_regions_must_fit(session, admin):
    user = factories.user(session)
    with pytest.raises(ValidationError, match="needs at least one region"):
        users.update_user(session, admin, user.id, Role.MANAGER, [], True)
    with pytest.raises(ValidationError, match="takes no region"):
        users.update_user(session, admin, user.id, Role.AUDITOR, ["UTR"], True)
    with pytest.raises(ValidationError, match="Unknown region"):
        users.update_user(session, admin, user.id, Role.COORDINATOR, ["XXX"], True)
    session.refresh(user)
    assert user.role is Role.COORDINATOR and user.region_list == ["UTR"]


def test_role_change_and_deactivation_sign_out(session, admin):
    user = factories.user(session)
    token = user.session_token
    users.update_user(session, admin, user.id, Role.COORDINATOR, ["UTR", "AMA"], True)
    assert user.session_token == token  # a region added: no need to sign out
    users.update_user(session, admin, user.id, Role.MANAGER, ["UTR"], True)
    assert user.session_token != token
    token = user.session_token
    users.update_user(session, admin, user.id, Role.MANAGER, ["UTR"], False)
    assert user.session_token != token and not user.active
    assert authenticate(session, user.username, factories.PASSWORD, "192.0.2.1") is None


def test_reset_password_replaces_it_and_signs_out(session, admin):
    user = factories.user(session)
    token = user.session_token
    password = users.reset_password(session, admin, user.id)
    assert user.must_change_password and user.session_token != token
    assert not verify_password(user.password_hash, factories.PASSWORD)
    assert verify_password(user.password_hash, password)


def test_admin_cannot_demote_or_deactivate_self(session, admin):
    with pytest.raises(Forbidden):
        users.update_user(session, admin, admin.user_id, Role.AUDITOR, [], True)
    with pytest.raises(Forbidden):
        users.update_user(session, admin, admin.user_id, Role.ADMIN, [], False)


def test_own_password_change(session):
    user = factories.user(session)
    me = factories.actor(user)
    with pytest.raises(ValidationError, match="current password"):
        users.change_own_password(session, me, user, "wrong one", "a new long passphrase")
    with pytest.raises(ValidationError, match="at least 12"):
        users.change_own_password(session, me, user, factories.PASSWORD, "short")
    with pytest.raises(ValidationError, match="differ"):
        users.change_own_password(session, me, user, factories.PASSWORD, factories.PASSWORD)
    other = factories.actor(factories.user(session))
    with pytest.raises(Forbidden):
        users.change_own_password(session, other, user, factories.PASSWORD, "a new long one!")
    token = user.session_token
    users.change_own_password(session, me, user, factories.PASSWORD, "a new long passphrase")
    assert verify_password(user.password_hash, "a new long passphrase")
    assert user.session_token != token


# --- every sign-out event ends web sessions and API tokens, in the change's transaction ----


def _tokens_of(session, user, count=2):
    return [token_service.issue_token(session, user)[0] for _ in range(count)]


SIGN_OUT_EVENTS = {
    "own password change": lambda s, admin, user: users.change_own_password(
        s, factories.actor(user), user, factories.PASSWORD, "a new long passphrase"
    ),
    "admin password reset": lambda s, admin, user: users.reset_password(s, admin, user.id),
    "second-factor reset": lambda s, admin, user: users.reset_second_factor(s, admin, user.id),
    "role change": lambda s, admin, user: users.update_user(
        s, admin, user.id, Role.MANAGER, ["UTR", "AMA"], True
    ),
    "region taken away": lambda s, admin, user: users.update_user(
        s, admin, user.id, Role.COORDINATOR, ["AMA"], True
    ),
    "deactivation": lambda s, admin, user: users.update_user(
        s, admin, user.id, Role.COORDINATOR, ["UTR", "AMA"], False
    ),
}


@pytest.mark.parametrize("event", list(SIGN_OUT_EVENTS))
def test_each_sign_out_event_ends_sessions_and_revokes_tokens(session, admin, event):
    user = factories.user(session, Role.COORDINATOR, ["UTR", "AMA"])
    other = factories.user(session)
    texts, other_text = _tokens_of(session, user), _tokens_of(session, other, 1)[0]
    old_session = user.get_id()
    assert load_session_user(session, old_session) == user

    SIGN_OUT_EVENTS[event](session, admin, user)

    assert user.session_token != old_session.partition(":")[2]
    assert load_session_user(session, old_session) is None
    assert [token_service.verify_token(session, text) for text in texts] == [None, None]
    assert token_service.verify_token(session, other_text) is not None


def test_reactivation_revokes_tokens_left_from_before(session, admin):
    # An account deactivated before deactivation revoked tokens still has live token rows;
    # reactivating it must not bring them back.
    user = factories.user(session)
    (text,) = _tokens_of(session, user, 1)
    user.active = False
    session.commit()
    users.update_user(session, admin, user.id, Role.COORDINATOR, ["UTR"], True)
    assert token_service.verify_token(session, text) is None


def test_sign_out_and_revocation_commit_with_the_change_or_not_at_all(session, admin, monkeypatch):
    user = factories.user(session)
    (text,) = _tokens_of(session, user, 1)
    token = user.session_token

    def fail(*args, **kwargs):
        raise RuntimeError("the access log is unavailable")

    monkeypatch.setattr(users, "log_access", fail)
    with pytest.raises(RuntimeError):
        users.update_user(session, admin, user.id, Role.MANAGER, ["UTR"], True)
    session.expire_all()
    assert user.role is Role.COORDINATOR and user.session_token == token
    assert token_service.verify_token(session, text) is not None
    monkeypatch.undo()
    users.update_user(session, admin, user.id, Role.MANAGER, ["UTR"], True)
    session.expire_all()
    assert user.role is Role.MANAGER and user.session_token != token
    assert token_service.verify_token(session, text) is None
