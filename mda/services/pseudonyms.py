"""Household pseudonyms: a keyed HMAC over the normalised source reference (DESIGN.md 6).

A plain hash is not a pseudonym: a BSN has only about 10^9 values, so anyone holding the
database could hash them all. The key is kept outside the database (``PSEUDONYM_KEY``), with
a version so it can be rotated; older keys (``PSEUDONYM_OLD_KEYS``, "version:key,...") are
still tried when a reference is looked up. The reference itself is never stored or logged.

Rotation finishes: a trajectory found under an older key is re-keyed on the spot (the
reference is at hand only then), so an old key can be dropped once ``mda keys status`` shows
no trajectory left on it. The app refuses to start on a database that still holds a key
version whose key is not configured. Version 0 marks a trajectory unlinked by retention: its
hash is random and no key finds it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mda.services.errors import ValidationError
from mda.services.text import require_clean_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mda.models import Trajectory

# Case, whitespace and the usual separators do not make a different reference:
# "VT-2021/00123", "vt 2021 00123" and "vt202100123" are the same file number.
_SEPARATORS = re.compile(r"[\s\-_./\\:;,#|]+")
MIN_LENGTH = 4
MAX_LENGTH = 128
# Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or copied by hand
# survives. 12 characters are 60 bits of the HMAC: collisions stay improbable well beyond a
# million households, and the unique constraint catches the improbable one.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = str.maketrans(_STANDARD, _CROCKFORD)


@dataclass(frozen=True)
class PseudonymKeys:
    """The current key and its version, plus older keys still accepted for look-ups."""

    current_version: int
    current: bytes
    old: tuple[tuple[int, bytes], ...] = ()

    @classmethod
    def from_config(cls, config: Any) -> PseudonymKeys:
        key = config.get("PSEUDONYM_KEY")
        if not key:
            raise RuntimeError("PSEUDONYM_KEY is not set; pseudonyms cannot be made")
        version = int(config.get("PSEUDONYM_KEY_VERSION") or 1)
        if version < 1:
            raise RuntimeError("PSEUDONYM_KEY_VERSION must be 1 or more (0 marks unlinked rows)")
        old: list[tuple[int, bytes]] = []
        for part in (config.get("PSEUDONYM_OLD_KEYS") or "").split(","):
            if not part.strip():
                continue
            old_version, sep, old_key = part.strip().partition(":")
            if not sep or not old_version.isdigit() or not old_key:
                raise RuntimeError("PSEUDONYM_OLD_KEYS must look like 'version:key,version:key'")
            if int(old_version) < 1:
                raise RuntimeError("PSEUDONYM_OLD_KEYS versions must be 1 or more")
            if int(old_version) != version:
                old.append((int(old_version), old_key.encode()))
        return cls(version, key.encode(), tuple(old))

    def all(self) -> list[tuple[int, bytes]]:
        return [(self.current_version, self.current), *self.old]

    def versions(self) -> set[int]:
        return {version for version, _key in self.all()}


@dataclass(frozen=True)
class Pseudonym:
    hash: str  # hex HMAC-SHA256
    code: str  # short readable form, e.g. "K7QM-3XZP-A2RT"
    key_version: int


def current_keys() -> PseudonymKeys:
    """The keys of the running app (services may pass their own for scripts and tests)."""
    from flask import current_app

    return PseudonymKeys.from_config(current_app.config)


def normalise(reference: str) -> str:
    """Unicode-normalised, case-folded, without whitespace or separators."""
    if not isinstance(reference, str):
        raise ValidationError("The reference must be text.", {"reference": "not text"})
    require_clean_text({"reference": reference})
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", reference).casefold())
    if len(value) < MIN_LENGTH:
        raise ValidationError(
            f"The reference needs at least {MIN_LENGTH} letters or digits.",
            {"reference": "too short"},
        )
    if len(value) > MAX_LENGTH:
        raise ValidationError(
            f"The reference is longer than {MAX_LENGTH} characters.", {"reference": "too long"}
        )
    return value


def _digest(key: bytes, normalised: str) -> bytes:
    return hmac.new(key, normalised.encode(), hashlib.sha256).digest()


def short_code(digest: bytes) -> str:
    """The first 60 bits of the digest in Crockford base32, as three groups of four."""
    text = base64.b32encode(digest[:10]).decode().translate(_TO_CROCKFORD)[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def pseudonymise(reference: str, keys: PseudonymKeys) -> Pseudonym:
    """The pseudonym of ``reference`` under the current key."""
    digest = _digest(keys.current, normalise(reference))
    return Pseudonym(digest.hex(), short_code(digest), keys.current_version)


def candidate_hashes(reference: str, keys: PseudonymKeys) -> list[str]:
    """The hashes ``reference`` would have under each known key (current first)."""
    normalised = normalise(reference)
    return [_digest(key, normalised).hex() for _version, key in keys.all()]


# Key version of a trajectory whose pseudonym retention replaced by random values.
UNLINKED_VERSION = 0


def rekey_if_stale(trajectory: Trajectory, reference: str, keys: PseudonymKeys) -> bool:
    """Move a trajectory found by ``reference`` under an older key to the current key.

    Only the hash and its key version change. The short readable code stays as it was at
    registration: people know the trajectory by it (in pages, minutes and bookmarks) and a
    code that changed on a look-up would look like another household. It is a label, unique
    by constraint, and no longer tied to the hash once re-keyed; no key derives it again.
    Returns whether anything changed. The caller found ``trajectory`` by one of
    :func:`candidate_hashes` of ``reference``, inside its unit of work.
    """
    if trajectory.key_version == keys.current_version:
        return False
    if trajectory.key_version == UNLINKED_VERSION:
        return False  # never found by reference; nothing to re-key
    trajectory.pseudonym_hash = pseudonymise(reference, keys).hash
    trajectory.key_version = keys.current_version
    return True


def key_version_counts(session: Session) -> dict[int, int]:
    """How many trajectories are on each key version (0: unlinked by retention)."""
    from sqlalchemy import func, select

    from mda.models import Trajectory

    rows = session.execute(
        select(Trajectory.key_version, func.count()).group_by(Trajectory.key_version)
    )
    return {int(version): int(count) for version, count in rows}


def unconfigured_key_versions(session: Session, keys: PseudonymKeys) -> list[int]:
    """Key versions still held by trajectories whose key is not configured, lowest first."""
    held = set(key_version_counts(session)) - {UNLINKED_VERSION}
    return sorted(held - keys.versions())
