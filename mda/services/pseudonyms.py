"""Household pseudonyms: a keyed HMAC over the normalised source reference (DESIGN.md 6).

A plain hash is not a pseudonym: a BSN has only about 10^9 values, so anyone holding the
database could hash them all. The key is kept outside the database (``PSEUDONYM_KEY``), with
a version so it can be rotated; older keys (``PSEUDONYM_OLD_KEYS``, "version:key,...") are
still tried when a reference is looked up. The reference itself is never stored or logged.

Region walls: the HMAC is taken over a salt and the reference,
``HMAC(key, "<region>:<generation>\x00" || normalised reference)``, where the salt names the
region the trajectory was first registered in and a generation (0 to :data:`GENERATIONS` - 1).
So the same household referred in two regions is two trajectories with two unrelated hashes,
and a registration or a look-up in one region cannot tell whether another region knows the
reference. A look-up computes every candidate (each region x generation x configured key, and
the legacy form) -- a few hundred HMACs of a microsecond each -- and asks for all of them at
once; which of the matching rows the actor may see is decided afterwards, in Python, so the
statements are the same whatever exists elsewhere (:class:`Candidates`). A trajectory keeps its
salt when transferred, so it is found from its new region (whose coordinators then see it) and
no longer from the old one; a household referred again in its first region after its
trajectory moved away gets the next free generation there.

Legacy form: databases made before the region walls hold ``HMAC(key, normalised reference)``
without a salt. That form stays a candidate under every configured key, so those trajectories
are still found (only from the region they are in now); a match re-keys the row to the salted
form under the current key, with its current region and the first free generation as salt.

Rotation finishes: a trajectory found under an older key (or in the legacy form) is re-keyed on
the spot (the reference is at hand only then), keeping its salt, so an old key can be dropped
once ``mda keys status`` shows no trajectory left on it. The app refuses to start on a database
that still holds a key version whose key is not configured. Version 0 marks a trajectory
unlinked by retention: its hash is random and no key finds it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mda.services.errors import ValidationError
from mda.services.messages import msg
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


def normalise(reference: str) -> str:
    """Unicode-normalised, case-folded, without whitespace or separators."""
    if not isinstance(reference, str):
        raise ValidationError(msg("The reference must be text."), {"reference": "not text"})
    require_clean_text({"reference": reference})
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", reference).casefold())
    if len(value) < MIN_LENGTH:
        raise ValidationError(
            msg("The reference needs at least %(minimum)d letters or digits.", minimum=MIN_LENGTH),
            {"reference": "too short"},
        )
    if len(value) > MAX_LENGTH:
        raise ValidationError(
            msg("The reference is longer than %(maximum)d characters.", maximum=MAX_LENGTH),
            {"reference": "too long"},
        )
    return value


#: Generations of salt per region: a household referred again in a region after its
#: trajectory there moved to another region gets the next one (0, 1, 2, 3).
GENERATIONS = 4


@dataclass(frozen=True, order=True)
class Salt:
    """What a pseudonym hash is salted with: the first region and a generation."""

    region: str
    generation: int = 0

    def prefix(self) -> bytes:
        # The NUL ends the salt: a normalised reference never holds one (and never a ":",
        # a separator), so no salted input equals another salt's or the legacy form's.
        return f"{self.region}:{self.generation}\x00".encode()


def _digest(key: bytes, normalised: str, salt: Salt | None = None) -> bytes:
    """The HMAC of the reference, salted (``salt``) or in the legacy unsalted form (None)."""
    prefix = b"" if salt is None else salt.prefix()
    return hmac.new(key, prefix + normalised.encode(), hashlib.sha256).digest()


def short_code(digest: bytes) -> str:
    """The first 60 bits of the digest in Crockford base32, as three groups of four."""
    text = base64.b32encode(digest[:10]).decode().translate(_TO_CROCKFORD)[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def _pseudonym(digest: bytes, key_version: int) -> Pseudonym:
    return Pseudonym(digest.hex(), short_code(digest), key_version)


def pseudonymise(reference: str, keys: PseudonymKeys, salt: Salt) -> Pseudonym:
    """The pseudonym of ``reference`` under the current key with ``salt``."""
    return _pseudonym(_digest(keys.current, normalise(reference), salt), keys.current_version)


def legacy_pseudonym(reference: str, keys: PseudonymKeys) -> Pseudonym:
    """The unsalted form of databases made before the region walls (current key).

    Never made for a new trajectory; kept so that such rows are still found (and re-keyed).
    """
    return _pseudonym(_digest(keys.current, normalise(reference)), keys.current_version)


@dataclass(frozen=True)
class Candidate:
    """One hash a reference may be stored under: its key version and salt (None: legacy)."""

    hash: str
    key_version: int
    salt: Salt | None


class Candidates:
    """Every hash ``reference`` may be stored under, for a look-up in one statement.

    Each region of ``regions`` x generation 0..GENERATIONS-1 x configured key, plus the
    legacy unsalted form under each key. The reference is not kept: only the hashes (and, for
    a new or re-keyed row, the current key's digests per salt).
    """

    def __init__(self, reference: str, keys: PseudonymKeys, regions: Iterable[str]) -> None:
        data = normalise(reference).encode()
        self.keys = keys
        self.regions = tuple(sorted(set(regions)))
        self._by_hash: dict[str, Candidate] = {}
        self._current: dict[Salt, bytes] = {}
        for version, key in keys.all():
            base = hmac.new(key, digestmod=hashlib.sha256)  # the key's pads, made once
            for region in self.regions:
                for generation in range(GENERATIONS):
                    salt = Salt(region, generation)
                    mac = base.copy()
                    mac.update(salt.prefix() + data)
                    digest = mac.digest()
                    self._by_hash[digest.hex()] = Candidate(digest.hex(), version, salt)
                    if version == keys.current_version:
                        self._current[salt] = digest
            mac = base.copy()
            mac.update(data)
            legacy = mac.hexdigest()
            self._by_hash[legacy] = Candidate(legacy, version, None)

    def hashes(self) -> list[str]:
        """All candidate hashes, in a fixed order (the same count for every reference)."""
        return list(self._by_hash)

    def get(self, pseudonym_hash: str) -> Candidate | None:
        """The candidate a stored hash is, or None when it is none of them."""
        return self._by_hash.get(pseudonym_hash)

    def pseudonym(self, salt: Salt) -> Pseudonym:
        """The pseudonym under the current key with ``salt`` (one of the candidates' salts)."""
        return _pseudonym(self._current[salt], self.keys.current_version)

    def free_salt(self, region: str, taken: Collection[Salt]) -> Salt:
        """The first generation of ``region`` no stored row uses (``taken``: the salts of the
        rows matching any candidate, whatever their key or region).

        Should all of them be taken (a household moved away from ``region`` four times), the
        first free salt of another region: the salt only has to differ, and it is never shown.
        """
        for generation in range(GENERATIONS):
            if Salt(region, generation) not in taken:
                return Salt(region, generation)
        for salt in sorted(self._current):
            if salt not in taken:
                return salt
        raise ValidationError(
            msg("This reference cannot be registered again; ask the application manager."),
            {"reference": "no free pseudonym"},
        )


def candidates(reference: str, keys: PseudonymKeys, regions: Iterable[str]) -> Candidates:
    """The :class:`Candidates` of ``reference`` for ``regions`` (all regions, for a look-up)."""
    return Candidates(reference, keys, regions)


def candidate_hashes(reference: str, keys: PseudonymKeys, regions: Iterable[str]) -> list[str]:
    """The hashes ``reference`` may be stored under (see :class:`Candidates`)."""
    return Candidates(reference, keys, regions).hashes()


# Key version of a trajectory whose pseudonym retention replaced by random values.
UNLINKED_VERSION = 0


def rekey_if_stale(trajectory: Trajectory, found: Candidates, taken: Collection[Salt] = ()) -> bool:
    """Move a trajectory found under an older key, or in the legacy form, to the current key.

    ``found`` are the candidates of the reference the trajectory was just found by (inside
    the caller's unit of work: the reference is at hand only then). The salt stays: the one of
    the candidate that matched. A legacy row gets its current region and the first generation
    not in ``taken`` (the salts of every row matching ``found``), so it takes no other row's
    hash.

    Only the hash and its key version change. The short readable code stays as it was at
    registration: people know the trajectory by it (in pages, minutes and bookmarks) and a
    code that changed on a look-up would look like another household. It is a label, unique
    by constraint, and no longer tied to the hash once re-keyed; no key derives it again.
    Returns whether anything changed.
    """
    if trajectory.key_version == UNLINKED_VERSION:
        return False  # never found by reference; nothing to re-key
    candidate = found.get(trajectory.pseudonym_hash)
    if candidate is None:
        return False  # not found by this reference
    current = found.keys.current_version
    if candidate.salt is not None and candidate.key_version == current:
        return False
    salt = candidate.salt or found.free_salt(trajectory.region_code, taken)
    trajectory.pseudonym_hash = found.pseudonym(salt).hash
    trajectory.key_version = current
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
