"""Functional administration: partner organisations and the deadline-rule settings.

Only an admin changes these; every change is written to the access log (who, when, what).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import DeadlineRule, Organisation, Region
from mda.services.audit import log_access
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.identifiers import check_free_text
from mda.services.messages import Text, fields_listed, msg, term
from mda.services.settings import settings_of
from mda.services.text import require_clean_text
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction, DeadlineKind, DueUnit, Role

MAX_AMOUNT = 1000
MAX_LADDER_DAYS = 60
MAX_REMIND_HOURS = 72


def list_organisations(session: Session, actor: Actor) -> list[Organisation]:
    require_role(actor, Role.ADMIN)
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def get_organisation(session: Session, actor: Actor, organisation_id: int) -> Organisation:
    require_role(actor, Role.ADMIN)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(msg("There is no organisation %(id)s.", id=organisation_id))
    return organisation


def _check_organisation(
    session: Session, name: str, region_code: str | None, exclude_id: int | None
) -> tuple[str, str | None]:
    require_clean_text({"name": name})
    name = " ".join(name.split())
    check_free_text({"name": name})
    if not 2 <= len(name) <= 120:
        raise ValidationError(msg("A name is 2-120 characters."), {"name": "length"})
    clash = session.scalar(select(Organisation.id).where(Organisation.name == name))
    if clash is not None and clash != exclude_id:
        raise ValidationError(
            msg("There is an organisation named %(name)r already.", name=name), {"name": "taken"}
        )
    code = (region_code or "").strip().upper() or None
    if code is not None and session.get(Region, code) is None:
        raise ValidationError(
            msg("Unknown region code %(code)s.", code=code), {"region_code": "unknown"}
        )
    return name, code


def save_organisation(
    session: Session,
    actor: Actor,
    name: str,
    kind: str | None = None,
    region_code: str | None = None,
    active: bool = True,
    organisation_id: int | None = None,
) -> Organisation:
    """Create an organisation, or change one when ``organisation_id`` is given."""
    with unit_of_work(session):
        require_role(actor, Role.ADMIN)
        check_free_text({"kind": kind})
        kind = (kind or "").strip()[:40] or None
        check_free_text({"kind": kind})  # what is kept, too: a cut can make a number
        name, code = _check_organisation(session, name, region_code, organisation_id)
        if organisation_id is None:
            organisation = Organisation()
            session.add(organisation)
            action = AccessAction.CREATE
        else:
            organisation = get_organisation(session, actor, organisation_id)
            action = AccessAction.CHANGE
        organisation.name = name
        organisation.kind = kind
        organisation.region_code = code
        organisation.active = active
        session.flush()
        log_access(
            session,
            actor,
            action,
            "organisation",
            organisation.id,
            details={"name": name, "active": active},
        )
        return organisation


def list_deadline_rules(session: Session, actor: Actor) -> list[DeadlineRule]:
    require_role(actor, Role.ADMIN)
    order = {kind: i for i, kind in enumerate(DeadlineKind)}
    return sorted(session.scalars(select(DeadlineRule)), key=lambda rule: order[rule.kind])


def get_deadline_rule(session: Session, actor: Actor, kind: str) -> DeadlineRule:
    require_role(actor, Role.ADMIN)
    try:
        key = DeadlineKind(kind)
    except ValueError:
        raise NotFound(msg("There is no deadline rule %(kind)r.", kind=kind)) from None
    rule = session.get(DeadlineRule, key)
    if rule is None:
        raise NotFound(msg("There is no deadline rule %(kind)r.", kind=kind))
    return rule


def update_deadline_rule(
    session: Session,
    actor: Actor,
    kind: str,
    amount: int,
    unit: str,
    remind_before_working_days: int,
    escalate_after_working_days: int,
    repeat_every_working_days: int,
    enabled: bool,
    *,
    remind_before_hours: int | None = None,
) -> DeadlineRule:
    """Change how long a deadline runs and how its reminder ladder climbs.

    ``remind_before_hours`` is the reminder of a rule counted in hours (the 24-hour
    ``school_notice_due``); None keeps it as it is.

    Applies to deadlines opened from now on; open deadlines keep the due moment they got.
    """
    with unit_of_work(session):
        rule = get_deadline_rule(session, actor, kind)
        errors: dict[str, Text] = {}
        if not 1 <= amount <= MAX_AMOUNT:
            errors["amount"] = msg("between %(low)d and %(high)d", low=1, high=MAX_AMOUNT)
        try:
            due_unit = DueUnit(unit)
        except ValueError:
            errors["unit"] = msg(
                "one of %(known)s", known=term("due_unit", *(u.value for u in DueUnit))
            )
            due_unit = rule.unit
        for field, value in (
            ("remind_before_working_days", remind_before_working_days),
            ("escalate_after_working_days", escalate_after_working_days),
        ):
            if not 0 <= value <= MAX_LADDER_DAYS:
                errors[field] = msg("between %(low)d and %(high)d", low=0, high=MAX_LADDER_DAYS)
        if remind_before_hours is not None and not 0 <= remind_before_hours <= MAX_REMIND_HOURS:
            errors["remind_before_hours"] = msg(
                "between %(low)d and %(high)d", low=0, high=MAX_REMIND_HOURS
            )
        if not 1 <= repeat_every_working_days <= MAX_LADDER_DAYS:
            errors["repeat_every_working_days"] = msg(
                "between %(low)d and %(high)d", low=1, high=MAX_LADDER_DAYS
            )
        if errors:
            raise ValidationError(
                msg("The rule is not valid: %(listed)s.", listed=fields_listed(errors)),
                dict(errors),
            )
        before = {"amount": rule.amount, "unit": rule.unit.value, "enabled": rule.enabled}
        rule.amount = amount
        rule.unit = due_unit
        rule.remind_before_working_days = remind_before_working_days
        rule.escalate_after_working_days = escalate_after_working_days
        rule.repeat_every_working_days = repeat_every_working_days
        if remind_before_hours is not None:
            rule.remind_before_hours = remind_before_hours
        rule.enabled = enabled
        rule.updated_at = settings_of(session).now()
        log_access(
            session,
            actor,
            AccessAction.CHANGE,
            "deadline_rule",
            rule.kind.value,
            details={
                "before": before,
                "after": {"amount": amount, "unit": due_unit.value, "enabled": enabled},
            },
        )
        return rule


def region_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the 28 regions, by name, for forms; reference data, open to all."""
    return [(r.code, r.name) for r in session.scalars(select(Region).order_by(Region.name))]
