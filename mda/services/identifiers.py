"""The free-text guard: notes and reasons that look like a direct identifier are refused.

DESIGN.md section 6: no name, BSN, address or date of birth is stored. Names cannot be told
from ordinary words by a pattern, but the identifiers below can, and they are the ones most
often pasted into a note by habit. The message names what was found (never the value), so
the coordinator knows what to take out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from mda.services.errors import IdentifierFound
from mda.services.text import require_clean_text

# 9 digits, or 8 (a BSN with its leading zero dropped), alone or in groups of 3.
_BSN = re.compile(r"(?<![\d-])(\d{3}[ .]?\d{3}[ .]?\d{3}|\d{8})(?![\d-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# Dutch numbers: +31 / 0031 / 0, then nine digits with optional spaces, dashes, "(0)".
_PHONE = re.compile(r"(?<![\w+])(?:\+31|0031|0)[\s-]?(?:\(0\)[\s-]?)?[1-9](?:[\s-]?\d){8}(?!\d)")
# A postcode (1234 AB, 1234AB, 1234ab) next to a house number, either order:
# "1234 AB 12", "1234AB, 12a", "Kerkstraat 12, 1234 AB".
# Lower-case letters only when written together ("1234ab"): "2020 en 12" is ordinary text.
_POSTCODE = r"[1-9]\d{3}(?:\s?[A-Z]{2}|[a-z]{2})"
_POSTCODE_NUMBER = re.compile(
    rf"\b{_POSTCODE}\b[\s,]*(?:nr\.?\s*)?\d{{1,5}}\s?[a-zA-Z]?\b"
    rf"|\b[A-Za-z][\w'-]+\s\d{{1,5}}\s?[a-zA-Z]?\s*,?\s*{_POSTCODE}\b"
)
_DATE = re.compile(r"\b(?:(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})|(\d{4})-(\d{1,2})-(\d{1,2}))\b")
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    "|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec"
    "|january|february|march|may|june|july|october"
)
_DATE_WORDS = re.compile(rf"\b\d{{1,2}}\s(?:{_MONTHS})\.?\s\d{{4}}\b", re.IGNORECASE)
_BIRTH_WORDS = re.compile(r"geb\.|geboren|geboorte|born|birth|d\.?o\.?b\.?|\*\s*$", re.IGNORECASE)
# A full date this many years back is more likely somebody's birthday than a case event.
DOB_MIN_AGE_YEARS = 12


def bsn_valid(digits: str) -> bool:
    """The BSN 11-test (elfproef): 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11."""
    digits = digits.zfill(9)
    if len(digits) != 9 or not digits.isdigit() or int(digits) == 0:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    total -= int(digits[8])
    return total % 11 == 0


def _has_bsn(text: str) -> bool:
    return any(bsn_valid(re.sub(r"\D", "", m.group(1))) for m in _BSN.finditer(text))


def _full_year(year: str) -> int:
    if len(year) == 4:
        return int(year)
    # Two-digit years: the nearest one not in the future.
    value = 2000 + int(year)
    return value if value <= date.today().year else value - 100


def _looks_like_birth_date(text: str, today: date) -> bool:
    for match in _DATE.finditer(text):
        if match.group(1):
            day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
        else:
            year, month, day = match.group(4), int(match.group(5)), int(match.group(6))
        try:
            found = date(_full_year(year), month, day)
        except ValueError:
            continue
        before = text[max(0, match.start() - 30) : match.start()]
        if _BIRTH_WORDS.search(before) or found.year <= today.year - DOB_MIN_AGE_YEARS:
            return True
    for match in _DATE_WORDS.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        year = int(match.group(0)[-4:])
        if _BIRTH_WORDS.search(before) or year <= today.year - DOB_MIN_AGE_YEARS:
            return True
    return False


def find_identifiers(text: str | None, today: date | None = None) -> list[str]:
    """What in ``text`` looks like a direct identifier, as readable names (may be empty)."""
    if not text:
        return []
    today = today or date.today()
    found = []
    if _has_bsn(text):
        found.append("a BSN (citizen service number)")
    if _EMAIL.search(text):
        found.append("an e-mail address")
    if _PHONE.search(text):
        found.append("a phone number")
    if _POSTCODE_NUMBER.search(text):
        found.append("a postcode with house number")
    if _looks_like_birth_date(text, today):
        found.append("a date of birth")
    return found


def check_free_text(fields: dict[str, str | None] | Iterable[tuple[str, str | None]]) -> None:
    """Raise :class:`IdentifierFound` naming every field and what was found in it."""
    items = list(fields.items() if isinstance(fields, dict) else fields)
    require_clean_text(items)
    problems = {}
    for name, value in items:
        found = find_identifiers(value)
        if found:
            problems[name] = found
    if problems:
        parts = [f"{name} seems to contain {' and '.join(what)}" for name, what in problems.items()]
        raise IdentifierFound(
            "; ".join(parts) + ". Leave direct identifiers out: the household is known only "
            "by its pseudonym.",
            {name: what for name, what in problems.items()},
        )
