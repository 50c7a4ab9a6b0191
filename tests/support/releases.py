"""A stored statistics release built by hand: the published cells a test names (``None`` for a
suppressed one), 0 in every other cell of every count table, with the CSV and XLSX files a
release stores when it is made. For pages and dashboards that show releases, without making
one through the disclosure control."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mda.models import StatsRelease, StatsReleaseFile
from mda.stats import exports, releases
from mda.stats.tables import COUNT_TABLES, shapes
from mda.vocabulary import PeriodType

SETTINGS = {"threshold": 10, "rounding_base": 5}


def content(
    period: str, version: int, regions: Sequence[str], values: Mapping[str, Mapping[Any, Any]]
) -> dict[str, Any]:
    """A month's release content over ``regions``: the given cells, 0 elsewhere."""
    tables = []
    for spec in COUNT_TABLES:
        shape = shapes(list(regions))[spec.name]
        given = values.get(spec.name, {})
        cells = []
        for coords in shape.cells():
            value = given.get(coords, 0)
            cell: dict[str, Any] = {
                "coords": dict(zip(shape.dimensions, coords, strict=True)),
                "value": value,
            }
            if value is None:
                cell["status"] = "suppressed"
            cells.append(cell)
        tables.append(
            {
                "name": spec.name,
                "title": spec.title,
                "kind": "count",
                "dimensions": list(shape.dimensions),
                "cells": cells,
            }
        )
    return {
        "period": period,
        "period_type": "month",
        "version": version,
        "settings": dict(SETTINGS),
        "tables": tables,
    }


def stored(
    session: Session,
    period: str,
    version: int,
    regions: Sequence[str],
    values: Mapping[str, Mapping[Any, Any]],
    made: datetime,
) -> StatsRelease:
    """The release of :func:`content` and its files (made at ``made``), flushed."""
    data = content(period, version, regions, values)
    release = StatsRelease(
        period=period,
        period_type=PeriodType.MONTH,
        version=version,
        threshold=SETTINGS["threshold"],
        rounding_base=SETTINGS["rounding_base"],
        protection=SETTINGS["threshold"],
        settings=dict(SETTINGS),
        data_checksum="0" * 64,
        checksum=f"{version}" * 64,
        content=data,
        audit={},
    )
    session.add(release)
    session.flush()
    # The files every release stores when it is made, in the contract's names.
    for fmt, file in (("csv", exports.to_csv(data)), ("xlsx", exports.to_xlsx(data, made))):
        session.add(
            StatsReleaseFile(
                release_id=release.id,
                format=fmt,
                media_type=releases.FORMATS[fmt],
                content=file,
                checksum=releases.sha256(file),
            )
        )
    session.flush()
    return release
