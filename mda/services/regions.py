"""Use cases on regions: the MDA++ implementation status, half-yearly reports, the overview.

Managers maintain their own region's status and reports (admins may too); the programme
team reads the national overview "N of 28 regions". None of this touches a trajectory.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mda.models import HalfYearReport, HalfYearReportVersion, Region, RegionStatusChange
from mda.services.authz import require_region, require_role
from mda.services.clock import NL, half_year_nl
from mda.services.context import Actor
from mda.services.errors import (
    Conflict,
    NotFound,
    TransitionRefused,
    ValidationError,
    parse_enum,
)
from mda.services.identifiers import check_free_text
from mda.services.messages import msg, term
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work
from mda.services.versions import require_version
from mda.vocabulary import REPORT_INDICATORS, BlockStatus, MdaStatus, Role
from mda.workflows import region as workflow

# A half year: four ASCII digits, "-H", 1 or 2; nothing before or after (not even a newline).
PERIOD_RE = re.compile(r"([0-9]{4})-H([12])", re.ASCII)
# The GHNT programme (Geweld hoort nergens thuis) started in 2015: no report lies before it.
FIRST_PERIOD = "2015-H1"


def parse_period(period: str) -> tuple[int, int]:
    """``(year, half)`` of a period like ``2020-H2``; its form only, not its range."""
    match = PERIOD_RE.fullmatch(period) if isinstance(period, str) else None
    if not match:
        raise ValidationError(
            msg("A period looks like 2020-H2, not %(period)r.", period=period),
            {"period": "like 2020-H2"},
        )
    return int(match.group(1)), int(match.group(2))


def format_period(year: int, half: int) -> str:
    return f"{year:04d}-H{half}"


def current_period(now: datetime | None = None) -> str:
    """The half year that today (the Dutch date at ``now``) lies in."""
    return format_period(*half_year_nl(now))


def check_period(period: str, now: datetime | None = None) -> tuple[int, int]:
    """A well-formed period from :data:`FIRST_PERIOD` up to the current half year.

    A half year that has not started yet cannot be reported on, nor one before the
    programme began; the refusal names the field and the allowed range.
    """
    year, half = parse_period(period)
    first, last = parse_period(FIRST_PERIOD), half_year_nl(now)
    if not first <= (year, half) <= last:
        allowed = msg(
            "a half year from %(first)s to %(last)s", first=FIRST_PERIOD, last=format_period(*last)
        )
        raise ValidationError(
            msg(
                "period %(period)s lies outside the programme: give %(allowed)s (from the GHNT "
                "programme's start up to the current half year).",
                period=period,
                allowed=allowed,
            ),
            {"period": allowed},
        )
    return year, half


def previous_period(period: str) -> str:
    """The half year before ``period`` (well-formed; there is none before 0000-H1)."""
    year, half = parse_period(period)
    if half == 2:
        return format_period(year, 1)
    if year == 0:
        raise ValidationError(
            msg("There is no half year before 0000-H1."), {"period": "no earlier"}
        )
    return format_period(year - 1, 2)


def _region(session: Session, code: str) -> Region:
    region = session.get(
        Region,
        (code or "").strip().upper(),
        options=[selectinload(Region.building_blocks)],
        populate_existing=True,
    )
    if region is None:
        raise NotFound(msg("There is no region %(code)r.", code=code))
    return region


def _may_maintain(actor: Actor, region: Region) -> None:
    require_role(actor, Role.MANAGER, Role.ADMIN)
    if actor.role is Role.MANAGER:
        require_region(actor, region.code)


def _may_read(actor: Actor, region: Region) -> None:
    require_role(actor, Role.MANAGER, Role.ADMIN, Role.PROGRAMME)
    if actor.role is Role.MANAGER:
        require_region(actor, region.code)


def _view(region: Region) -> dict[str, Any]:
    return {
        "code": region.code,
        "name": region.name,
        "status": region.mda_status.value,
        "status_label": workflow.STATUS_LABELS[region.mda_status],
        "status_changed_at": region.status_changed_at,
        "blocks": {b.block: b.status.value for b in region.building_blocks},
        "version": region.version,
    }


def list_regions(session: Session, actor: Actor) -> list[Region]:
    """All 28 regions, by code; for everyone signed in (reference data, nothing personal)."""
    return list(session.scalars(select(Region).order_by(Region.code)))


def get_implementation(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """The region's MDA++ status, its building blocks 1-5 and the version (for If-Match)."""
    region = _region(session, code)
    _may_read(actor, region)
    return _view(region)


def update_implementation(
    session: Session,
    actor: Actor,
    code: str,
    *,
    status: str | None = None,
    blocks: dict[int, str] | None = None,
    reason: str | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Change building blocks and/or the status in one go; the result must hold together.

    Moving the status up needs the blocks behind it; moving down needs a reason. Every change
    is kept in ``region_status_changes``.
    """
    with unit_of_work(session):
        region = _region(session, code)
        _may_maintain(actor, region)
        require_version(msg("Region %(code)s", code=region.code), region.version, expected_version)
        reason = (reason or "").strip() or None
        check_free_text({"reason": reason})
        new_blocks: dict[int, BlockStatus] = {}
        for block, value in (blocks or {}).items():
            try:
                number = int(block)
            except (TypeError, ValueError):
                number = -1
            if number not in workflow.BLOCKS:
                raise ValidationError(
                    msg("Building block %(block)r does not exist; blocks are 1 to 5.", block=block),
                    {"blocks": "1 to 5"},
                )
            new_blocks[number] = parse_enum(BlockStatus, value, f"block {number}")
        target = parse_enum(MdaStatus, status, "status") if status else region.mda_status
        facts = workflow.RegionFacts(
            status=region.mda_status,
            blocks={b.block: b.status for b in region.building_blocks} | new_blocks,
        )
        try:
            source, dest = workflow.change_status(facts, target, reason=reason)
        except workflow.Refused as refused:
            action = msg(
                "Changing the MDA++ status to %(status)s", status=term("mda_status", target)
            )
            raise TransitionRefused(refused.trigger, refused.unmet, action) from None
        now = settings_of(session).now()
        changes = []
        for row in region.building_blocks:
            if row.block in new_blocks and new_blocks[row.block] is not row.status:
                changes.append(
                    (f"block:{row.block}", row.status.value, new_blocks[row.block].value)
                )
                row.status = new_blocks[row.block]
                row.updated_at = now
        if dest is not source:
            changes.append(("status", source.value, dest.value))
            region.mda_status = dest
            region.status_changed_at = now
        if not changes:
            return _view(region)
        for what, old, new in changes:
            session.add(
                RegionStatusChange(
                    region_code=region.code,
                    at=now,
                    actor_id=actor.user_id,
                    what=what,
                    from_value=old,
                    to_value=new,
                    reason=reason,
                )
            )
        region.version += 1
        session.flush()
        return _view(region)


def period_end(period: str) -> datetime:
    """The moment (UTC) a half year ends: the next half year's first midnight in Amsterdam."""
    year, half = parse_period(period)
    first_day_after = date(year, 7, 1) if half == 1 else date(year + 1, 1, 1)
    return datetime.combine(first_day_after, time(0), tzinfo=NL).astimezone(UTC)


def status_at(session: Session, region_code: str, moment: datetime) -> MdaStatus:
    """The region's MDA++ status at ``moment``, from its status history.

    The last ``status`` change before ``moment`` (``region_status_changes``); ``none`` when
    the status had not changed yet. Only :func:`update_implementation` writes that history,
    so a status read here went through the status machine.
    """
    value = session.scalar(
        select(RegionStatusChange.to_value)
        .where(
            RegionStatusChange.region_code == region_code,
            RegionStatusChange.what == "status",
            RegionStatusChange.at < moment,
        )
        .order_by(RegionStatusChange.at.desc(), RegionStatusChange.id.desc())
        .limit(1)
    )
    return MdaStatus(value) if value is not None else MdaStatus.NONE


def statuses_at(session: Session, moment: datetime) -> dict[str, MdaStatus]:
    """Every region's MDA++ status at ``moment`` from the status history, in one query
    (regions without a change before ``moment`` are ``none``)."""
    rows = session.execute(
        select(RegionStatusChange.region_code, RegionStatusChange.to_value)
        .where(RegionStatusChange.what == "status", RegionStatusChange.at < moment)
        .order_by(RegionStatusChange.at, RegionStatusChange.id)
    )
    statuses = {code: MdaStatus.NONE for code in session.scalars(select(Region.code))}
    for code, value in rows:
        statuses[code] = MdaStatus(value)  # later changes overwrite earlier ones
    return statuses


def region_history(session: Session, actor: Actor, code: str) -> list[RegionStatusChange]:
    """The region's status and building-block changes, newest first (who, when, from, to,
    reason): for its managers, admins and the programme team."""
    region = _region(session, code)
    _may_read(actor, region)
    return list(
        session.scalars(
            select(RegionStatusChange)
            .where(RegionStatusChange.region_code == region.code)
            .order_by(RegionStatusChange.at.desc(), RegionStatusChange.id.desc())
        )
    )


def report_history(
    session: Session, actor: Actor, code: str, period: str
) -> list[HalfYearReportVersion]:
    """Every saved version of the region's report for ``period``, oldest first: the report as
    first submitted and each correction after it."""
    region = _region(session, code)
    _may_read(actor, region)
    parse_period(period)
    return list(
        session.scalars(
            select(HalfYearReportVersion)
            .where(
                HalfYearReportVersion.region_code == region.code,
                HalfYearReportVersion.period == period,
            )
            .order_by(HalfYearReportVersion.version)
        )
    )


def get_report(session: Session, actor: Actor, code: str, period: str) -> HalfYearReport:
    """The region's report for ``period`` (its version is the ETag); 404 when not written."""
    region = _region(session, code)
    _may_read(actor, region)
    parse_period(period)
    report = session.scalar(
        select(HalfYearReport)
        .where(HalfYearReport.region_code == region.code, HalfYearReport.period == period)
        .execution_options(populate_existing=True)
    )
    if report is None:
        raise NotFound(
            msg(
                "Region %(code)s has no report for %(period)s yet.",
                code=region.code,
                period=period,
            )
        )
    return report


def upsert_report(
    session: Session,
    actor: Actor,
    code: str,
    period: str,
    *,
    mda_status: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    **indicators: bool,
) -> HalfYearReport:
    """Write the region's half-yearly report for ``period`` (like ``2020-H2``).

    Without ``expected_version`` the report is created (version 1); when it exists already
    that is a :class:`Conflict` (also when another request created it at the same moment).
    With ``expected_version`` the existing report at that version is changed (version + 1);
    indicators not given keep their value.

    ``mda_status`` is not the writer's to choose: it is the region's status at the end of the
    period, from its status history (:func:`status_at`), so a report cannot claim a status
    the status machine never granted. A ``mda_status`` that is given must agree with it.
    The period lies from :data:`FIRST_PERIOD` up to the current half year (at ``now``).
    """
    with unit_of_work(session):
        region = _region(session, code)
        _may_maintain(actor, region)
        now = now or settings_of(session).now()
        check_period(period, now)
        unknown = sorted(set(indicators) - set(REPORT_INDICATORS))
        if unknown:
            raise ValidationError(
                msg(
                    "Unknown indicator(s) %(unknown)s; use %(known)s.",
                    unknown=", ".join(unknown),
                    known=", ".join(REPORT_INDICATORS),
                ),
                {"indicators": unknown},
            )
        for name, value in indicators.items():
            if not isinstance(value, bool):
                raise ValidationError(
                    msg("%(name)s must be true or false.", name=name), {name: "yes or no"}
                )
        status = status_at(session, region.code, min(period_end(period), now))
        claimed = parse_enum(MdaStatus, mda_status, "mda_status") if mda_status else None
        if claimed is not None and claimed is not status:
            raise ValidationError(
                msg(
                    "mda_status %(claimed)s is not region %(code)s's status at the end of "
                    "%(period)s: its status history says %(status)s. The report takes the "
                    "status from the history; leave mda_status out (change the status itself "
                    "through the implementation first).",
                    claimed=term("mda_status", claimed),
                    code=region.code,
                    period=period,
                    status=term("mda_status", status),
                ),
                {
                    "mda_status": msg(
                        "%(status)s (from the status history)", status=term("mda_status", status)
                    )
                },
            )
        report = session.scalar(
            select(HalfYearReport)
            .where(HalfYearReport.region_code == region.code, HalfYearReport.period == period)
            .execution_options(populate_existing=True)
        )
        if expected_version is None:
            if report is not None:
                raise Conflict(
                    msg(
                        "Region %(code)s has a report for %(period)s already (version "
                        "%(version)d): read it and send its version in If-Match to change it.",
                        code=region.code,
                        period=period,
                        version=report.version,
                    ),
                    {"version": report.version},
                )
            report = HalfYearReport(
                region_code=region.code,
                period=period,
                version=1,
                **dict.fromkeys(REPORT_INDICATORS, False),
            )
            session.add(report)
        elif report is None:
            raise Conflict(
                msg(
                    "Region %(code)s has no report for %(period)s yet, so there is no version "
                    "%(version)s to change: leave If-Match out to create it.",
                    code=region.code,
                    period=period,
                    version=expected_version,
                ),
                {"expected_version": expected_version},
            )
        else:
            require_version(
                msg("The report of %(code)s for %(period)s", code=region.code, period=period),
                report.version,
                expected_version,
            )
            report.version += 1
        report.mda_status = status
        for name, value in indicators.items():
            setattr(report, name, value)
        report.updated_at = now
        report.updated_by_id = actor.user_id
        region_code = region.code  # the session cannot load anything after a failed flush
        try:
            session.flush()
            # Every saved version is kept as it was saved: a correction erases nothing.
            session.add(
                HalfYearReportVersion(
                    report_id=report.id,
                    region_code=region_code,
                    period=period,
                    version=report.version,
                    mda_status=status,
                    saved_at=now,
                    saved_by_id=actor.user_id,
                    **{name: bool(getattr(report, name)) for name in REPORT_INDICATORS},
                )
            )
            session.flush()
        except IntegrityError as exc:
            # Another request created this (region, period) between our read and our insert
            # (the unique constraint): the same answer as when we had seen it.
            raise Conflict(
                msg(
                    "Region %(code)s's report for %(period)s was just created by someone "
                    "else: read it and send its version in If-Match to change it.",
                    code=region_code,
                    period=period,
                ),
                {"region": region_code, "period": period},
            ) from exc
        return report


def _counts(reports: list[HalfYearReport], statuses: dict[str, MdaStatus]) -> dict[str, int]:
    """Per status and indicator, how many of the reporting regions.

    A region's status is taken from its status history at the end of the period
    (``statuses``), not from the report: a draft saved before a later status change in the
    same half year would otherwise count the old status.
    """
    counts = {status.value: 0 for status in MdaStatus}
    counts.update(dict.fromkeys(REPORT_INDICATORS, 0))
    for report in reports:
        counts[statuses.get(report.region_code, MdaStatus.NONE).value] += 1
        for name in REPORT_INDICATORS:
            counts[name] += bool(getattr(report, name))
    return counts


def programme_overview(
    session: Session, actor: Actor, period: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Per status and indicator: "N of 28 regions" and the previous period's N.

    The period lies from :data:`FIRST_PERIOD` up to the current half year (at ``now``).
    """
    require_role(actor, Role.PROGRAMME, Role.ADMIN)
    check_period(period, now)
    before = previous_period(period)
    total = len(list(session.scalars(select(Region.code))))

    def reports(of: str) -> list[HalfYearReport]:
        return list(session.scalars(select(HalfYearReport).where(HalfYearReport.period == of)))

    this, then = reports(period), reports(before)
    moment = settings_of(session).now() if now is None else now
    current = _counts(this, statuses_at(session, min(period_end(period), moment)))
    previous = _counts(then, statuses_at(session, min(period_end(before), moment)))

    def line(key: str) -> dict[str, Any]:
        count, prior = current[key], (previous[key] if then else None)
        return {"count": count, "out_of": total, "previous": prior}

    return {
        "period": period,
        "previous_period": before,
        "regions": total,
        "reported": len(this),
        "previous_reported": len(then),
        "statuses": {status.value: line(status.value) for status in MdaStatus},
        "indicators": {name: line(name) for name in REPORT_INDICATORS},
    }
