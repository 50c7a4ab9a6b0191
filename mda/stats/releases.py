"""Statistics releases: make one (beat, CLI), list them and read them (the programme team).

A release is computed from the current data for one closed period, disclosure-controlled
against everything already published that relates to it (its earlier versions, the periods
before and after it, its half year or months), audited, and stored once with its checksum,
the settings it was made under, its internal suppression log and its CSV and XLSX files.
The same data and settings give the same release: no new version when nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mda.models import StatsRelease, StatsReleaseFile, StatsSuppression
from mda.services.audit import log_access
from mda.services.authz import require_role
from mda.services.context import Actor
from mda.services.errors import NotFound, ValidationError
from mda.services.messages import msg
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work
from mda.stats import aggregates, exports
from mda.stats.disclosure import (
    TOTAL,
    Coords,
    DisclosureSettings,
    Node,
    Protection,
    protect,
)
from mda.stats.linking import build_links, context_periods
from mda.stats.periods import Period, PeriodError
from mda.stats.tables import (
    COUNT_TABLES,
    LEAD_TIME_TABLE,
    LEAD_TIME_TITLE,
    ON_TIME_TABLE,
    ON_TIME_TITLE,
    PHASES,
    QUARTILES,
    shapes,
)
from mda.vocabulary import AccessAction, PeriodType, Role

SESSION_KEY = "disclosure"
STAGES = ("figures", "context", "suppression", "files", "stored")
Progress = Callable[[str], None]
FORMATS = {"csv": exports.CSV_MEDIA_TYPE, "xlsx": exports.XLSX_MEDIA_TYPE}


def disclosure_settings_of(session: Session) -> DisclosureSettings:
    """The disclosure settings the session was given (``session.info``), or the defaults."""
    found = session.info.get(SESSION_KEY)
    return found if isinstance(found, DisclosureSettings) else DisclosureSettings()


def parse_period(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError:
        raise ValidationError(
            msg("A period looks like 2026-10 (a month) or 2026-H2, not %(period)r.", period=text),
            {"period": "like 2026-10 or 2026-H2"},
        ) from None


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- making a release -------------------------------------------------------------------


def make_release(
    session: Session,
    actor: Actor,
    period: str,
    *,
    settings: DisclosureSettings | None = None,
    progress: Progress | None = None,
) -> tuple[StatsRelease, bool]:
    """The release of ``period`` for the current data: ``(release, made_now)``.

    The programme team or the system (beat, CLI). The period must have ended. A half year
    first releases those of its months that have no release yet. When the latest version
    was made from the same data under the same settings, that version is returned and
    nothing is written. Raises
    :class:`mda.stats.disclosure.DisclosureRefused` when the audit refuses.
    """
    require_role(actor, Role.PROGRAMME)
    settings = settings or disclosure_settings_of(session)
    step = progress or (lambda _stage: None)
    target = parse_period(period)
    now = settings_of(session).now()
    if not target.is_closed(now):
        raise ValidationError(
            msg("Period %(period)s has not ended yet; release it after it closes.", period=period),
            {"period": "not ended"},
        )
    with unit_of_work(session):
        if target.kind is PeriodType.HALF_YEAR:
            # A half year after its months: released first, a month's cells would be pinned
            # down by the half year minus its other months, and could never be protected.
            released = _latest_releases(session, {str(m) for m in target.months()})
            for month in target.months():
                if str(month) not in released:
                    make_release(session, actor, str(month), settings=settings)
        regions = aggregates.region_codes(session)
        related = _related(session, target)
        # The period's figures and those of the released periods around it, in one pass.
        counts = aggregates.compute_many(
            session, [target, *(Period.parse(label) for label in related.released)], regions
        )
        figures = counts[str(target)]
        figures.lead_times = aggregates.lead_times_of(session, target, regions)
        complete = figures.complete()
        data_checksum = sha256(
            canonical(
                {
                    "period": str(target),
                    "regions": regions,
                    "counts": _jsonable(complete),
                    "lead_times": sorted(
                        [list(k), [v[0], *(round(x, 6) for x in v[1:])]]
                        for k, v in figures.lead_times.items()
                    ),
                }
            )
        )
        step("figures")
        versions = list(
            session.scalars(
                select(StatsRelease)
                .where(StatsRelease.period == str(target))
                .order_by(StatsRelease.version)
            )
        )
        latest = versions[-1] if versions else None
        if (
            latest is not None
            and latest.data_checksum == data_checksum
            and latest.settings == settings.as_data()
        ):
            for stage in STAGES[1:]:
                step(stage)
            return latest, False
        current = Node(
            str(target),
            shapes(regions),
            complete,
            [published_counts(v.content) for v in versions],
        )
        context, used = _context(related, regions, counts)
        links = build_links([current.label, *(node.label for node in context)], regions)
        step("context")
        protection = protect(current, context, links, settings)
        step("suppression")
        content = _content(
            target, (latest.version + 1) if latest else 1, figures, protection, settings
        )
        release = StatsRelease(
            period=str(target),
            period_type=target.kind,
            version=content["version"],
            created_at=now,
            created_by_id=actor.user_id,
            threshold=settings.threshold,
            rounding_base=settings.rounding_base,
            protection=settings.protection_level,
            settings=settings.as_data(),
            data_checksum=data_checksum,
            checksum=sha256(canonical(content)),
            content=content,
            audit={
                "context": used,
                "suppressed_cells": len(protection.suppressed),
                "lp_solves": protection.lp_solves,
                "narrowest_range": _narrowest(protection),
            },
        )
        session.add(release)
        session.flush()
        _log_suppressions(session, release, protection, content)
        files = {
            "csv": exports.to_csv(content),
            "xlsx": exports.to_xlsx(content, now),
        }
        step("files")
        for fmt, data in files.items():
            session.add(
                StatsReleaseFile(
                    release_id=release.id,
                    format=fmt,
                    media_type=FORMATS[fmt],
                    content=data,
                    checksum=sha256(data),
                )
            )
        log_access(
            session,
            actor,
            AccessAction.CREATE,
            "stats_release",
            release.id,
            details={"period": release.period, "version": release.version},
        )
        session.flush()
        step("stored")
    return release, True


def _jsonable(tables: dict[str, dict[Coords, int]]) -> dict[str, list[list[Any]]]:
    return {name: sorted([list(c), v] for c, v in cells.items()) for name, cells in tables.items()}


@dataclass(frozen=True)
class _Related:
    """The periods related to a release's (see :func:`context_periods`): the released ones
    with their latest release, and those that take part unreleased (as unknowns)."""

    labels: list[str]
    released: dict[str, StatsRelease]
    in_system: set[str]


def _related(session: Session, target: Period) -> _Related:
    half = target.half_year()
    half_released = target.kind is PeriodType.MONTH and bool(_latest_releases(session, {str(half)}))
    wanted = {str(p) for p in context_periods(target, half_released)}
    wanted.discard(str(target))
    latest = _latest_releases(session, wanted)
    # The months of a half year in the system take part even when not released (as unknowns).
    in_system = {str(m) for m in half.months()} if str(half) in latest or half == target else set()
    return _Related(sorted(wanted), latest, in_system)


def _context(
    related: _Related, regions: list[str], counts: dict[str, aggregates.Figures]
) -> tuple[list[Node], list[dict[str, Any]]]:
    """The related periods as nodes of the audit: released ones with their latest release
    and current figures, unreleased months of a half year in the system as unknowns."""
    nodes: list[Node] = []
    used: list[dict[str, Any]] = []
    table_shapes = shapes(regions)
    for label in related.labels:
        release = related.released.get(label)
        if release is not None:
            nodes.append(
                Node(
                    label,
                    table_shapes,
                    counts[label].complete(),
                    [published_counts(release.content)],
                )
            )
            used.append({"period": label, "release_id": release.id, "version": release.version})
            continue
        if label in related.in_system:
            nodes.append(Node(label, table_shapes, None, []))
    return nodes, used


def _latest_releases(session: Session, periods: set[str]) -> dict[str, StatsRelease]:
    newest = (
        select(StatsRelease.period, func.max(StatsRelease.version).label("version"))
        .where(StatsRelease.period.in_(sorted(periods)))
        .group_by(StatsRelease.period)
        .subquery()
    )
    rows = session.scalars(
        select(StatsRelease).join(
            newest,
            (StatsRelease.period == newest.c.period) & (StatsRelease.version == newest.c.version),
        )
    )
    return {row.period: row for row in rows}


def published_counts(content: dict[str, Any]) -> dict[str, dict[Coords, int | None]]:
    """The count tables of a release's content, as table -> cell -> value (None: suppressed)."""
    names = {t.name for t in COUNT_TABLES}
    out: dict[str, dict[Coords, int | None]] = {}
    for table in content["tables"]:
        if table["name"] not in names:
            continue
        dims = table["dimensions"]
        out[table["name"]] = {
            tuple(str(cell["coords"][d]) for d in dims): cell["value"] for cell in table["cells"]
        }
    return out


def _content(
    period: Period,
    version: int,
    figures: aggregates.Figures,
    protection: Protection,
    settings: DisclosureSettings,
) -> dict[str, Any]:
    """The published document: count tables, lead times and the on-time share."""
    tables = []
    table_shapes = shapes(figures.regions)
    for spec in COUNT_TABLES:
        shape = table_shapes[spec.name]
        values = protection.published[spec.name]
        tables.append(
            {
                "name": spec.name,
                "title": spec.title,
                "kind": "count",
                "dimensions": list(shape.dimensions),
                "cells": [
                    _cell(shape.dimensions, coords, values[coords]) for coords in shape.cells()
                ],
            }
        )
    tables.append(_lead_time_table(figures, settings))
    tables.append(_on_time_table(figures, protection, settings))
    return {
        "period": str(period),
        "period_type": period.kind.value,
        "version": version,
        "settings": {
            "threshold": settings.threshold,
            "rounding_base": settings.rounding_base,
        },
        "tables": tables,
    }


def _cell(dimensions: tuple[str, ...], coords: Coords, value: Any) -> dict[str, Any]:
    cell: dict[str, Any] = {"coords": dict(zip(dimensions, coords, strict=True)), "value": value}
    if value is None:
        cell["status"] = "suppressed"
    return cell


def _lead_time_table(figures: aggregates.Figures, settings: DisclosureSettings) -> dict[str, Any]:
    dimensions = ("region", "phase", "statistic")
    cells = []
    for region in [*figures.regions, TOTAL]:
        for phase in PHASES:
            found = figures.lead_times.get((region, phase))
            for k, statistic in enumerate(QUARTILES):
                value = None
                if found is not None and found[0] >= settings.threshold:
                    value = round(found[1 + k], 1)
                cells.append(_cell(dimensions, (region, phase, statistic), value))
    return {
        "name": LEAD_TIME_TABLE,
        "title": LEAD_TIME_TITLE,
        "kind": "days",
        "dimensions": list(dimensions),
        "cells": cells,
    }


def _on_time_table(
    figures: aggregates.Figures, protection: Protection, settings: DisclosureSettings
) -> dict[str, Any]:
    """From the published rounded counts, only where the group reaches the threshold."""
    published = protection.published["deadlines_by_outcome"]
    exact = figures.complete()["deadlines_by_outcome"]
    cells = []
    for region in [*figures.regions, TOTAL]:
        total = published[(region, TOTAL)]
        on_time = published[(region, "on_time")]
        value = None
        if exact[(region, TOTAL)] >= settings.threshold and total and on_time is not None:
            value = round(100.0 * on_time / total, 1)
        cells.append(_cell(("region",), (region,), value))
    return {
        "name": ON_TIME_TABLE,
        "title": ON_TIME_TITLE,
        "kind": "percentage",
        "dimensions": ["region"],
        "cells": cells,
    }


def _narrowest(protection: Protection) -> int | None:
    widths = [high - low for low, high in protection.ranges.values() if high is not None]
    return min(widths) if widths else None


def _log_suppressions(
    session: Session, release: StatsRelease, protection: Protection, content: dict[str, Any]
) -> None:
    """The internal log: every suppressed cell, why, and the audit's range (not published)."""
    rows = []
    for (name, coords), reason in sorted(protection.suppressed.items()):
        dims = next(t["dimensions"] for t in content["tables"] if t["name"] == name)
        low, high = protection.ranges.get((release.period, name, coords), (None, None))
        detail = (
            "count below the threshold"
            if reason == "primary"
            else "complement: protects a suppressed cell against recovery from totals"
        )
        rows.append(
            StatsSuppression(
                release_id=release.id,
                table_name=name,
                coords=dict(zip(dims, coords, strict=True)),
                reason=reason,
                detail=detail,
                range_low=low,
                range_high=high,
            )
        )
    for table in content["tables"]:
        if table["kind"] == "count":
            continue
        for cell in table["cells"]:
            if cell["value"] is None:
                rows.append(
                    StatsSuppression(
                        release_id=release.id,
                        table_name=table["name"],
                        coords=cell["coords"],
                        reason="group_below_threshold",
                        detail="the group is below the threshold or its counts are suppressed",
                    )
                )
    session.add_all(rows)


# --- reading releases -------------------------------------------------------------------


def list_releases(
    session: Session, actor: Actor, *, period: str | None = None
) -> list[StatsRelease]:
    """Every release (newest period first, then newest version); the programme team."""
    require_role(actor, Role.PROGRAMME)
    query = select(StatsRelease).order_by(StatsRelease.period.desc(), StatsRelease.version.desc())
    if period is not None:
        query = query.where(StatsRelease.period == str(parse_period(period)))
    return list(session.scalars(query))


def get_release(session: Session, actor: Actor, release_id: int) -> StatsRelease:
    require_role(actor, Role.PROGRAMME)
    release = session.get(StatsRelease, release_id)
    if release is None:
        raise NotFound(msg("No statistics release %(id)s.", id=release_id))
    return release


def release_file(
    session: Session, actor: Actor, release_id: int, fmt: str, language: str | None = None
) -> tuple[StatsRelease, StatsReleaseFile]:
    """A release's CSV or XLSX; each download is written to the access log, with the
    language asked for (None: the release's own file, in the contract's codes)."""
    if fmt not in FORMATS:
        raise NotFound(msg("No statistics release %(id)s.", id=release_id))
    with unit_of_work(session):
        release = get_release(session, actor, release_id)
        found = session.get(StatsReleaseFile, (release.id, fmt))
        if found is None:
            raise NotFound(msg("No statistics release %(id)s.", id=release_id))
        log_access(
            session,
            actor,
            AccessAction.EXPORT,
            "stats_release",
            release.id,
            details={
                "format": fmt,
                "language": language,
                "period": release.period,
                "version": release.version,
            },
        )
    return release, found


# One release run at a time: in this process (the embedded default's one worker, its threads)
# and, on PostgreSQL, across every worker (a session-level advisory lock on a connection of its
# own, so the run's commits cannot hand it to another session through the pool).
_RUN_LOCK = threading.Lock()
RELEASE_RUN_LOCK_KEY = 0x6D64_6152  # "mdaR"


@contextmanager
def single_release_run(session: Session) -> Iterator[bool]:
    """Whether this is the only release run under way; the run goes on only if so.

    Beat starts a run every few hours: a long release (a half year over a large population)
    must not be started again while it runs, each copy holding a worker thread the deadline
    sweep needs.
    """
    if not _RUN_LOCK.acquire(blocking=False):
        yield False
        return
    try:
        engine = session.get_bind().engine
        if engine.dialect.name != "postgresql":
            yield True
            return
        with engine.connect() as connection:
            alone = bool(connection.scalar(select(func.pg_try_advisory_lock(RELEASE_RUN_LOCK_KEY))))
            connection.commit()
            if not alone:
                yield False
                return
            try:
                yield True
            finally:
                connection.execute(select(func.pg_advisory_unlock(RELEASE_RUN_LOCK_KEY)))
                connection.commit()
    finally:
        _RUN_LOCK.release()


def closed_periods(now: datetime) -> list[str]:
    """The most recently closed month and half year at ``now`` (what beat releases)."""
    from mda.stats.periods import last_closed

    return [str(last_closed(PeriodType.MONTH, now)), str(last_closed(PeriodType.HALF_YEAR, now))]
