"""Releases: made from the cohort, disclosure-controlled, immutable, versioned, idempotent."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from mda.models import AccessLogEntry, StatsSuppression, Trajectory
from mda.services.context import Actor
from mda.services.errors import Forbidden, ValidationError
from mda.services.settings import use_settings
from mda.stats import releases
from mda.stats.disclosure import DisclosureSettings
from mda.vocabulary import Role
from tests.conftest import TEST_SETTINGS
from tests.stats import cohort

SYSTEM = Actor.system("cli")
DECEMBER = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def rows(session):
    use_settings(session, TEST_SETTINGS.at(DECEMBER))
    return cohort.build(session)


def count_cells(content):
    for table in content["tables"]:
        if table["kind"] == "count":
            yield from table["cells"]


def test_a_release_publishes_no_small_count_and_rounds_to_the_base(session, rows):
    release, made = releases.make_release(session, SYSTEM, "2026-10")
    assert made and release.version == 1 and release.period_type.value == "month"
    settings = DisclosureSettings()
    for cell in count_cells(release.content):
        value = cell["value"]
        if value is None:
            assert cell["status"] == "suppressed"
        else:
            assert value == 0 or value >= settings.threshold
            assert value % settings.rounding_base == 0
    names = [t["name"] for t in release.content["tables"]]
    for name in (
        "inflow_by_source",
        "active_by_state",
        "outflow_by_reason",
        "outcome_by_measurement",
    ):
        assert name in names
    for table in release.content["tables"]:
        assert table["dimensions"][0] == "region"
        assert {"name", "title", "dimensions", "cells"} <= set(table)
    # Every lead time here is over a group of one or two stays: none is published.
    lead = next(t for t in release.content["tables"] if t["name"] == "lead_time_by_phase")
    assert all(c["value"] is None for c in lead["cells"])


def test_the_suppression_log_is_internal_and_complete(session, rows):
    release, _ = releases.make_release(session, SYSTEM, "2026-10")
    log = session.scalars(
        select(StatsSuppression).where(StatsSuppression.release_id == release.id)
    ).all()
    suppressed = {
        (t["name"], json.dumps(c["coords"], sort_keys=True))
        for t in release.content["tables"]
        for c in t["cells"]
        if c["value"] is None
    }
    logged = {(row.table_name, json.dumps(row.coords, sort_keys=True)) for row in log}
    assert logged == suppressed
    reasons = {row.reason for row in log}
    assert "primary" in reasons
    published = json.dumps(release.content)
    assert '"primary"' not in published and '"secondary"' not in published
    for row in log:
        if row.reason in ("primary", "secondary") and row.range_high is not None:
            assert row.range_high - row.range_low >= release.protection


def test_same_data_same_release_and_a_change_makes_a_new_version(session, rows):
    first, made = releases.make_release(session, SYSTEM, "2026-10")
    again, made_again = releases.make_release(session, SYSTEM, "2026-10")
    assert made and not made_again and again.id == first.id
    cohort.add(session, "UTR", "healthcare", "2026-10-12", "2026-10-12T09:00")
    second, made = releases.make_release(session, SYSTEM, "2026-10")
    assert made and second.version == 2 and second.checksum != first.checksum
    listed = releases.list_releases(session, SYSTEM, period="2026-10")
    assert [r.version for r in listed] == [2, 1]


def test_releases_are_immutable_in_the_database(session, rows):
    release, _ = releases.make_release(session, SYSTEM, "2026-10")
    for statement in (
        f"UPDATE stats_releases SET version = 9 WHERE id = {release.id}",
        f"DELETE FROM stats_releases WHERE id = {release.id}",
        f"DELETE FROM stats_release_files WHERE release_id = {release.id}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement))


def test_an_open_period_and_other_roles_are_refused(session, rows):
    with pytest.raises(ValidationError):
        releases.make_release(session, SYSTEM, "2026-12")
    with pytest.raises(ValidationError):
        releases.make_release(session, SYSTEM, "2026-13")
    coordinator = Actor(1, "c", Role.COORDINATOR, frozenset({"UTR"}))
    with pytest.raises(Forbidden):
        releases.make_release(session, coordinator, "2026-10")
    with pytest.raises(Forbidden):
        releases.list_releases(session, coordinator)


def test_a_release_carries_no_pseudonym_trajectory_or_small_cell(session, rows):
    """Scan the JSON, the CSV and the XLSX (every string in the workbook's XML)."""
    release, _ = releases.make_release(session, SYSTEM, "2026-10")
    trajectories = session.scalars(select(Trajectory)).all()
    texts = {"json": json.dumps(release.content)}
    for fmt in ("csv", "xlsx"):
        _, found = releases.release_file(session, SYSTEM, release.id, fmt)
        if fmt == "csv":
            texts["csv"] = found.content.decode("utf-8")
        else:
            with zipfile.ZipFile(io.BytesIO(found.content)) as book:
                texts["xlsx"] = " ".join(
                    book.read(name).decode("utf-8") for name in book.namelist()
                )
    for where, content in texts.items():
        for row in trajectories:
            assert row.pseudonym not in content, where
            assert row.pseudonym_hash not in content, where
        assert "trajectory" not in content.lower(), where
    lines = list(csv.reader(io.StringIO(texts["csv"])))
    assert lines[0][:4] == ["period", "version", "table", "region"]
    for line in lines[1:]:
        table, value = line[2], line[-2]
        if value and table not in ("lead_time_by_phase", "deadlines_met_on_time"):
            assert int(value) == 0 or int(value) >= 10, line
    # The scanner finds what it looks for.
    assert rows[0].pseudonym in f"x{rows[0].pseudonym}x"


def test_downloads_are_logged_and_guarded(session, rows):
    release, _ = releases.make_release(session, SYSTEM, "2026-10")
    releases.release_file(session, SYSTEM, release.id, "csv")
    logged = session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.object_type == "stats_release", AccessLogEntry.action == "export"
        )
    ).all()
    assert [e.details["format"] for e in logged] == ["csv"]
    from mda.stats.exports import guard

    assert guard("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert guard("-1") == "'-1" and guard("UTR") == "UTR" and guard(5) == 5


def test_a_neighbouring_month_is_audited_with_this_one(session, rows):
    october, _ = releases.make_release(session, SYSTEM, "2026-10")
    november, _ = releases.make_release(session, SYSTEM, "2026-11")
    assert {"period": "2026-10", "release_id": october.id, "version": 1} in november.audit[
        "context"
    ]
    use_settings(session, TEST_SETTINGS.at(datetime(2027, 1, 4, 9, 0, tzinfo=UTC)))
    half, _ = releases.make_release(session, SYSTEM, "2026-H2")
    used = {c["period"] for c in half.audit["context"]}
    assert {"2026-10", "2026-11"} <= used


def test_a_late_change_to_a_released_month_does_not_stop_the_next(session, rows):
    """October's release predates a late referral: the audit of November uses only what
    October published that still holds, so the figures stay consistent."""
    releases.make_release(session, SYSTEM, "2026-10")
    for n in range(12):
        cohort.add(session, "UTR", "police", "2026-10-20", f"2026-11-0{1 + n % 5}T09:00")
    november, made = releases.make_release(session, SYSTEM, "2026-11")
    assert november.audit["context"][0]["period"] == "2026-10"
    assert made
    october, made = releases.make_release(session, SYSTEM, "2026-10")
    assert made and october.version == 2
