"""Pseudonyms: stable per key and salt, different across keys and salts, and the reference is
stored nowhere. (Region walls, transfers and the legacy form: test_region_walls.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, String, Text, cast, select

from mda.models import Base
from mda.services import trajectories as svc
from mda.services.errors import ValidationError
from mda.services.pseudonyms import (
    Candidates,
    PseudonymKeys,
    Salt,
    legacy_pseudonym,
    normalise,
    pseudonymise,
)
from tests.support import factories

KEY_A = PseudonymKeys(1, b"first secret key")
KEY_B = PseudonymKeys(2, b"second secret key", ((1, b"first secret key"),))
UTR = Salt("UTR", 0)


def test_stable_for_the_same_normalised_reference():
    first = pseudonymise("VT-2021/00123", KEY_A, UTR)
    for variant in ("vt 2021 00123", " VT.2021.00123 ", "vt_2021-00123", "ＶＴ２０２１００１２３"):
        assert pseudonymise(variant, KEY_A, UTR) == first
    assert pseudonymise("VT-2021/00124", KEY_A, UTR).hash != first.hash
    assert len(first.hash) == 64 and first.key_version == 1
    assert len(first.code) == 14 and first.code.count("-") == 2
    assert not set(first.code) & set("ILOU")


def test_differs_across_keys():
    assert (
        pseudonymise("VT-2021/00123", KEY_A, UTR).hash
        != pseudonymise("VT-2021/00123", KEY_B, UTR).hash
    )


def test_differs_across_regions_and_generations_and_from_the_legacy_form():
    hashes = {
        pseudonymise("VT-2021/00123", KEY_A, salt).hash
        for salt in (UTR, Salt("UTR", 1), Salt("AMA", 0), Salt("AMA", 1))
    }
    hashes.add(legacy_pseudonym("VT-2021/00123", KEY_A).hash)
    assert len(hashes) == 5


def test_candidates_cover_every_region_generation_and_key():
    found = Candidates("VT-2021/00123", KEY_B, ["UTR", "AMA", "UTR"])
    hashes = found.hashes()
    assert len(hashes) == len(set(hashes)) == 2 * (2 * 4 + 1)  # keys x (regions x gens + legacy)
    old = pseudonymise("VT-2021/00123", KEY_A, Salt("AMA", 3)).hash
    candidate = found.get(old)
    assert candidate is not None
    assert (candidate.key_version, candidate.salt) == (1, Salt("AMA", 3))
    legacy = found.get(legacy_pseudonym("vt 2021 00123", KEY_B).hash)
    assert legacy is not None and (legacy.key_version, legacy.salt) == (2, None)
    assert found.pseudonym(UTR) == pseudonymise("VT-2021/00123", KEY_B, UTR)
    assert found.get(pseudonymise("VT-2021/00124", KEY_B, UTR).hash) is None
    # The first free generation of the region; then any free salt; the order is fixed.
    assert found.free_salt("UTR", set()) == UTR
    assert found.free_salt("UTR", {UTR, Salt("UTR", 2)}) == Salt("UTR", 1)
    every_utr = {Salt("UTR", g) for g in range(4)}
    assert found.free_salt("UTR", every_utr) == Salt("AMA", 0)
    with pytest.raises(ValidationError):
        found.free_salt("UTR", every_utr | {Salt("AMA", g) for g in range(4)})


def test_normalise_refuses_what_is_not_a_reference():
    with pytest.raises(ValidationError):
        normalise(" - / ")
    assert normalise("AB 12-34") == "ab1234"


def test_old_keys_still_find_the_trajectory(session, keys):
    coordinator = factories.user(session)
    act = factories.actor(coordinator)
    old = PseudonymKeys(1, b"old key")
    trajectory, _ = svc.register_referral(
        session,
        act,
        region="UTR",
        reference="VT-7788",
        referral_source="police",
        violence_types=["elder_abuse"],
        children="0",
        keys=old,
    )
    rotated = PseudonymKeys(2, b"new key", ((1, b"old key"),))
    assert svc.find_by_reference(session, act, "vt 7788", keys=rotated).id == trajectory.id
    again, created = svc.register_referral(
        session,
        act,
        region="UTR",
        reference="VT7788",
        referral_source="police",
        violence_types=["elder_abuse"],
        children="0",
        keys=rotated,
    )
    assert (again.id, created) == (trajectory.id, False)


def test_the_reference_appears_nowhere_in_the_database(session, keys):
    reference = "VT-2023/98765"
    coordinator = factories.user(session)
    act = factories.actor(coordinator)
    trajectory = factories.trajectory(session, coordinator, reference=reference)
    svc.find_by_reference(session, act, reference, keys=keys)
    svc.fire_trigger(session, act, trajectory.id, "start_screening", reason="aangemeld door VT")
    svc.get_trajectory(session, act, trajectory.id)
    session.flush()
    needles = {reference.lower(), normalise(reference), "98765"}
    scanned = 0
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            expression = column if not isinstance(column.type, JSON) else cast(column, Text)
            for value in session.scalars(select(expression)):
                scanned += 1
                if value is None:
                    continue
                text = str(value).lower()
                for needle in needles:
                    assert needle not in text, f"{table.name}.{column.name} holds the reference"
    assert scanned > 100  # regions, rules, users, the trajectory, events, log


def _stored(session, trajectory_id):
    from mda.models import Trajectory

    session.expire_all()
    return session.get(Trajectory, trajectory_id)


def _register(session, act, reference, keys):
    return svc.register_referral(
        session,
        act,
        region="UTR",
        reference=reference,
        referral_source="police",
        violence_types=["elder_abuse"],
        children="0",
        keys=keys,
    )


OLD = PseudonymKeys(1, b"old key")
ROTATED = PseudonymKeys(2, b"new key", ((1, b"old key"),))
NEW_ONLY = PseudonymKeys(2, b"new key")


def test_a_look_up_under_an_old_key_rekeys_the_trajectory(session):
    act = factories.actor(factories.user(session))
    trajectory, _ = _register(session, act, "VT-5501", OLD)
    code = trajectory.pseudonym
    assert svc.find_by_reference(session, act, "vt 5501", keys=ROTATED).id == trajectory.id
    stored = _stored(session, trajectory.id)
    assert stored.key_version == 2
    # The salt stays (its first region, generation 0); only the key changes.
    assert stored.pseudonym_hash == pseudonymise("VT-5501", NEW_ONLY, UTR).hash
    assert stored.pseudonym == code  # the readable code people know it by stays
    # The old key can now go: the current key alone finds it.
    assert svc.find_by_reference(session, act, "VT-5501", keys=NEW_ONLY).id == trajectory.id


def test_registering_a_known_reference_under_an_old_key_rekeys_it(session):
    act = factories.actor(factories.user(session))
    trajectory, _ = _register(session, act, "VT-5502", OLD)
    again, created = _register(session, act, "VT 5502", ROTATED)
    assert (again.id, created) == (trajectory.id, False)
    stored = _stored(session, trajectory.id)
    assert (stored.key_version, stored.pseudonym_hash) == (
        2,
        pseudonymise("VT-5502", NEW_ONLY, UTR).hash,
    )
    assert _register(session, act, "VT-5502", NEW_ONLY)[0].id == trajectory.id


def test_rekey_if_stale_leaves_current_and_unlinked_rows_alone():
    from types import SimpleNamespace

    from mda.services.pseudonyms import rekey_if_stale

    found = Candidates("VT-5503", ROTATED, ["UTR", "AMA"])
    now = pseudonymise("VT-5503", ROTATED, UTR).hash
    current = SimpleNamespace(key_version=2, pseudonym_hash=now, region_code="UTR")
    assert not rekey_if_stale(current, found) and current.pseudonym_hash == now
    unlinked = SimpleNamespace(key_version=0, pseudonym_hash="r", region_code="UTR")
    assert not rekey_if_stale(unlinked, found) and unlinked.pseudonym_hash == "r"
    other = SimpleNamespace(key_version=1, pseudonym_hash="h", region_code="UTR")
    assert not rekey_if_stale(other, found) and other.pseudonym_hash == "h"  # not this reference
    before = pseudonymise("VT-5503", OLD, Salt("AMA", 1)).hash
    stale = SimpleNamespace(key_version=1, pseudonym_hash=before, region_code="UTR")
    assert rekey_if_stale(stale, found) and stale.key_version == 2
    # Transferred from AMA to UTR: it keeps its own salt under the new key.
    assert stale.pseudonym_hash == pseudonymise("VT-5503", NEW_ONLY, Salt("AMA", 1)).hash
    # A legacy row gets its current region and the first generation no other row uses.
    legacy = SimpleNamespace(
        key_version=2, pseudonym_hash=legacy_pseudonym("VT-5503", NEW_ONLY).hash, region_code="AMA"
    )
    assert rekey_if_stale(legacy, found, {Salt("AMA", 0), Salt("AMA", 1)})
    assert legacy.pseudonym_hash == pseudonymise("VT-5503", NEW_ONLY, Salt("AMA", 2)).hash
