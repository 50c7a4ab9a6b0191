"""A release's CSV and XLSX in the contract's names, in Dutch and in English.

The files a release stores are in the contract's names; a file in a language has the same rows
with that language's headers, titles, dimension names and values, totals and statuses. Each
is built once and kept: the same bytes and checksum at every download. The formula guard holds
in every language.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mda.models import AccessLogEntry, StatsReleaseFile
from mda.stats import exports
from mda.web.stats_labels import labels_in
from tests.stats.test_api import ROLES, callers, release, session  # noqa: F401 - fixtures

assert ROLES

CREATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
DUTCH_HEADER = [
    "Periode",
    "Versie",
    "Tabel",
    "Regio",
    "Dimensie 1",
    "Categorie 1",
    "Dimensie 2",
    "Categorie 2",
    "Dimensie 3",
    "Categorie 3",
    "Waarde",
    "Status",
]
ENGLISH_HEADER = [
    "Period",
    "Version",
    "Table",
    "Region",
    "Dimension 1",
    "Category 1",
    "Dimension 2",
    "Category 2",
    "Dimension 3",
    "Category 3",
    "Value",
    "Status",
]


def _content() -> dict[str, Any]:
    """A small release document, with a value a spreadsheet would run as a formula."""
    return {
        "period": "2026-10",
        "period_type": "month",
        "version": 2,
        "settings": {"threshold": 10, "rounding_base": 5},
        "tables": [
            {
                "name": "inflow_by_source",
                "title": "Inflow by referral source",
                "kind": "count",
                "dimensions": ["region", "referral_source"],
                "cells": [
                    {"coords": {"region": "UTR", "referral_source": "veilig_thuis"}, "value": 15},
                    {
                        "coords": {"region": "UTR", "referral_source": "police"},
                        "value": None,
                        "status": "suppressed",
                    },
                    {"coords": {"region": "_total", "referral_source": "_total"}, "value": 40},
                    {
                        "coords": {"region": "=HYPERLINK(1)", "referral_source": "-1+2"},
                        "value": 0,
                    },
                ],
            },
            {
                "name": "outcome_by_measurement",
                "title": "Safety measurements by number and violence level (impact monitor)",
                "kind": "count",
                "dimensions": ["region", "measurement", "violence_level"],
                "cells": [
                    {
                        "coords": {
                            "region": "_total",
                            "measurement": "2",
                            "violence_level": "severe",
                        },
                        "value": 20,
                    }
                ],
            },
            {
                "name": "lead_time_by_phase",
                "title": "Lead time per phase in days (quartiles), phases left in the period",
                "kind": "days",
                "dimensions": ["region", "phase", "statistic"],
                "cells": [
                    {
                        "coords": {"region": "UTR", "phase": "risk", "statistic": "median"},
                        "value": 12.5,
                    }
                ],
            },
        ],
    }


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def _xlsx(data: bytes) -> dict[str, list[list[str]]]:
    """Every sheet's rows of strings and numbers, by sheet name (read with zipfile)."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert book.testzip() is None
        strings = [
            re.sub(r"<[^>]+>", "", s)
            for s in re.findall(r"<si>(.*?)</si>", book.read("xl/sharedStrings.xml").decode())
        ]
        workbook = book.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet name="([^"]+)"', workbook)
        sheets = {}
        for index, name in enumerate(names, start=1):
            xml = book.read(f"xl/worksheets/sheet{index}.xml").decode()
            rows = []
            for row in re.findall(r"<row [^>]*>(.*?)</row>", xml):
                cells = []
                for attrs, value in re.findall(r"<c ([^>]*)>(?:<v>([^<]*)</v>)?</c>", row):
                    shared = 't="s"' in attrs
                    cells.append(strings[int(value)] if shared else value)
                rows.append(cells)
            sheets[name] = rows
        return sheets


def test_the_stored_files_keep_the_contracts_names():
    content = _content()
    lines = _csv(exports.to_csv(content))
    assert lines[0] == exports.HEADER
    assert lines[0][:4] == ["period", "version", "table", "region"]
    assert lines[1] == [
        "2026-10", "2", "inflow_by_source", "UTR", "referral_source", "veilig_thuis",
        "", "", "", "", "15", "published",
    ]  # fmt: skip
    assert lines[2][-2:] == ["", "suppressed"]
    assert lines[3][3:6] == ["_total", "referral_source", "_total"]
    sheets = _xlsx(exports.to_xlsx(content, CREATED))
    assert next(iter(sheets)) == "release"
    assert sheets["inflow_by_source"][0] == ["region", "referral_source", "value", "status"]


@pytest.mark.parametrize(
    ("language", "header", "expected"),
    [
        (
            "nl",
            DUTCH_HEADER,
            {
                "first": ["UTR", "Verwijzer", "Veilig Thuis", "", "", "", "", "15", "gepubliceerd"],
                "suppressed": ["", "onderdrukt"],
                "total": ["Totaal", "Verwijzer", "Totaal"],
                "outcome": ["Totaal", "Meting", "Meting 2", "Mate van geweld",
                            "Veel en ernstig geweld"],
                "police": "Politie",
                "lead": ["UTR", "Fase", "Risicogestuurde zorg", "Kengetal", "Mediaan"],
                "release": "Vrijgave",
                "title": "Instroom naar verwijzer",
                "columns": ["Regio", "Verwijzer", "Waarde", "Status"],
            },
        ),
        (
            "en",
            ENGLISH_HEADER,
            {
                "first": ["UTR", "Referral source", "Veilig Thuis", "", "", "", "", "15",
                          "published"],
                "suppressed": ["", "suppressed"],
                "total": ["Total", "Referral source", "Total"],
                "outcome": ["Total", "Measurement", "Measurement 2", "Violence level",
                            "Much and severe violence"],
                "police": "Police",
                "lead": ["UTR", "Phase", "Risk-driven care", "Statistic", "Median"],
                "release": "Release",
                "title": "Inflow by referral source",
                "columns": ["Region", "Referral source", "Value", "Status"],
            },
        ),
    ],
)  # fmt: skip
def test_a_file_in_a_language_says_everything_in_it(
    app: Flask, language: str, header: list[str], expected: dict[str, Any]
) -> None:
    content = _content()
    with app.test_request_context(), labels_in(language) as labels:
        data = exports.to_csv(content, labels)
        book = exports.to_xlsx(content, CREATED, labels)
        # Built again: the same bytes (the checksum a download keeps).
        assert exports.to_csv(content, labels) == data
        assert exports.to_xlsx(content, CREATED, labels) == book
    lines = _csv(data)
    assert lines[0] == header
    # The table keeps its contract name in every language (like the JSON's `name`).
    assert [line[2] for line in lines[1:]] == [
        "inflow_by_source", "inflow_by_source", "inflow_by_source", "inflow_by_source",
        "outcome_by_measurement", "lead_time_by_phase",
    ]  # fmt: skip
    assert lines[1][3:] == expected["first"]
    assert lines[2][-2:] == expected["suppressed"]
    assert lines[3][3:6] == expected["total"]
    # The formula guard: a value that starts like a formula is quoted, in every language.
    assert lines[4][3] == "'=HYPERLINK(1)" and lines[4][5] == "'-1+2"
    assert lines[5][3:8] == expected["outcome"]
    assert lines[6][3:8] == expected["lead"] and lines[6][-2] == "12.5"

    sheets = _xlsx(book)
    assert list(sheets) == [expected["release"], *(t["name"] for t in content["tables"])]
    about = sheets[expected["release"]]
    titles = {row[0]: row[1] for row in about if len(row) == 2}
    assert titles["inflow_by_source"] == expected["title"]
    inflow = sheets["inflow_by_source"]
    assert inflow[0] == expected["columns"]
    assert inflow[1] == ["UTR", "Veilig Thuis", "15", expected["first"][-1]]
    assert inflow[2] == [
        "UTR",
        expected["first"][2].replace("Veilig Thuis", inflow[2][1]),
        expected["suppressed"][1],
    ]
    # Nothing in the workbook is a formula.
    with zipfile.ZipFile(io.BytesIO(book)) as opened:
        assert not any(b"<f>" in opened.read(n) for n in opened.namelist())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_api_downloads_by_accept_language_built_once_and_kept(callers, release, session):  # noqa: F811
    made, _rows = release
    programme = callers["programme"]
    own = programme.get(f"statistics/releases/{made.id}.csv")
    stored = session.get(StatsReleaseFile, (made.id, "csv"))
    assert own.data == stored.content and _sha(own.data) == stored.checksum
    assert own.headers["Digest"] == f"sha-256={stored.checksum}"
    assert _csv(own.data)[0] == exports.HEADER
    for language, header in (("nl", DUTCH_HEADER), ("en", ENGLISH_HEADER)):
        for fmt in ("csv", "xlsx"):
            path = f"statistics/releases/{made.id}.{fmt}"
            first = programme.get(path, headers={"Accept-Language": f"{language};q=0.9"})
            assert first.status_code == 200
            assert first.headers["Content-Language"] == language
            assert "Accept-Language" in first.headers["Vary"]
            assert first.headers["Digest"] == f"sha-256={_sha(first.data)}"
            assert f"-{language}.{fmt}" in first.headers["Content-Disposition"]
            kept = session.get(StatsReleaseFile, (made.id, f"{fmt}-{language}"))
            assert kept is not None and kept.content == first.data
            again = programme.get(path, headers={"Accept-Language": language})
            assert again.data == first.data
            if fmt == "csv":
                assert _csv(first.data)[0] == header
            else:
                sheets = _xlsx(first.data)
                assert sheets["inflow_by_source"][0][0] == header[3]
    # A language the files are not in: the release's own file.
    other = programme.get(f"statistics/releases/{made.id}.csv", headers={"Accept-Language": "de"})
    assert other.data == own.data
    logged = session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.object_type == "stats_release", AccessLogEntry.action == "export"
        )
    ).all()
    assert len(logged) == 1 + 2 * 2 * 2 + 1  # every download is logged, built or kept
