"""API fixtures: a bearer-token client per role, built through the real token endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mda.models import User
from mda.vocabulary import Role
from tests.support import factories

API = "/api/v1"


@dataclass
class ApiCaller:
    """A test client that sends one user's bearer token with every request."""

    client: Any
    user: User
    token: str

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        url = path if path.startswith("/") else f"{API}/{path}"
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self._call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._call("DELETE", path, **kwargs)

    def change(self, method: str, path: str, **kwargs: Any) -> Any:
        """A change made against the version just read: GET the resource, send its ETag.

        For tests about something else than versions; every change needs If-Match.
        """
        url = path if path.startswith("/") else f"{API}/{path}"
        if "/regions/" in url:
            resource = url.split("/reports/")[0] + "/implementation"
            if "/reports/" in url:
                resource = url
        else:
            resource = "/".join(url.split("/")[:5])  # /api/v1/trajectories/<id>
        read = self.get(resource)
        headers = dict(kwargs.pop("headers", None) or {})
        if read.status_code == 200:
            headers.setdefault("If-Match", read.headers["ETag"])
        return self._call(method, path, headers=headers, **kwargs)


def issue(client: Any, user: User, password: str = factories.PASSWORD, **extra: Any) -> Any:
    return client.post(
        f"{API}/tokens", json={"username": user.username, "password": password, **extra}
    )


@pytest.fixture
def session(app: Any) -> Session:
    """The app's own session (the one requests use, as the app context spans the test).

    Two sessions on one connection would each keep SAVEPOINTs, and a rollback in one (a
    refused change) would release the other's; one session keeps the stack consistent.
    """
    from mda.extensions import db

    return db.session


@pytest.fixture
def api_as(client: Any, session: Session) -> Callable[..., ApiCaller]:
    """``api_as(role, regions)``: a new user of that role, signed in through POST /tokens."""

    def make(role: Role | str = Role.COORDINATOR, regions: Iterable[str] | None = None):
        user = factories.user(session, role, regions)
        response = issue(client, user)
        assert response.status_code == 201, response.get_json()
        return ApiCaller(client, user, response.get_json()["token"])

    return make


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


#: A household's registration (all but the reference), as most API tests send it.
HOUSEHOLD = {
    "region": "UTR",
    "referral_source": "veilig_thuis",
    "violence_types": ["partner_violence"],
    "children": "1",
}


@pytest.fixture
def coordinator(api_as: Callable[..., ApiCaller]) -> ApiCaller:
    """A coordinator of UTR, signed in to the API (modules may define their own)."""
    return api_as(Role.COORDINATOR, ["UTR"])


def register(caller: ApiCaller, reference: str, **changes: Any) -> dict:
    """POST /trajectories with :data:`HOUSEHOLD` and ``reference``; the 201's body."""
    response = caller.post("trajectories", json={**HOUSEHOLD, "reference": reference, **changes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
