"""The admin's working-day calendar page: the decree days listed, added and removed, logged,
and the process's cached calendar following the change at once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mda.extensions import db
from mda.models import AccessLogEntry, CalendarDay
from mda.services import calendar_days, workdays
from mda.services.errors import Forbidden, NotFound, ValidationError
from mda.vocabulary import Role
from tests.support import factories
from tests.web.conftest import sign_in


def _admin_client(app, session):
    admin = factories.user(session, Role.ADMIN)
    client = app.test_client()
    sign_in(client, admin.username)
    return client, admin


def test_admin_lists_adds_and_removes_decree_days(app, session):
    client, admin = _admin_client(app, session)
    page = client.get("/admin/calendar").get_data(as_text=True)
    for day in ("2026-01-02", "2026-05-15", "2027-05-07", "2028-04-28", "2028-05-26"):
        assert day in page
    workdays.refresh(db.session)
    assert workdays.is_working_day(date(2029, 5, 11))

    response = client.post(
        "/admin/calendar", data={"day": "2029-05-11", "name": "Dag na Hemelvaartsdag 2029"}
    )
    assert response.status_code == 302
    assert db.session.get(CalendarDay, date(2029, 5, 11)).name == "Dag na Hemelvaartsdag 2029"
    # The change dropped the cached calendar: the next deadline counts with the new day.
    workdays.refresh(db.session)
    assert not workdays.is_working_day(date(2029, 5, 11))
    assert "2029-05-11" in client.get("/admin/calendar").get_data(as_text=True)

    response = client.post("/admin/calendar/2029-05-11/remove")
    assert response.status_code == 302
    assert db.session.get(CalendarDay, date(2029, 5, 11)) is None
    workdays.refresh(db.session)
    assert workdays.is_working_day(date(2029, 5, 11))
    entries = db.session.scalars(
        select(AccessLogEntry)
        .where(AccessLogEntry.user_id == admin.id, AccessLogEntry.object_type == "calendar_day")
        .order_by(AccessLogEntry.id)
    ).all()
    assert [(e.action.value, e.object_id) for e in entries] == [
        ("create", "2029-05-11"),
        ("change", "2029-05-11"),
    ]
    assert client.post("/admin/calendar/2029-05-11/remove").status_code == 404
    assert client.post("/admin/calendar/not-a-day/remove").status_code == 404


@pytest.mark.parametrize(
    ("day", "name", "message"),
    [
        # The service's refusal, in the page's language (Dutch by default).
        ("2029-05-12", "A Saturday", "een weekdag"),
        ("2029-05-10", "Ascension again", "nog geen feestdag van de Algemene termijnenwet"),
        ("2026-05-15", "Twice", "een dag die nog niet in de kalender staat"),
        ("1999-05-14", "Too early", "een datum van 2000 tot en met"),
        ("2029-05-11", "Call 06-12345678", "naam lijkt een telefoonnummer te bevatten"),
    ],
)
def test_a_day_that_cannot_be_added_is_explained(app, session, day, name, message):
    client, _ = _admin_client(app, session)
    response = client.post("/admin/calendar", data={"day": day, "name": name})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    if day == "2029-05-11":
        assert db.session.get(CalendarDay, date(2029, 5, 11)) is None


def test_only_an_admin_changes_the_calendar(session):
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    actor = factories.actor(coordinator)
    with pytest.raises(Forbidden):
        calendar_days.add_calendar_day(session, actor, date(2029, 5, 11), "Bridge day")
    with pytest.raises(Forbidden):
        calendar_days.remove_calendar_day(session, actor, date(2026, 5, 15))
    admin = factories.actor(factories.user(session, Role.ADMIN))
    with pytest.raises(NotFound):
        calendar_days.remove_calendar_day(session, admin, date(2029, 5, 11))
    with pytest.raises(ValidationError):
        calendar_days.add_calendar_day(session, admin, None, "No date")


def test_reference_data_loads_the_decree_days_once(session):
    from mda.dbtools import load_reference_data
    from mda.reference import DECREE_DAYS

    rows = {row.day: row.name for row in session.scalars(select(CalendarDay))}
    assert rows == DECREE_DAYS
    load_reference_data(session)
    assert {row.day for row in session.scalars(select(CalendarDay))} == set(DECREE_DAYS)
