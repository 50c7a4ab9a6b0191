"""The Dutch catalogue is complete and compiled: every message in the pages, the web code, the
services and the workflows has a Dutch translation, and the shipped .mo says the same as the
.po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import mda

PACKAGE = Path(mda.__file__).parent
ROOT = PACKAGE.parent
CATALOGUE = PACKAGE / "translations" / "nl" / "LC_MESSAGES"
METHODS = [
    ("mda/web/**.py", "python"),
    ("mda/services/**.py", "python"),
    ("mda/workflows/**.py", "python"),
    ("mda/templates/**.html", "jinja2"),
    ("mda/web/**/templates/**.html", "jinja2"),
]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    # The services' and workflows' messages (mda/services/messages.py).
    "msg": None,
    "msg_plural": (1, 2),
}


def _used_msgids() -> dict[object, str]:
    used = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(message)
        used[key[0] if isinstance(key, tuple) else key] = filename
    return used


def test_every_message_has_a_dutch_translation():
    with (CATALOGUE / "messages.po").open("rb") as f:
        catalogue = read_po(f, locale="nl")
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings) and not message.fuzzy
    used = _used_msgids()
    assert used, "no messages extracted: the extraction itself is broken"
    missing = sorted(
        f"{where}: {msgid!r}" for msgid, where in used.items() if not translated.get(msgid)
    )
    assert not missing, "messages without a Dutch translation (run pybabel, see babel.cfg):\n" + (
        "\n".join(missing)
    )


def test_compiled_catalogue_matches_the_po_file():
    def norm(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    with (CATALOGUE / "messages.po").open("rb") as f:
        po = {norm(m.id): norm(m.string) for m in read_po(f, locale="nl") if m.id and not m.fuzzy}
    with (CATALOGUE / "messages.mo").open("rb") as f:
        mo = {norm(m.id): norm(m.string) for m in read_mo(f) if m.id}
    assert po == mo, "messages.mo is stale: run `pybabel compile -d mda/translations`"
