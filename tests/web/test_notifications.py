"""Notifications on the pages and the API, and the e-mail a sweep sends (eager Celery).

The bell's unread count on every page, the list with mark read and mark all read, the
settings page, reminder health (a stale sweep warns), the API's own-notifications contract,
and an e-mail written as an ``.eml`` file in the embedded default: no pseudonym anywhere a
manager (or an inbox) sees.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mda.models import Deadline, Delivery, Notification, NotificationSettings, SweepRun
from mda.services.settings import use_settings
from mda.services.sweep import SweepOptions, sweep
from mda.vocabulary import Channel, NotificationStatus, Role
from tests.conftest import TEST_SETTINGS
from tests.support import factories
from tests.web.conftest import sign_in
from worker import tasks

NO_DIGEST = SweepOptions(digest_hour=24)


def _escalated(session):
    """A trajectory three working days overdue, swept: its coordinator and a manager told."""
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    trajectory = factories.trajectory(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    from mda.services import deadlines as deadline_service

    rule = deadline_service.rule_for(session, deadline.kind)
    moment = deadline_service.rung_at(rule, deadline.due_at, 2)
    use_settings(session, TEST_SETTINGS.at(moment))
    sweep(session, NO_DIGEST)
    use_settings(session, TEST_SETTINGS)
    session.commit()  # no savepoint of this session left open under the app's (see below)
    return coordinator, manager, trajectory, deadline


def test_bell_list_mark_read_and_mark_all_read(app, session):
    coordinator, manager, trajectory, _ = _escalated(session)
    first = session.scalars(
        select(Notification.id).where(Notification.recipient_id == coordinator.id)
    ).one()
    # The app's session and this one share the test's connection: a savepoint this one left
    # open would be released under it by the app's.
    session.commit()
    client = app.test_client()
    sign_in(client, coordinator.username)
    page = client.get("/account/").get_data(as_text=True)
    assert 'class="bell"' in page and 'class="count"' in page
    listing = client.get("/notifications/").get_data(as_text=True)
    assert "te laat: " in listing  # Dutch, the default
    assert f"/trajectories/{trajectory.id}" in listing  # the coordinator may open it
    assert client.post(f"/notifications/{first}/read").status_code == 302
    assert 'class="count"' not in client.get("/account/").get_data(as_text=True)
    assert "Mark read" not in client.get("/notifications/?lang=en").get_data(as_text=True)

    client2 = app.test_client()
    sign_in(client2, manager.username)
    listing = client2.get("/notifications/").get_data(as_text=True)
    assert coordinator.username in listing
    assert trajectory.pseudonym not in listing
    assert f"/trajectories/{trajectory.id}" not in listing
    assert 'class="count"' in listing
    # Not the manager's: not found, and nothing changes.
    assert client2.post(f"/notifications/{first}/read").status_code == 404
    assert client2.post("/notifications/read-all").status_code == 302
    assert 'class="count"' not in client2.get("/notifications/").get_data(as_text=True)


def test_settings_page_saves_and_refuses_a_bad_address(app, session):
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    client = app.test_client()
    sign_in(client, coordinator.username)
    bad = client.post("/notifications/settings", data={"email": "not-an-address"})
    assert bad.status_code == 422
    saved = client.post(
        "/notifications/settings",
        data={"email": "c@example.org", "language": "en", "email_enabled": "on"},
    )
    assert saved.status_code == 302
    row = session.get(NotificationSettings, coordinator.id)
    assert (row.email, row.language, row.email_enabled, row.digest_enabled) == (
        "c@example.org",
        "en",
        True,
        False,
    )


def test_reminder_health_warns_when_the_sweep_stalls(app, session):
    admin = factories.user(session, Role.ADMIN)
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    # The last sweep ran four intervals ago: a warning.
    now = TEST_SETTINGS.now()
    session.add(SweepRun(started_at=now - timedelta(seconds=240), duration_ms=7))
    session.commit()
    client = app.test_client()
    sign_in(client, admin.username)
    page = client.get("/notifications/health?lang=en").get_data(as_text=True)
    assert 'role="alert"' in page and "7 ms" in page
    coordinator_client = app.test_client()
    sign_in(coordinator_client, coordinator.username)
    assert coordinator_client.get("/notifications/health").status_code == 403


def test_reminder_health_without_warning_after_a_recent_sweep(app, session):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    session.add(SweepRun(started_at=TEST_SETTINGS.now(), duration_ms=12))
    session.commit()
    client = app.test_client()
    sign_in(client, manager.username)
    page = client.get("/notifications/health").get_data(as_text=True)
    assert 'role="alert"' not in page and "12 ms" in page and "UTR" in page


def test_health_service_counts_per_region(session):
    from mda.services.notifications import reminder_health

    _coordinator, manager, _trajectory, _ = _escalated(session)
    mine = reminder_health(session, factories.actor(manager), timedelta(seconds=60))
    # Three in-app deliveries (coordinator's overdue, manager's escalation... and no e-mail),
    # all sent the moment they fell due.
    assert (mine.pending, mine.sent, mine.late, mine.failed) == (0, 2, 0, 0)
    other = factories.user(session, Role.MANAGER, ["AMA"])
    theirs = reminder_health(session, factories.actor(other), timedelta(seconds=60))
    assert (theirs.pending, theirs.sent) == (0, 0)


def test_api_lists_own_notifications_without_pseudonyms(app, session, api_as=None):
    from tests.api.conftest import ApiCaller  # noqa: F401  (the token flow, by hand below)

    coordinator, manager, trajectory, deadline = _escalated(session)
    client = app.test_client()

    def token(user):
        response = client.post(
            "/api/v1/tokens",
            json={"username": user.username, "password": factories.PASSWORD},
        )
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    as_manager = token(manager)
    body = client.get("/api/v1/notifications", headers=as_manager).get_json()
    assert body["total"] == 1 and body["unread"] == 1
    item = body["items"][0]
    assert item["kind"] == "escalation"
    assert item["deadline"] == {
        "id": deadline.id,
        "kind": "screening_due",
        "due_at": deadline.due_at.isoformat(),
    }
    assert "trajectory_id" not in item
    assert trajectory.pseudonym not in repr(body)
    assert item["details"]["coordinator"] == coordinator.username

    as_coordinator = token(coordinator)
    mine = client.get("/api/v1/notifications?unread=true", headers=as_coordinator).get_json()
    assert [i["kind"] for i in mine["items"]] == ["overdue"]
    assert mine["items"][0]["trajectory_id"] == trajectory.id
    read = client.post(
        f"/api/v1/notifications/{mine['items'][0]['id']}/read", headers=as_coordinator
    )
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    assert (
        client.get("/api/v1/notifications?unread=true", headers=as_coordinator).get_json()["total"]
        == 0
    )
    # Another's notification is not found.
    other = client.post(f"/api/v1/notifications/{item['id']}/read", headers=as_coordinator)
    assert other.status_code == 404


def test_a_sweep_sends_one_email_file_per_person_in_their_language(app, session):
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    session.add(NotificationSettings(user_id=coordinator.id, email="c@example.org"))
    session.add(NotificationSettings(user_id=manager.id, email="m@example.org", language="en"))
    trajectory = factories.trajectory(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    from mda.services import deadlines as deadline_service

    rule = deadline_service.rule_for(session, deadline.kind)
    use_settings(session, TEST_SETTINGS.at(deadline_service.rung_at(rule, deadline.due_at, 2)))
    # Eager Celery: the deliveries run right after the sweep's commit.
    result = sweep(session, NO_DIGEST, dispatch=tasks.dispatch_delivery)
    assert result.dispatched == 2
    mail = Path(app.instance_path) / "mail"
    files = sorted(mail.glob("*.eml"))
    assert len(files) == 2
    texts = [f.read_text() for f in files]
    assert all(trajectory.pseudonym not in t for t in texts)
    assert all(f"/trajectories/{trajectory.id}" not in t for t in texts)
    dutch = next(t for t in texts if "c@example.org" in t)
    english = next(t for t in texts if "m@example.org" in t)
    subjects = {
        m["To"]: str(m["Subject"]).strip()
        for m in (email.message_from_string(t, policy=email.policy.default) for t in texts)
    }
    assert subjects["m@example.org"].startswith("Escalation: ")
    assert coordinator.username in english
    assert not subjects["c@example.org"].startswith(("Overdue", "Escalation"))  # Dutch
    assert "/notifications/" in dutch
    statuses = set(
        session.scalars(select(Delivery.status).where(Delivery.channel == Channel.EMAIL))
    )
    assert statuses == {NotificationStatus.SENT}
    # Run twice: nothing more is sent.
    for delivery_id in result.delivery_ids:
        assert tasks.deliver.delay(delivery_id).get() == "skipped"
    assert len(list(mail.glob("*.eml"))) == 2


def test_the_sweep_task_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    entry = next(e for e in schedule.values() if e["task"] == "mda.sweep")
    assert entry["schedule"] == float(app.config["SWEEP_INTERVAL_SECONDS"])
