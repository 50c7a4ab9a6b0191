"""The working-day calendar's data: days made equal to a holiday by decree (admin only).

The statutory holidays of the Algemene termijnenwet are computed (:mod:`mda.services.workdays`);
a decree that makes another day equal to a holiday (a bridge day such as 15 May 2026) is a row
in ``calendar_days``, which an admin extends here. Every change is written to the access log and,
once committed, drops this process's cached calendar; other processes read the table again
within :data:`mda.services.workdays.CACHE_SECONDS`. Deadlines already open keep the due moment
they got; deadlines opened from then on count with the new calendar.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import CalendarDay
from mda.services import workdays
from mda.services.audit import log_access
from mda.services.authz import require_role
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.identifiers import check_free_text
from mda.services.messages import Text, fields_listed, msg
from mda.services.settings import settings_of
from mda.services.uow import after_commit, unit_of_work
from mda.vocabulary import AccessAction, Role

MAX_NAME = 120
#: Decrees are published for the coming years; a day further off is a typing error.
YEARS_AHEAD = 10


def list_calendar_days(session: Session, actor: Actor) -> list[CalendarDay]:
    require_role(actor, Role.ADMIN)
    return list(session.scalars(select(CalendarDay).order_by(CalendarDay.day)))


def add_calendar_day(session: Session, actor: Actor, day: date | None, name: str) -> CalendarDay:
    """Make ``day`` equal to a holiday (by decree), under ``name``."""
    now = settings_of(session).now()
    with unit_of_work(session):
        require_role(actor, Role.ADMIN)
        name = " ".join((name or "").split())
        check_free_text({"name": name})
        errors: dict[str, Text] = {}
        if not isinstance(day, date):
            errors["day"] = msg("a date like 2029-05-11")
        else:
            this_year = today_nl(now).year
            if not 2000 <= day.year <= this_year + YEARS_AHEAD:
                errors["day"] = msg("a date from 2000 to %(last)d", last=this_year + YEARS_AHEAD)
            elif day.weekday() >= 5:
                errors["day"] = msg("a weekday: a Saturday or Sunday is no working day already")
            elif workdays.statutory_holidays(day.year).get(day):
                errors["day"] = msg("not a holiday of the Algemene termijnenwet already")
            elif session.get(CalendarDay, day) is not None:
                errors["day"] = msg("not in the calendar already")
        if not 2 <= len(name) <= MAX_NAME:
            errors["name"] = msg("%(low)d-%(high)d characters", low=2, high=MAX_NAME)
        if errors:
            raise ValidationError(
                msg("The day cannot be added: give %(listed)s.", listed=fields_listed(errors)),
                dict(errors),
            )
        assert isinstance(day, date)
        row = CalendarDay(day=day, name=name, created_at=now)
        session.add(row)
        session.flush()
        log_access(
            session,
            actor,
            AccessAction.CREATE,
            "calendar_day",
            day.isoformat(),
            details={"day": day.isoformat(), "name": name},
        )
        after_commit(session, workdays.invalidate)
        return row


def remove_calendar_day(session: Session, actor: Actor, day: date) -> None:
    """Take ``day`` out of the calendar: it is a working day again (if a weekday)."""
    with unit_of_work(session):
        require_role(actor, Role.ADMIN)
        row = session.get(CalendarDay, day)
        if row is None:
            raise NotFound(msg("%(day)s is not in the calendar.", day=day.isoformat()))
        name = row.name
        session.delete(row)
        session.flush()
        log_access(
            session,
            actor,
            AccessAction.CHANGE,
            "calendar_day",
            day.isoformat(),
            details={"removed": {"day": day.isoformat(), "name": name}},
        )
        after_commit(session, workdays.invalidate)
