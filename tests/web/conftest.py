"""Helpers for page tests: apps bound to the test's transaction, sign-in, one user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, Engine

from mda.extensions import db as database
from mda.models import User
from mda.vocabulary import Role
from tests.conftest import make_test_app, url_of
from tests.support import factories

ROLES = ("anonymous", *(role.value for role in Role))


def bound_app(engine: Engine, connection: Connection, tmp_path: Any, **overrides: Any) -> Flask:
    """A testing app with ``overrides`` whose sessions join the test's outer transaction."""
    app = make_test_app(url_of(engine), INSTANCE_PATH=str(tmp_path / "instance"), **overrides)
    database.state(app).session_factory.configure(
        bind=connection, join_transaction_mode="create_savepoint"
    )
    return app


@pytest.fixture
def app_with(engine: Engine, connection: Connection, tmp_path: Any) -> Iterator[Any]:
    """Build an app with different settings: ``app_with(WTF_CSRF_ENABLED=True)``."""
    contexts = []

    def build(**overrides: Any) -> Flask:
        app = bound_app(engine, connection, tmp_path, **overrides)
        ctx = app.app_context()
        ctx.push()
        contexts.append(ctx)
        return app

    yield build
    for ctx in reversed(contexts):
        ctx.pop()


def sign_in(client: Any, username: str, password: str = factories.PASSWORD) -> Any:
    return client.post("/auth/login", data={"username": username, "password": password})


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def users(session: Any) -> dict[str, User]:
    """One user of each role (coordinator and manager in region UTR)."""
    return {role.value: factories.user(session, role) for role in Role}
