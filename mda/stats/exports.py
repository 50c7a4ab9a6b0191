"""A release as CSV and XLSX: built once, from the published content only.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are prefixed with ``'``; the XLSX is written with
``write_string``/``write_number`` only, so nothing in it is ever a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import xlsxwriter

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DIMENSIONS = 3
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(value: Any) -> Any:
    """A CSV field a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _rows(content: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for table in content["tables"]:
        extra = table["dimensions"][1:]
        for cell in table["cells"]:
            coords = cell["coords"]
            line: list[Any] = [
                content["period"],
                content["version"],
                table["name"],
                coords["region"],
            ]
            for k in range(MAX_DIMENSIONS):
                if k < len(extra):
                    line += [extra[k], coords[extra[k]]]
                else:
                    line += ["", ""]
            value = cell["value"]
            line += ["" if value is None else value, cell.get("status", "published")]
            rows.append(line)
    return rows


HEADER = [
    "period",
    "version",
    "table",
    "region",
    *(f"{part}_{k + 1}" for k in range(MAX_DIMENSIONS) for part in ("dimension", "category")),
    "value",
    "status",
]


def to_csv(content: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in _rows(content):
        writer.writerow([guard(v) for v in row])
    return out.getvalue().encode("utf-8")


def to_xlsx(content: dict[str, Any], created_at: datetime) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    # A fixed creation moment: the same release always gives the same file.
    workbook.set_properties(
        {
            "title": f"MDA++ statistics {content['period']} v{content['version']}",
            "created": created_at.replace(tzinfo=None),
        }
    )
    about = workbook.add_worksheet("release")
    for r, (key, value) in enumerate(
        [
            ("period", content["period"]),
            ("period_type", content["period_type"]),
            ("version", content["version"]),
            ("threshold", content["settings"]["threshold"]),
            ("rounding_base", content["settings"]["rounding_base"]),
        ]
    ):
        about.write_string(r, 0, key)
        _write(about, r, 1, value)
    for table in content["tables"]:
        sheet = workbook.add_worksheet(table["name"][:31])
        columns = [*table["dimensions"], "value", "status"]
        for c, name in enumerate(columns):
            sheet.write_string(0, c, name)
        for r, cell in enumerate(table["cells"], start=1):
            for c, dimension in enumerate(table["dimensions"]):
                sheet.write_string(r, c, str(cell["coords"][dimension]))
            if cell["value"] is not None:
                sheet.write_number(r, len(table["dimensions"]), cell["value"])
            sheet.write_string(r, len(table["dimensions"]) + 1, cell.get("status", "published"))
    workbook.close()
    return buffer.getvalue()


def _write(sheet: Any, row: int, col: int, value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))
