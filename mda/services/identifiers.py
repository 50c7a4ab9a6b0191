"""The free-text guard: notes and reasons that look like a direct identifier are refused.

DESIGN.md section 6: no name, BSN, address or date of birth is stored. Names cannot be told
from ordinary words by a pattern, but the identifiers below can, and they are the ones most
often pasted into a note by habit. The message names what was found (never the value), so
the coordinator knows what to take out.

What is accepted ends up in the append-only event log, so the guard looks at the text the way
a reader would see it, not byte by byte: :func:`normalise` first folds Unicode look-alikes
(fullwidth and other digits, fullwidth ``＠``), drops invisible characters (zero-width spaces,
soft hyphens, joiners, direction marks) and folds every space, dash, dot and slash to one
form. Then the detectors run:

* a BSN: nine digits passing the 11-test however they are grouped (``1234.56.782``,
  ``111-222-333``, ``1 1 1 2 2 2 3 3 3``...), or eight digits written together (a BSN whose
  leading zero was dropped);
* an e-mail address, also written as ``jan [at] example.nl``, ``jan (at) example (dot) nl``,
  ``jan at example dot nl`` or ``jan @ example.nl``;
* a phone number: Dutch (ten digits from ``0``, also ``(06) 12345678``, ``06/12345678``) or
  international (``+32 470 12 34 56``, ``0032 ...``, ``+31 (0)6 ...``);
* a postcode next to a house number (``1234AB12``, ``1234 ab 12``, ``1234-AB 12``,
  ``Kerkstraat 12, 1234 AB``);
* a date of birth: a full date with a birth word before it, or so long ago that it is more
  likely a birthday than a case event.

False positives are kept low on purpose: counts, times, years, amounts, percentages, article
numbers, version numbers and dates in the recent past pass; numbers are only taken together
when nothing but separators stands between them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from mda.services.errors import IdentifierFound
from mda.services.messages import Text, joined, msg, term
from mda.services.text import require_clean_text

# What was found, in words (the message never quotes the value itself).
BSN = msg("a BSN (citizen service number)")
EMAIL = msg("an e-mail address")
PHONE = msg("a phone number")
POSTCODE = msg("a postcode with house number")
BIRTH_DATE = msg("a date of birth")

# --- normalising ------------------------------------------------------------------------

# Letters that show as nothing (Hangul fillers, the blank braille cell); format characters
# (category Cf: zero-width space and joiners, soft hyphen, direction marks, BOM) and
# combining marks are dropped by category.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_DROP_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
_DASHES = frozenset("\u2212\u2043\u02d7\u2796\u2e3a\u2e3b")  # besides category Pd
_SLASHES = frozenset("\u2044\u2215\u29f8\u2571\u29f5")
_DOTS = frozenset("\u00b7\u0387\u2022\u2027\u2219\u22c5\u30fb\u2e31\u2e33")


def normalise(text: str) -> str:
    """``text`` as a reader sees it, in one spelling, for matching (never for storing).

    NFKC (fullwidth and styled characters to their plain form), invisible characters out,
    every digit to 0-9, every space to " ", every dash to "-", dot-like marks to ".",
    slash-like marks to "/" and connector punctuation to "_".
    """
    out = []
    for char in unicodedata.normalize("NFKC", text):
        category = unicodedata.category(char)
        if category in _DROP_CATEGORIES or char in _INVISIBLE:
            continue
        if char.isspace():
            out.append(" ")
        elif category == "Nd":
            out.append(str(unicodedata.digit(char)))
        elif category == "Pd" or char in _DASHES:
            out.append("-")
        elif category == "Pc":
            out.append("_")
        elif char in _SLASHES:
            out.append("/")
        elif char in _DOTS:
            out.append(".")
        else:
            out.append(char)
    return "".join(out)


# --- runs of digits -----------------------------------------------------------------------

# Digits count as one number when only separators stand between them: up to three of
# space . , - / _ \ | ~ ' (so "1234.56.782", "111 - 222 - 333", "1 1 1 2 2 2 3 3 3").
# Phone numbers take brackets instead of commas.
_SEPARATORS = r" .\-/_\\|~'"
_CHAIN = re.compile(rf"[0-9](?:[{_SEPARATORS},]{{0,3}}[0-9])*")
_PHONE_CHAIN = re.compile(rf"(?P<plus>\+ ?)?[0-9](?:[{_SEPARATORS}()]{{0,3}}[0-9])*")
_GROUP = re.compile(r"[0-9]+")
_TRUNK_ZERO = re.compile(r"\( ?0 ?\)")  # the "(0)" of "+31 (0)6 ..."
_DATE_TOKEN = re.compile(
    r"(?P<d>[0-9]{1,2})(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<y>(?:19|20)?[0-9]{2})"
    r"|(?P<y2>(?:19|20)[0-9]{2})(?P<s2>[-/.])(?P<m2>[0-9]{1,2})(?P=s2)(?P<d2>[0-9]{1,2})"
)
_TIME = r"(?:[01]?[0-9]|2[0-3])[.:][0-5][0-9]"
_TIME_TOKEN = re.compile(rf"{_TIME}(?:-{_TIME})?")  # 9.15, 14:30, 9.15-10.30
_DAY_MONTH = re.compile(r"(?:0?[1-9]|[12][0-9]|3[01])[-/.](?:0?[1-9]|1[0-2])")  # 12-03, 6/12


class _Group:
    __slots__ = ("digits", "end", "start", "token")

    def __init__(self, digits: str, start: int, end: int, token: int) -> None:
        self.digits, self.start, self.end, self.token = digits, start, end, token


def _groups(chain: str, offset: int) -> list[_Group]:
    """The digit groups of a chain, each with its span and its token (space-separated part)."""
    groups: list[_Group] = []
    token = 0
    previous_end = 0
    for match in _GROUP.finditer(chain):
        if groups and " " in chain[previous_end : match.start()]:
            token += 1
        groups.append(_Group(match.group(), offset + match.start(), offset + match.end(), token))
        previous_end = match.end()
    return groups


def _tokens(chain: str) -> list[str]:
    """The chain's parts between separators that hold a space ("12-03-2024", "9.00")."""
    return [part.strip(" .,-/_\\|~'()") for part in re.split(r"[^0-9]* [^0-9]*", chain)]


def _is_date(token: str) -> bool:
    match = _DATE_TOKEN.fullmatch(token)
    if match is None:
        return False
    if match.group("y"):
        day, month, year = match.group("d", "m", "y")
    else:
        day, month, year = match.group("d2", "m2", "y2")
    try:
        date(_full_year(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _is_calendar(token: str) -> bool:
    """A date or a time on its own: "12-03-2024", "12-03", "9.15", "9.15-10.30"."""
    return (
        _is_date(token)
        or _TIME_TOKEN.fullmatch(token) is not None
        or _DAY_MONTH.fullmatch(token) is not None
    )


def _windows(groups: list[_Group], size: int) -> Iterator[tuple[int, int]]:
    """(first, last) indexes of consecutive groups holding exactly ``size`` digits."""
    for first in range(len(groups)):
        count = 0
        for last in range(first, len(groups)):
            count += len(groups[last].digits)
            if count == size:
                yield first, last
            if count >= size:
                break


def bsn_valid(digits: str) -> bool:
    """The BSN 11-test (elfproef): 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11."""
    digits = digits.zfill(9)
    if len(digits) != 9 or not digits.isdigit() or int(digits) == 0:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    total -= int(digits[8])
    return total % 11 == 0


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` (normalised) holds a phone number."""
    spans = []
    for match in _PHONE_CHAIN.finditer(text):
        if match.start() > 0 and (text[match.start() - 1].isalnum()):
            continue  # "art12..." or the tail of a word: not a number of its own
        chain = match.group()
        offset = match.start()
        if match.group("plus"):
            body = _TRUNK_ZERO.sub(" ", chain[len(match.group("plus")) :], count=1)
            groups = _groups(body, offset + len(match.group("plus")))
            count = 0
            for group in groups:
                count += len(group.digits)
                if 9 <= count <= 15:
                    spans.append((offset, group.end))
                    break
            continue
        groups = _without_clock(text, _groups(chain, offset))
        tokens = _tokens(chain)
        for first, last in _windows(groups, 10):
            window = groups[first : last + 1]
            digits = "".join(g.digits for g in window)
            starts_token = first == 0 or groups[first - 1].token != window[0].token
            ends_token = last == len(groups) - 1 or groups[last + 1].token != window[-1].token
            if not (starts_token and ends_token and re.match(r"0[1-9]", digits)):
                continue
            parts = tokens[window[0].token : window[-1].token + 1]
            if any(_is_date(part) for part in parts) or all(map(_is_calendar, parts)):
                continue  # "op 01-03-2024 10 uur", "09.00 10.00 11.00"
            spans.append((window[0].start, window[-1].end))
        # International numbers written with 00 instead of +: 0032 470 12 34 56.
        for index, group in enumerate(groups):
            if not re.match(r"00[1-9]", group.digits):
                continue
            count = len(group.digits) - 2
            end = group.end
            for later in groups[index + 1 :]:
                if 9 <= count <= 15:
                    break
                count += len(later.digits)
                end = later.end
            if 9 <= count <= 15:
                spans.append((group.start, end))
    return spans


_MINUTES_AFTER = re.compile(r":[0-5][0-9](?![0-9])")
_HOUR_BEFORE = re.compile(r"(?<![0-9])(?:[01]?[0-9]|2[0-3]):$")


def _without_clock(text: str, groups: list[_Group]) -> list[_Group]:
    """``groups`` less the hour of "8:45" at its end and the minutes at its start.

    A colon never joins digits, but the hour of "op 15-10-2018 8:45" would otherwise be
    read as the ninth digit of the date before it. Only a group that stands apart (a space
    between it and the rest) is left out.
    """
    if len(groups) < 2:
        return groups
    last = groups[-1]
    if (
        last.token != groups[-2].token
        and len(last.digits) <= 2
        and int(last.digits) <= 23
        and _MINUTES_AFTER.match(text, last.end)
    ):
        groups = groups[:-1]
    first = groups[0]
    if (
        len(groups) > 1
        and first.token != groups[1].token
        and len(first.digits) == 2
        and int(first.digits) <= 59
        and _HOUR_BEFORE.search(text, max(0, first.start - 3), first.start)
    ):
        groups = groups[1:]
    return groups


_COUNT = re.compile(r"[0-9]{1,3}")


def _date_and_count(tokens: list[str], touched: set[int]) -> bool:
    """Whether the tokens ``touched`` are a date with counts or times beside it.

    "Op 12-03-2024 2 gesprekken", "31-7-2024 18.00 - 19.30 uur": nine digits, and one run
    in eleven passes the 11-test. A BSN written with a date in it (same separator twice, a
    real day and month) and numbers after it is the price of letting these pass.
    """
    parts = [tokens[i] for i in touched]
    return any(map(_is_date, parts)) and all(
        _is_date(part) or _COUNT.fullmatch(part) or _TIME_TOKEN.fullmatch(part) for part in parts
    )


def _has_bsn(text: str, phones: list[tuple[int, int]]) -> bool:
    """A BSN in ``text`` (normalised), not counting digits that belong to a phone number."""

    def in_phone(start: int, end: int) -> bool:
        return any(start < p_end and p_start < end for p_start, p_end in phones)

    for match in _CHAIN.finditer(text):
        chain = match.group()
        groups = _groups(chain, match.start())
        if len(groups) == 1 and len(chain) == 8 and not in_phone(match.start(), match.end()):
            if bsn_valid(chain):  # eight digits together: a BSN whose leading zero was dropped
                return True
            continue
        groups = _without_clock(text, groups)
        tokens = _tokens(chain)
        for first, last in _windows(groups, 9):
            window = groups[first : last + 1]
            if len(window) > 1 and _date_and_count(tokens, {g.token for g in window}):
                continue
            if in_phone(window[0].start, window[-1].end):
                continue
            if bsn_valid("".join(g.digits for g in window)):
                return True
    return False


# --- e-mail -------------------------------------------------------------------------------

# "@" and its spellings; "(at)", "[at]", "{at}", "<at>" and "[@]"; the HTML and URL escapes.
_AT_MARK = (
    r"(?:\s*(?:@|&#0*64;|&commat;|%40)\s*"
    r"|\s*[\[({<]\s*(?:at|@|apenstaartje)\s*[\])}>]\s*)"
)
_DOT_MARK = r"(?:\.|\s*[\[({<]\s*(?:dot|punt|\.)\s*[\])}>]\s*|\s+(?:dot|punt)\s+)"
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_EMAIL = re.compile(
    rf"[^\W_]{_AT_MARK}{_LABEL}(?:{_DOT_MARK}{_LABEL})*{_DOT_MARK}[a-z]{{2,24}}\b",
    re.IGNORECASE,
)
# "jan at example dot nl": "at" is a Dutch word too (hij at), so written out in full only
# with a known top-level domain.
_TLDS = (
    "nl|be|de|fr|uk|eu|lu|at|ch|es|it|pl|tr|ma|sr|cw|aw|com|net|org|info|biz|io|me|frl|"
    "amsterdam|email|online|live|mail"
)
_EMAIL_WORDS = re.compile(
    rf"[^\W_]\s+(?:at|apenstaartje)\s+{_LABEL}(?:{_DOT_MARK}{_LABEL})*"
    rf"{_DOT_MARK}(?:{_TLDS})\b",
    re.IGNORECASE,
)

# --- postcode and house number ------------------------------------------------------------

# A Dutch postcode: 1000-9999 and two letters (never SA, SD or SS), together or apart.
_POSTCODE = re.compile(
    r"(?<![\w])(?P<digits>[1-9][0-9]{3})(?P<sep>[ -]{0,2})(?P<letters>[A-Za-z]{2})(?![A-Za-z])"
)
_HOUSE_NUMBER_AFTER = re.compile(
    r"[ ,\-/]{0,3}(?:(?:nr|no|huisnr|huisnummer|hnr)\.?[ :]*)?[0-9]{1,5}(?![0-9])", re.IGNORECASE
)
_HOUSE_NUMBER_BEFORE = re.compile(
    r"(?<![\w])[A-Za-z][\w'.-]{2,} [0-9]{1,5}"
    r"(?: ?[a-zA-Z]\b| ?- ?[0-9]{1,3}| ?(?:hs|bis))? ?[,-]? ?$"
)
# Two letters apart from the number are too often a word: "in 2020 en 12", "2023 ca 5".
_WORD_LIST = (
    "al am an as at be by ca cm de do du en er et ex go he ik in is it ja je kg km la le me "
    "mg ml mm my na no nr nu of oh ok om on op or pp so te to uw up us vs we ze zo"
)
_WORDS = frozenset(_WORD_LIST.split())


def _has_postcode_with_number(text: str) -> bool:
    for match in _POSTCODE.finditer(text):
        letters = match.group("letters")
        if letters.upper() in ("SA", "SD", "SS"):
            continue
        if match.group("sep") and not letters.isupper() and letters.lower() in _WORDS:
            continue
        if _HOUSE_NUMBER_AFTER.match(text, match.end()):
            return True
        if _HOUSE_NUMBER_BEFORE.search(text[max(0, match.start() - 60) : match.start()]):
            return True
    return False


# --- dates of birth -----------------------------------------------------------------------

# dd-mm-yyyy (also with spaces around the separators), dd-mm-yy, yyyy-mm-dd.
_DATE = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9]\.)"
    r"(?:(?P<d>[0-9]{1,2}) ?(?P<s>[-/.]) ?(?P<m>[0-9]{1,2}) ?(?P=s) ?(?P<y>[0-9]{4})"
    r"|(?P<d2>[0-9]{1,2})(?P<s2>[-/.])(?P<m2>[0-9]{1,2})(?P=s2)(?P<y2>[0-9]{2})"
    r"|(?P<y3>[0-9]{4}) ?- ?(?P<m3>[0-9]{1,2}) ?- ?(?P<d3>[0-9]{1,2}))"
    r"(?![0-9A-Za-z]|\.[0-9])"
)
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    "|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec"
    "|january|february|march|may|june|july|october"
)
_DATE_WORDS = re.compile(rf"\b[0-9]{{1,2}} (?:{_MONTHS})\.? [0-9]{{4}}\b", re.IGNORECASE)
_BIRTH_WORDS = re.compile(r"\bgeb\b|geboren|geboorte|born|birth|d\.?o\.?b\.?|\*\s*$", re.IGNORECASE)
_VERSION_BEFORE = re.compile(r"\b(?:versie|version|v)\s*$", re.IGNORECASE)
# A full date this many years back is more likely somebody's birthday than a case event.
DOB_MIN_AGE_YEARS = 12


def _full_year(year: str) -> int:
    if len(year) == 4:
        return int(year)
    # Two-digit years: the nearest one not in the future.
    value = 2000 + int(year)
    return value if value <= date.today().year else value - 100


def _looks_like_birth_date(text: str, today: date) -> bool:
    for match in _DATE.finditer(text):
        suffix = next(s for s in ("", "2", "3") if match.group("y" + s))
        day, month, year = match.group("d" + suffix, "m" + suffix, "y" + suffix)
        try:
            found = date(_full_year(year), int(month), int(day))
        except ValueError:
            continue
        before = text[max(0, match.start() - 30) : match.start()]
        if _VERSION_BEFORE.search(before):
            continue  # "versie 2.1.10"
        if _BIRTH_WORDS.search(before) or found.year <= today.year - DOB_MIN_AGE_YEARS:
            return True
    for match in _DATE_WORDS.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        year = int(match.group(0)[-4:])
        if _BIRTH_WORDS.search(before) or year <= today.year - DOB_MIN_AGE_YEARS:
            return True
    return False


# --- the guard ----------------------------------------------------------------------------


def find_identifiers(text: str | None, today: date | None = None) -> list[Text]:
    """What in ``text`` looks like a direct identifier, as readable names (may be empty)."""
    if not text:
        return []
    today = today or date.today()
    text = normalise(text)
    phones = _phone_spans(text)
    found = []
    if _has_bsn(text, phones):
        found.append(BSN)
    if _EMAIL.search(text) or _EMAIL_WORDS.search(text):
        found.append(EMAIL)
    if phones:
        found.append(PHONE)
    if _has_postcode_with_number(text):
        found.append(POSTCODE)
    if _looks_like_birth_date(text, today):
        found.append(BIRTH_DATE)
    return found


def check_free_text(fields: Mapping[str, str | None] | Iterable[tuple[str, str | None]]) -> None:
    """Raise :class:`IdentifierFound` naming every field and what was found in it."""
    items = list(fields.items() if isinstance(fields, Mapping) else fields)
    require_clean_text(items)
    problems = {}
    for name, value in items:
        found = find_identifiers(value)
        if found:
            problems[name] = found
    if problems:
        parts = [
            msg(
                "%(field)s seems to contain %(found)s",
                field=term("field", name),
                found=joined(" and ", what),
            )
            for name, what in problems.items()
        ]
        raise IdentifierFound(
            msg(
                "%(found)s. Leave direct identifiers out: the household is known only "
                "by its pseudonym.",
                found=joined("; ", parts),
            ),
            {name: what for name, what in problems.items()},
        )
