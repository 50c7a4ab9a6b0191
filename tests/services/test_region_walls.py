"""Region walls do not leak (DESIGN.md 6): whether another region knows a reference changes no
answer, access-log entry, statement or count of statements for a coordinator of this region.

Pseudonyms are salted with the region a trajectory was first registered in and a generation,
so the same household is a separate trajectory per region; a transferred trajectory keeps its
salt and is found from its new region only. Both backends, via the suite's fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, update

from mda.models import AccessLogEntry, Trajectory
from mda.services import trajectories as svc
from mda.services import workdays
from mda.services.errors import NotFound
from mda.services.pseudonyms import (
    PseudonymKeys,
    Salt,
    key_version_counts,
    legacy_pseudonym,
    pseudonymise,
)
from mda.vocabulary import Role, TrajectoryState
from mda.web.api.presenters import trajectory_view
from tests.support import factories

OLD = PseudonymKeys(1, b"old key")
ROTATED = PseudonymKeys(2, b"new key", ((1, b"old key"),))
NEW_ONLY = PseudonymKeys(2, b"new key")


@pytest.fixture
def keys():
    return factories.pseudonym_keys()


@pytest.fixture
def in_ama(session):
    return factories.actor(factories.user(session, Role.COORDINATOR, ["AMA"]))


@pytest.fixture
def in_utr(session):
    return factories.actor(factories.user(session, Role.COORDINATOR, ["UTR"]))


def _register(session, actor, reference, region, keys):
    return svc.register_referral(
        session,
        actor,
        region=region,
        reference=reference,
        referral_source="police",
        violence_types=["partner_violence"],
        children="1",
        keys=keys,
    )


def _stored(session, trajectory_id):
    session.expire_all()
    return session.get(Trajectory, trajectory_id)


_SAVEPOINT = re.compile(r"sa_savepoint_\d+")


@contextmanager
def _statements(engine) -> Iterator[list[str]]:
    """The SQL sent while inside (savepoint names made alike: they only count up)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(_SAVEPOINT.sub("sa_savepoint_N", statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _cold(session) -> None:
    """The same starting point for each call compared: nothing cached in the session or
    the process (no transaction of the session open, an empty identity map, the working-day
    calendar read again)."""
    session.commit()  # a savepoint here: the test's outer transaction stays
    session.expunge_all()
    workdays.invalidate()


def _log_of(session, actor, after_id: int) -> list[AccessLogEntry]:
    session.flush()
    return list(
        session.scalars(
            select(AccessLogEntry)
            .where(AccessLogEntry.user_id == actor.user_id, AccessLogEntry.id > after_id)
            .order_by(AccessLogEntry.id)
        )
    )


def _last_log_id(session) -> int:
    session.flush()
    return session.scalar(select(AccessLogEntry.id).order_by(AccessLogEntry.id.desc())) or 0


def _entry_shape(entry: AccessLogEntry, trajectory_id: int | None) -> tuple[Any, ...]:
    """An entry with its trajectory's own id made neutral (the only thing that may differ)."""

    def neutral(value: Any) -> Any:
        return (
            "<id>"
            if trajectory_id is not None and value in (trajectory_id, str(trajectory_id))
            else value
        )

    return (
        entry.user_id,
        entry.username,
        entry.on_behalf_of,
        entry.action,
        entry.object_type,
        neutral(entry.object_id),
        neutral(entry.trajectory_id),
        entry.channel,
        entry.remote_addr,
        entry.details,
    )


def _measure(session, engine, call: Callable[[], Any]) -> tuple[Any, list[str]]:
    _cold(session)
    with _statements(engine) as seen:
        try:
            result: Any = call()
        except NotFound as exc:
            result = exc
    return result, seen


# --- registration ----------------------------------------------------------------------------


def test_registering_a_reference_known_in_another_region_is_like_an_unknown_one(
    session, engine, keys, in_ama, in_utr
):
    theirs, _ = _register(session, in_ama, "VT-WALL-0001", "AMA", keys)
    before = (theirs.id, theirs.pseudonym_hash, theirs.pseudonym, theirs.region_code)
    _register(session, in_utr, "VT-WALL-WARM", "UTR", keys)  # first-use work out of the way

    shapes, statements, ids = {}, {}, {}
    for case, reference in (("elsewhere", "vt wall 0001"), ("unknown", "VT-WALL-0002")):
        log_from = _last_log_id(session)
        (trajectory, created), seen = _measure(
            session, engine, lambda r=reference: _register(session, in_utr, r, "UTR", keys)
        )
        log = _log_of(session, in_utr, log_from)
        view = trajectory_view(session, in_utr, trajectory)  # what the API answers with
        shapes[case] = (
            created,
            sorted(view),
            {k: view[k] for k in ("region", "state", "phase", "version", "coordinator")},
            [t["name"] for t in view["triggers"]],
            len(view["deadlines"]),
            [_entry_shape(entry, trajectory.id) for entry in log],
        )
        statements[case], ids[case] = seen, trajectory.id
    assert shapes["elsewhere"] == shapes["unknown"]
    assert shapes["unknown"][0] is True and shapes["unknown"][2]["region"] == "UTR"
    assert [entry[3].value for entry in shapes["unknown"][5]] == ["create"]
    assert statements["elsewhere"] == statements["unknown"]  # in number and text

    mine = _stored(session, ids["elsewhere"])
    assert mine.id != theirs.id
    assert mine.pseudonym_hash == pseudonymise("VT-WALL-0001", keys, Salt("UTR", 0)).hash
    # Theirs untouched, and still theirs alone.
    stored = _stored(session, theirs.id)
    assert (stored.id, stored.pseudonym_hash, stored.pseudonym, stored.region_code) == before
    assert svc.find_by_reference(session, in_ama, "VT-WALL-0001", keys=keys).id == theirs.id
    assert svc.find_by_reference(session, in_utr, "VT-WALL-0001", keys=keys).id == mine.id
    # Registering it again in either region finds that region's own.
    again, created = _register(session, in_utr, "VT-WALL-0001", "UTR", keys)
    assert (again.id, created) == (mine.id, False)
    again, created = _register(session, in_ama, "VT-WALL-0001", "AMA", keys)
    assert (again.id, created) == (theirs.id, False)


# --- look-up ---------------------------------------------------------------------------------


def test_looking_up_a_reference_known_only_elsewhere_is_like_an_unknown_one(
    session, engine, keys, in_ama, in_utr
):
    _register(session, in_ama, "VT-WALL-0003", "AMA", keys)
    _register(session, in_utr, "VT-WALL-WARM", "UTR", keys)
    log_from = _last_log_id(session)
    refusals = {}
    for case, reference in (("elsewhere", "VT-WALL-0003"), ("unknown", "VT-WALL-0004")):
        refused, seen = _measure(
            session,
            engine,
            lambda r=reference: svc.find_by_reference(session, in_utr, r, keys=keys),
        )
        assert isinstance(refused, NotFound), case
        refusals[case] = (
            type(refused),
            refused.status,
            refused.message,
            getattr(refused.text, "msgid", None),
            refused.details,
            _entry_shape(refused.audit, None),
            seen,
        )
    assert refusals["elsewhere"] == refusals["unknown"]
    assert len(refusals["unknown"][-1]) >= 2  # the regions, then every candidate at once
    assert refusals["unknown"][5][9] == {"by": "reference"}
    # The search is logged (kept although the look-up fails), alike for both.
    logged = [_entry_shape(entry, None) for entry in _log_of(session, in_utr, log_from)]
    assert logged == [refusals["elsewhere"][5], refusals["unknown"][5]]


def test_a_coordinator_of_several_regions_finds_the_newest_open_trajectory(
    session, keys, in_ama, in_utr
):
    first, _ = _register(session, in_ama, "VT-WALL-0005", "AMA", keys)
    second, created = _register(session, in_utr, "VT-WALL-0005", "UTR", keys)
    assert created and second.id != first.id
    both = factories.actor(factories.user(session, Role.COORDINATOR, ["AMA", "UTR"]))
    assert svc.find_by_reference(session, both, "VT-WALL-0005", keys=keys).id == second.id
    again, created = _register(session, both, "VT-WALL-0005", "AMA", keys)
    assert (again.id, created) == (second.id, False)
    session.execute(
        update(Trajectory).where(Trajectory.id == second.id).values(state=TrajectoryState.CLOSED)
    )
    session.expire_all()
    assert svc.find_by_reference(session, both, "VT-WALL-0005", keys=keys).id == first.id
    session.execute(
        update(Trajectory).where(Trajectory.id == first.id).values(state=TrajectoryState.CLOSED)
    )
    session.expire_all()
    assert svc.find_by_reference(session, both, "VT-WALL-0005", keys=keys).id == second.id


# --- transfer --------------------------------------------------------------------------------


def test_a_transferred_trajectory_is_found_from_its_new_region_only(session, keys, in_ama, in_utr):
    moved, _ = _register(session, in_ama, "VT-WALL-0006", "AMA", keys)
    first_hash = pseudonymise("VT-WALL-0006", keys, Salt("AMA", 0)).hash
    assert moved.pseudonym_hash == first_hash
    svc.transfer(session, in_ama, moved.id, "UTR")

    assert svc.find_by_reference(session, in_utr, "VT-WALL-0006", keys=keys).id == moved.id
    with pytest.raises(NotFound):
        svc.find_by_reference(session, in_ama, "VT-WALL-0006", keys=keys)
    again, created = _register(session, in_utr, "VT-WALL-0006", "UTR", keys)
    assert (again.id, created) == (moved.id, False)

    # Referred again in its first region: a new trajectory there, on the next generation.
    fresh, created = _register(session, in_ama, "VT-WALL-0006", "AMA", keys)
    assert created and fresh.id != moved.id and fresh.region_code == "AMA"
    assert fresh.pseudonym_hash == pseudonymise("VT-WALL-0006", keys, Salt("AMA", 1)).hash
    assert svc.find_by_reference(session, in_ama, "VT-WALL-0006", keys=keys).id == fresh.id
    assert _stored(session, moved.id).pseudonym_hash == first_hash  # it kept its salt

    # That one moves too: generation 2 for the next referral in AMA, and UTR now holds two.
    svc.transfer(session, in_ama, fresh.id, "UTR")
    third, created = _register(session, in_ama, "VT-WALL-0006", "AMA", keys)
    assert (
        created and third.pseudonym_hash == pseudonymise("VT-WALL-0006", keys, Salt("AMA", 2)).hash
    )
    assert svc.find_by_reference(session, in_utr, "VT-WALL-0006", keys=keys).id == fresh.id


# --- key rotation and the legacy form --------------------------------------------------------


def test_rotation_keeps_the_salt_of_a_transferred_trajectory(session, in_ama, in_utr):
    moved, _ = _register(session, in_ama, "VT-WALL-0007", "AMA", OLD)
    svc.transfer(session, in_ama, moved.id, "UTR")
    code = moved.pseudonym
    assert key_version_counts(session).get(1, 0) >= 1

    assert svc.find_by_reference(session, in_utr, "vt wall 0007", keys=ROTATED).id == moved.id
    stored = _stored(session, moved.id)
    assert stored.key_version == 2 and stored.pseudonym == code
    assert stored.pseudonym_hash == pseudonymise("VT-WALL-0007", NEW_ONLY, Salt("AMA", 0)).hash
    assert svc.find_by_reference(session, in_utr, "VT-WALL-0007", keys=NEW_ONLY).id == moved.id
    with pytest.raises(NotFound):
        svc.find_by_reference(session, in_ama, "VT-WALL-0007", keys=NEW_ONLY)
    assert key_version_counts(session) == {2: 1}  # what `mda keys status` shows


def test_a_legacy_unsalted_row_is_found_and_rekeyed_to_the_salted_form(session, in_ama, in_utr):
    # A row of AMA made before the walls (under the old key), while another trajectory of the
    # same household, first registered in AMA, has moved to UTR (it holds the salt AMA:0).
    away, _ = _register(session, in_ama, "VT-WALL-0008", "AMA", OLD)
    svc.transfer(session, in_ama, away.id, "UTR")
    old, _ = _register(session, in_ama, "VT-WALL-0008", "AMA", OLD)
    session.execute(
        update(Trajectory)
        .where(Trajectory.id == old.id)
        .values(pseudonym_hash=legacy_pseudonym("VT-WALL-0008", OLD).hash, key_version=1)
    )
    session.expire_all()

    # Still walled: UTR finds only the one that lives there.
    assert svc.find_by_reference(session, in_utr, "VT-WALL-0008", keys=ROTATED).id == away.id
    assert svc.find_by_reference(session, in_ama, "VT-WALL-0008", keys=ROTATED).id == old.id
    stored = _stored(session, old.id)
    assert stored.key_version == 2
    # Salted now: its region, the first generation no other row of the household uses.
    assert stored.pseudonym_hash == pseudonymise("VT-WALL-0008", NEW_ONLY, Salt("AMA", 1)).hash
    assert _stored(session, away.id).pseudonym_hash == (
        pseudonymise("VT-WALL-0008", NEW_ONLY, Salt("AMA", 0)).hash
    )
    assert svc.find_by_reference(session, in_ama, "VT-WALL-0008", keys=NEW_ONLY).id == old.id
    assert svc.find_by_reference(session, in_utr, "VT-WALL-0008", keys=NEW_ONLY).id == away.id


def test_a_legacy_row_under_the_current_key_is_salted_on_a_match(session, keys, in_utr):
    row, _ = _register(session, in_utr, "VT-WALL-0010", "UTR", keys)
    session.execute(
        update(Trajectory)
        .where(Trajectory.id == row.id)
        .values(pseudonym_hash=legacy_pseudonym("VT-WALL-0010", keys).hash)
    )
    session.expire_all()
    assert _register(session, in_utr, "vt-wall-0010", "UTR", keys)[0].id == row.id
    stored = _stored(session, row.id)
    assert stored.pseudonym_hash == pseudonymise("VT-WALL-0010", keys, Salt("UTR", 0)).hash
    assert stored.key_version == keys.current_version
