from mda.models import AccessLogEntry  # noqa: F401 - the model set must import cleanly
from tests.support import factories


def test_login_page_answers(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b'name="password"' in response.data


def test_start_page_needs_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_sign_in_and_out(client, session):
    user = factories.user(session)
    response = client.post(
        "/auth/login", data={"username": user.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/trajectories/").status_code == 200
    client.post("/auth/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client, session):
    user = factories.user(session)
    response = client.post(
        "/auth/login", data={"username": user.username, "password": "not the password"}
    )
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_next_url_must_stay_on_site(client, session):
    user = factories.user(session)
    response = client.post(
        "/auth/login?next=https://evil.example/",
        data={"username": user.username, "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/"
    client.post("/auth/logout")
    response = client.post(
        "/auth/login?next=/auth/login",
        data={"username": user.username, "password": factories.PASSWORD},
    )
    assert response.headers["Location"] == "/auth/login"
