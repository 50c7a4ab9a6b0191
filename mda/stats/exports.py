"""A release as CSV and XLSX: built once, from the published content only.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are prefixed with ``'``; the XLSX is written with
``write_string``/``write_number`` only, so nothing in it is ever a formula.

A file names things through :class:`Labels`. The files a release stores when it is made
(:func:`mda.stats.releases.make_release`) use :data:`CODES`: the contract's own names
(``inflow_by_source``, ``veilig_thuis``, ``_total``, ``suppressed``), as the JSON has them.
A file in a reader's language (``nl``, ``en``) is built by the same functions with the web
layer's labels (:mod:`mda.web.stats_labels`): the same rows and columns, its headers, table
titles, dimension names and values, margins and statuses in that language. It is built once,
on its first download, and kept with its checksum beside the release's own files
(:func:`mda.stats.downloads.release_download`). Either way the bytes depend on the release
and the labels only: the XLSX carries the release's creation moment, never the clock.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Protocol

import xlsxwriter

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DIMENSIONS = 3
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Labels(Protocol):
    """How a download names its columns and the release's names and values."""

    #: The language of the labels (``nl``, ``en``); None for the contract's own names.
    language: str | None

    def word(self, key: str) -> str:
        """A fixed word: a column (``period``, ``value``...) or a line of the release sheet."""
        ...

    def title(self, name: str, stored: str) -> str:
        """The title of table ``name`` (``stored``: the English title the release keeps)."""
        ...

    def dimension(self, name: str) -> str:
        """A dimension's name (``region``, ``referral_source``...)."""
        ...

    def category(self, dimension: str, value: str) -> str:
        """A value of ``dimension`` (``veilig_thuis``, ``_total``...)."""
        ...

    def status(self, status: str) -> str:
        """A cell's status: ``published`` or ``suppressed``."""
        ...


class _Codes:
    """The contract's own names: what the JSON says, in the files every release stores."""

    language: str | None = None

    def word(self, key: str) -> str:
        return key

    def title(self, name: str, stored: str) -> str:
        return stored

    def dimension(self, name: str) -> str:
        return name

    def category(self, dimension: str, value: str) -> str:
        return value

    def status(self, status: str) -> str:
        return status


CODES: Labels = _Codes()


def guard(value: Any) -> Any:
    """A CSV field a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def header(labels: Labels = CODES) -> list[str]:
    """The CSV's first row: ``period, version, table, region, dimension_1, category_1, ...``."""
    # The contract's names are identifiers (``dimension_1``); a language's are words.
    sep = "_" if labels.language is None else " "
    numbered = [
        f"{labels.word(part)}{sep}{k + 1}"
        for k in range(MAX_DIMENSIONS)
        for part in ("dimension", "category")
    ]
    return [
        labels.word("period"),
        labels.word("version"),
        labels.word("table"),
        labels.word("region"),
        *numbered,
        labels.word("value"),
        labels.word("status"),
    ]


#: The stored CSV's header (the contract's names).
HEADER = header()


def _rows(content: dict[str, Any], labels: Labels) -> list[list[Any]]:
    rows = []
    for table in content["tables"]:
        extra = table["dimensions"][1:]
        for cell in table["cells"]:
            coords = cell["coords"]
            line: list[Any] = [
                content["period"],
                content["version"],
                table["name"],
                labels.category("region", coords["region"]),
            ]
            for k in range(MAX_DIMENSIONS):
                if k < len(extra):
                    line += [
                        labels.dimension(extra[k]),
                        labels.category(extra[k], coords[extra[k]]),
                    ]
                else:
                    line += ["", ""]
            value = cell["value"]
            line += ["" if value is None else value, labels.status(cell.get("status", "published"))]
            rows.append(line)
    return rows


def to_csv(content: dict[str, Any], labels: Labels = CODES) -> bytes:
    """One row per cell; the table column keeps the contract's name in every language."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([guard(v) for v in header(labels)])
    for row in _rows(content, labels):
        writer.writerow([guard(v) for v in row])
    return out.getvalue().encode("utf-8")


def to_xlsx(content: dict[str, Any], created_at: datetime, labels: Labels = CODES) -> bytes:
    """A sheet describing the release and listing its tables, then one sheet per table.

    The tables' sheets are named by the contract's table names in every language (at most 31
    characters, unique); a sheet's title is printed in its page header.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    # A fixed creation moment: the same release always gives the same file.
    workbook.set_properties(
        {
            "title": f"MDA++ statistics {content['period']} v{content['version']}",
            "created": created_at.replace(tzinfo=None),
        }
    )
    if labels.language:
        workbook.set_custom_property("language", labels.language)
    about = workbook.add_worksheet(labels.word("release")[:31])
    lines: list[tuple[str, Any]] = [
        (labels.word("period"), content["period"]),
        (
            labels.word("period_type"),
            labels.category("period_type", str(content.get("period_type", ""))),
        ),
        (labels.word("version"), content["version"]),
        (labels.word("threshold"), content["settings"]["threshold"]),
        (labels.word("rounding_base"), content["settings"]["rounding_base"]),
    ]
    for r, (key, value) in enumerate(lines):
        about.write_string(r, 0, key)
        _write(about, r, 1, value)
    row = len(lines) + 1
    about.write_string(row, 0, labels.word("table"))
    about.write_string(row, 1, labels.word("title"))
    for table in content["tables"]:
        row += 1
        about.write_string(row, 0, table["name"])
        about.write_string(row, 1, labels.title(table["name"], table.get("title", "")))
    for table in content["tables"]:
        sheet = workbook.add_worksheet(table["name"][:31])
        title = labels.title(table["name"], table.get("title", ""))
        sheet.set_header("&C" + title.replace("&", "&&"))
        dimensions = table["dimensions"]
        columns = [
            *(labels.dimension(d) for d in dimensions),
            labels.word("value"),
            labels.word("status"),
        ]
        for c, name in enumerate(columns):
            sheet.write_string(0, c, name)
        for r, cell in enumerate(table["cells"], start=1):
            for c, dimension in enumerate(dimensions):
                sheet.write_string(r, c, labels.category(dimension, str(cell["coords"][dimension])))
            if cell["value"] is not None:
                sheet.write_number(r, len(dimensions), cell["value"])
            sheet.write_string(
                r, len(dimensions) + 1, labels.status(cell.get("status", "published"))
            )
    workbook.close()
    return buffer.getvalue()


def _write(sheet: Any, row: int, col: int, value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))
