"""What the regional pages show, read after a service has checked the actor's access.

Every function starts with a service call that authorises (``get_implementation``,
``get_report``, ``programme_overview``); only then does it read the rows the services keep
for the page (the status history, the reports' dates and authors).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mda.models import HalfYearReport, Region, RegionBuildingBlock, RegionStatusChange, User
from mda.services import regions as region_service
from mda.services.clock import NL
from mda.services.context import Actor
from mda.services.errors import NotFound
from mda.services.settings import settings_of
from mda.vocabulary import REPORT_INDICATORS, BlockStatus, MdaStatus
from mda.web.i18n import condition_texts
from mda.web.regions.labels import (
    BLOCK_NAMES,
    INDICATOR_SHORT,
    INDICATORS,
    block_status_label,
    status_label,
    yes_no,
)
from mda.workflows import region as workflow

# How many half years the period choice of the programme's overview offers.
PERIOD_CHOICES = 8


def when(moment: datetime | None) -> str:
    """A moment as the Dutch wall clock shows it: 05-03-2026 14:30."""
    if moment is None:
        return ""
    return moment.astimezone(NL).strftime("%d-%m-%Y %H:%M")


def last_day(period: str) -> str:
    """The last calendar day of a half year, in words (30 juni 2026)."""
    end = region_service.period_end(period).astimezone(NL) - timedelta(days=1)
    return format_date(end.date(), "long")


def now(session: Session) -> datetime:
    return settings_of(session).now()


def last_closed_period(session: Session) -> str:
    """The most recent half year that has ended."""
    return region_service.previous_period(region_service.current_period(now(session)))


def recent_periods(session: Session, count: int = PERIOD_CHOICES) -> list[str]:
    """The current half year and the ones before it, newest first (not before 2015-H1)."""
    period = region_service.current_period(now(session))
    found = [period]
    while len(found) < count and period > region_service.FIRST_PERIOD:
        period = region_service.previous_period(period)
        found.append(period)
    return found


def is_closed(session: Session, period: str) -> bool:
    return region_service.period_end(period) <= now(session)


def change_text(count: int, previous: int | None, previous_period: str) -> str:
    """ "up from 5 to 6", "unchanged at 6", or that nothing was reported before."""
    if previous is None:
        return _("no reports for %(period)s to compare with", period=previous_period)
    if count > previous:
        return _("up from %(before)d to %(now)d", before=previous, now=count)
    if count < previous:
        return _("down from %(before)d to %(now)d", before=previous, now=count)
    return _("unchanged at %(now)d", now=count)


# --- the region page -------------------------------------------------------------------------


def status_options(status: MdaStatus, blocks: dict[int, BlockStatus]) -> list[dict[str, Any]]:
    """Each status a manager can choose, with what the status machine still needs for it.

    The guard itself is asked (without a reason), so the page says before submitting what a
    submit would answer: the building blocks a higher status needs, or that lowering needs a
    reason.
    """
    options = []
    for option in workflow.ORDER:
        unmet: list[str] = []
        down = workflow.is_step_down(status, option)
        if option is not status:
            facts = workflow.RegionFacts(status=status, blocks=dict(blocks))
            try:
                # A step down is checked as if the reason were given: the page asks for it.
                workflow.change_status(facts, option, reason="-" if down else None)
            except workflow.Refused as refused:
                unmet = condition_texts(list(refused.unmet))
        options.append(
            {
                "value": option.value,
                "label": status_label(option),
                "current": option is status,
                "down": down,
                "up": option is not status and not down,
                "unmet": unmet,
            }
        )
    return options


def history(session: Session, actor: Actor, code: str) -> list[dict[str, Any]]:
    """The region's status and building-block changes, newest first: who, when, from, to, why."""
    changes = region_service.region_history(session, actor, code)
    names = _usernames(session, {change.actor_id for change in changes})
    entries = []
    for change in changes:
        username = names.get(change.actor_id or 0)
        if change.what == "status":
            what = _("MDA++ status")
            old, new = status_label(change.from_value), status_label(change.to_value)
        else:
            number = int(change.what.partition(":")[2] or 0)
            what = _("Building block %(number)d", number=number)
            old = block_status_label(change.from_value)
            new = block_status_label(change.to_value)
        entries.append(
            {
                "when": when(change.at),
                "who": username or _("the system"),
                "what": what,
                "is_status": change.what == "status",
                "from": old,
                "to": new,
                "reason": change.reason or "",
            }
        )
    return entries


def blocks_of(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "number": number,
            "name": str(BLOCK_NAMES[number]),
            "status": view["blocks"].get(number, BlockStatus.NOT_STARTED.value),
            "label": block_status_label(view["blocks"].get(number, BlockStatus.NOT_STARTED)),
        }
        for number in workflow.BLOCKS
    ]


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def reports_of(session: Session, code: str) -> list[dict[str, Any]]:
    """The region's half-year reports, newest period first."""
    reports = list(
        session.scalars(
            select(HalfYearReport)
            .where(HalfYearReport.region_code == code)
            .order_by(HalfYearReport.period.desc())
        )
    )
    names = _usernames(session, {r.updated_by_id for r in reports})
    return [
        {
            "period": report.period,
            "status": status_label(report.mda_status),
            "answers": {name: yes_no(getattr(report, name)) for name in REPORT_INDICATORS},
            "yes": sum(bool(getattr(report, name)) for name in REPORT_INDICATORS),
            "version": report.version,
            "updated": when(report.updated_at),
            "by": names.get(report.updated_by_id or 0, ""),
            "closed": is_closed(session, report.period),
        }
        for report in reports
    ]


def region_page(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """Status, building blocks, the choices with their unmet conditions, history, reports."""
    view = region_service.get_implementation(session, actor, code)
    status = MdaStatus(view["status"])
    blocks = {number: BlockStatus(value) for number, value in view["blocks"].items()}
    reports = reports_of(session, view["code"])
    reported = {r["period"] for r in reports}
    periods = recent_periods(session, 2)
    to_write = [p for p in periods if p not in reported]
    return {
        "code": view["code"],
        "name": view["name"],
        "status": status.value,
        "status_label": status_label(status),
        "status_changed": when(view["status_changed_at"]),
        "version": view["version"],
        "blocks": blocks_of(view),
        "options": status_options(status, blocks),
        "history": history(session, actor, view["code"]),
        "reports": reports,
        "to_write": [{"period": p, "closed": is_closed(session, p)} for p in to_write],
        "indicator_names": {name: str(INDICATOR_SHORT[name]) for name in REPORT_INDICATORS},
    }


# --- the half-year report ----------------------------------------------------------------------


def _report_or_none(session: Session, actor: Actor, code: str, period: str) -> Any:
    try:
        return region_service.get_report(session, actor, code, period)
    except NotFound:
        return None


def report_page(session: Session, actor: Actor, code: str, period: str) -> dict[str, Any]:
    """The report of ``period`` (or None), last period's, and the status from the history."""
    view = region_service.get_implementation(session, actor, code)
    region_service.check_period(period, now(session))
    report = _report_or_none(session, actor, view["code"], period)
    before = region_service.previous_period(period)
    previous = (
        _report_or_none(session, actor, view["code"], before)
        if before >= region_service.FIRST_PERIOD
        else None
    )
    moment = min(region_service.period_end(period), now(session))
    status = region_service.status_at(session, view["code"], moment)
    closed = is_closed(session, period)
    author = ""
    versions: list[dict[str, Any]] = []
    if report is not None:
        author = _usernames(session, {report.updated_by_id}).get(report.updated_by_id or 0, "")
        saved = region_service.report_history(session, actor, view["code"], period)
        savers = _usernames(session, {v.saved_by_id for v in saved})
        versions = [
            {
                "version": v.version,
                "when": when(v.saved_at),
                "who": savers.get(v.saved_by_id or 0, ""),
                "status": status_label(v.mda_status),
                "answers": [yes_no(getattr(v, name)) for name in REPORT_INDICATORS],
            }
            for v in saved
        ]
    questions = [
        {
            "name": name,
            "question": str(INDICATORS[name][0]),
            "explanation": str(INDICATORS[name][1]),
            "previous": yes_no(getattr(previous, name)) if previous is not None else None,
            "saved": yes_no(getattr(report, name)) if report is not None else None,
        }
        for name in REPORT_INDICATORS
    ]
    return {
        "code": view["code"],
        "name": view["name"],
        "period": period,
        "previous_period": before,
        "closed": closed,
        "last_day": last_day(period),
        "status": status.value,
        "status_label": status_label(status),
        "report": report,
        "version": report.version if report is not None else None,
        "updated": when(report.updated_at) if report is not None else "",
        "by": author,
        "versions": versions,
        "indicator_names": [str(INDICATOR_SHORT[name]) for name in REPORT_INDICATORS],
        "previous": previous,
        "questions": questions,
    }


# --- the programme's overview -----------------------------------------------------------------


def programme_page(session: Session, actor: Actor, period: str) -> dict[str, Any]:
    """All regions in one table and "N of 28 regions" per status and indicator for ``period``."""
    overview = region_service.programme_overview(session, actor, period, now=now(session))
    regions = list(session.scalars(select(Region).order_by(Region.name)))
    blocks: dict[str, dict[int, str]] = {}
    for row in session.scalars(select(RegionBuildingBlock)):
        blocks.setdefault(row.region_code, {})[row.block] = row.status.value
    latest: dict[str, HalfYearReport] = {}
    for report in session.scalars(select(HalfYearReport).order_by(HalfYearReport.period)):
        latest[report.region_code] = report
    changed = dict(
        session.execute(
            select(RegionStatusChange.region_code, func.max(RegionStatusChange.at)).group_by(
                RegionStatusChange.region_code
            )
        ).all()
    )
    reported = set(
        session.scalars(select(HalfYearReport.region_code).where(HalfYearReport.period == period))
    )
    rows = []
    for region in regions:
        newest = latest.get(region.code)
        moments = [m for m in (changed.get(region.code), newest and newest.updated_at) if m]
        rows.append(
            {
                "code": region.code,
                "name": region.name,
                "status": status_label(region.mda_status),
                "blocks": [
                    block_status_label(blocks.get(region.code, {}).get(n, "not_started"))
                    for n in workflow.BLOCKS
                ],
                "latest": newest.period if newest is not None else "",
                "latest_version": newest.version if newest is not None else None,
                "updated": when(max(moments)) if moments else "",
                "reported": region.code in reported,
            }
        )
    before = overview["previous_period"]

    def line(key: str, text: str) -> dict[str, Any]:
        entry = overview["statuses"].get(key) or overview["indicators"][key]
        return {
            "key": key,
            "label": text,
            "count": entry["count"],
            "out_of": entry["out_of"],
            "previous": entry["previous"],
            "change": change_text(entry["count"], entry["previous"], before),
        }

    return {
        "period": period,
        "previous_period": before,
        "closed": is_closed(session, period),
        "regions": overview["regions"],
        "reported": overview["reported"],
        "previous_reported": overview["previous_reported"],
        "statuses": [line(s.value, status_label(s)) for s in workflow.ORDER],
        "indicators": [line(name, str(INDICATOR_SHORT[name])) for name in REPORT_INDICATORS],
        "rows": rows,
        "missing": [row for row in rows if not row["reported"]],
        "block_numbers": list(workflow.BLOCKS),
    }
