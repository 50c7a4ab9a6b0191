"""The free-text guard: identifiers are refused by name, ordinary text passes."""

from __future__ import annotations

import random
from datetime import date

import pytest

from mda.services.errors import IdentifierFound
from mda.services.identifiers import bsn_valid, check_free_text, find_identifiers


def valid_bsns(count: int, seed: int = 7) -> list[str]:
    """Numbers that pass the 11-test, made here (not copied from anywhere)."""
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        candidate = f"{rng.randrange(10_000_000, 999_999_999):09d}"
        weights = range(9, 1, -1)
        total = sum(int(d) * w for d, w in zip(candidate[:8], weights, strict=True))
        if (total - int(candidate[8])) % 11 == 0:
            found.append(candidate)
    return found


@pytest.mark.parametrize("bsn", valid_bsns(5))
def test_valid_bsns_are_found_in_every_usual_notation(bsn):
    assert bsn_valid(bsn)
    for text in (
        f"bsn {bsn}",
        f"BSN: {bsn[:3]}.{bsn[3:6]}.{bsn[6:]}",
        f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}",
    ):
        assert find_identifiers(text) == ["a BSN (citizen service number)"], text


@pytest.mark.parametrize("number", ["123456789", "111111112", "987654320"])
def test_invalid_bsns_pass(number):
    assert not bsn_valid(number)
    assert find_identifiers(f"ordernummer {number}") == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("mail naar moeder@example.nl", "an e-mail address"),
        ("bel 06-12345678 na vijven", "a phone number"),
        ("tel +31 6 1234 5678", "a phone number"),
        ("kantoor 020 123 4567", "a phone number"),
        ("woont op 3511 AB 12", "a postcode with house number"),
        ("Kerkstraat 12, 3511AB", "a postcode with house number"),
        ("3511ab 4", "a postcode with house number"),
        ("geb. 12-03-2015", "a date of birth"),
        ("geboren 3 maart 2016", "a date of birth"),
        ("vader 14-07-1979", "a date of birth"),
    ],
)
def test_identifiers_are_named(text, found):
    assert find_identifiers(text, today=date(2024, 6, 1)) == [found]


@pytest.mark.parametrize(
    "text",
    [
        "Gesprek met het wijkteam over de veiligheidsafspraken.",
        "In 2020 en 2021 waren er 3 meldingen; 12 professionals betrokken.",
        "Incident op 12-03-2024, politie ter plaatse.",
        "Dossier 2021-00123 van Veilig Thuis.",
        "Plan besproken op 5 mei 2024 met 4 partners.",
        "Score 7 van 10, afspraak over 6 weken.",
    ],
)
def test_ordinary_text_passes(text):
    assert find_identifiers(text, today=date(2024, 6, 1)) == []


def test_the_message_names_field_and_finding():
    with pytest.raises(IdentifierFound) as found:
        check_free_text({"reason": "zie 06-12345678", "details": "prima"})
    assert "reason seems to contain a phone number" in found.value.message
    assert found.value.details == {"reason": ["a phone number"]}
    assert "12345678" not in found.value.message
