"""The API's own machinery: problem+json errors, input checks, CSRF, cookies, OpenAPI, docs."""

from __future__ import annotations

import pytest

from mda.models import ApiToken, LoginAttempt
from mda.vocabulary import Role
from tests.api.conftest import API, count
from tests.conftest import make_test_app, url_of
from tests.support import factories

PROBLEM = "application/problem+json"


def assert_problem(response, status):
    assert response.status_code == status, response.data
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_unknown_api_path_is_a_problem_not_a_page(client):
    body = assert_problem(client.get(f"{API}/no-such-thing"), 404)
    assert "/api/v1/no-such-thing" in body["detail"]
    # The pages keep their HTML error page.
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_id_out_of_range_is_404_not_an_error(client, session):
    from tests.api.conftest import issue

    token = issue(client, factories.user(session)).get_json()["token"]
    response = client.get(
        f"{API}/trajectories/99999999999999999999", headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 404)


def test_wrong_method_is_405_with_allowed_methods(client):
    response = client.delete(f"{API}/tokens")
    body = assert_problem(response, 405)
    assert "POST" in body["allowed"]
    assert "POST" in response.headers["Allow"]


def test_missing_or_bad_token_is_401_with_challenge(client):
    response = client.get(f"{API}/tokens/current")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get(f"{API}/tokens/current", headers={"Authorization": "Bearer mda_nope"})
    assert "unknown, expired or revoked" in assert_problem(response, 401)["detail"]
    response = client.get(f"{API}/tokens/current", headers={"Authorization": "Basic eDp5"})
    assert_problem(response, 401)


def test_malformed_json_is_400_and_writes_nothing(client, session):
    before = count(session, LoginAttempt)
    response = client.post(f"{API}/tokens", data='{"username": ', content_type="application/json")
    assert "not valid JSON" in assert_problem(response, 400)["detail"]
    assert count(session, LoginAttempt) == before


def test_non_json_body_is_415(client):
    response = client.post(f"{API}/tokens", data={"username": "a", "password": "b"})
    assert "application/json" in assert_problem(response, 415)["detail"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"username": "a", "password": "b", "extra": 1}, "extra", "Unknown field"),
        ({"username": 5, "password": "b"}, "username", "Not a valid string"),
        ({"password": "b"}, "username", "Missing data"),
        ({"username": "a", "password": "b", "second_factor": "abc"}, "second_factor", "digits"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, session, body, field, message):
    before = count(session, LoginAttempt)
    problem = assert_problem(client.post(f"{API}/tokens", json=body), 422)
    assert message in " ".join(problem["errors"][field])
    assert field in problem["detail"]
    assert count(session, LoginAttempt) == before


def test_json_that_is_not_an_object_is_422(client):
    assert_problem(client.post(f"{API}/tokens", json=["username", "password"]), 422)


def test_oversized_body_is_413_and_writes_nothing(client, session):
    before = count(session, LoginAttempt)
    padding = "x" * (client.application.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post(f"{API}/tokens", json={"username": "someone", "password": padding})
    assert "limit" in assert_problem(response, 413)["detail"]
    assert count(session, LoginAttempt) == before


def test_api_needs_no_csrf_token(engine, connection, tmp_path):
    from sqlalchemy.orm import Session

    from mda.extensions import db

    app = make_test_app(
        url_of(engine), INSTANCE_PATH=str(tmp_path / "instance"), WTF_CSRF_ENABLED=True
    )
    db.state(app).session_factory.configure(
        bind=connection, join_transaction_mode="create_savepoint"
    )
    with app.app_context():
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            username = factories.user(session, Role.COORDINATOR).username
        client = app.test_client()
        # CSRF protection is on for the pages...
        assert (
            client.post("/auth/login", data={"username": "x", "password": "y"}).status_code == 400
        )
        # ...and the API, authenticated by a header a browser never adds, is exempt.
        response = client.post(
            f"{API}/tokens", json={"username": username, "password": factories.PASSWORD}
        )
        assert response.status_code == 201, response.get_json()


def test_a_page_session_does_not_authenticate_the_api(client, session):
    user = factories.user(session)
    signed_in = client.post(
        "/auth/login", data={"username": user.username, "password": factories.PASSWORD}
    )
    assert signed_in.status_code == 302
    assert "session" in {cookie.key for cookie in client._cookies.values()}
    assert_problem(client.get(f"{API}/tokens/current"), 401)


def test_openapi_document_describes_the_api(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/tokens"]["post"]["security"] == []
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(problem) == [PROBLEM]
    assert "TokenRequest" in spec["components"]["schemas"]
    # The catch-all for unknown paths is not an operation.
    assert not [path for path in spec["paths"] if "{path}" in path]


def test_docs_page_is_served_from_the_package(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "POST /api/v1/tokens" in page
    assert "second_factor" in page
    # No CDN: every script or stylesheet comes from this server.
    assert "http://" not in page.replace("http://localhost", "")
    assert "https://" not in page


def test_token_hash_only_is_stored(client, session):
    from tests.api.conftest import issue

    user = factories.user(session)
    token = issue(client, user).get_json()["token"]
    rows = session.query(ApiToken).filter_by(user_id=user.id).all()
    assert len(rows) == 1
    assert token not in rows[0].token_hash
    import hashlib

    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
