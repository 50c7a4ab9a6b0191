"""The identifier guard on every free-text field that can hold household data.

Each field is driven through its real service: text that looks like an identifier is refused
and nothing is written (version, event log, history rows and access log unchanged but for the
entry of the refused attempt); the ordinary notes of tests/services/test_identifiers.py are
accepted and stored. The guard is
the same code for every database, so these run on SQLite alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mda.models import (
    AccessLogEntry,
    Organisation,
    Region,
    RegionStatusChange,
    Trajectory,
    TrajectoryEvent,
)
from mda.services import admin, regions
from mda.services import trajectories as svc
from mda.services.errors import IdentifierFound
from mda.vocabulary import Role
from mda.vocabulary import TrajectoryState as S
from mda.workflows.trajectory import CHECKLISTS
from tests.services.steps import drive
from tests.services.test_identifiers import IDENTIFIER_CORPUS, ORDINARY_NOTES, bsn_notations
from tests.support import factories


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _count(session: Session, model: Any, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _accesses_but_refusals(session: Session) -> int:
    details = session.scalars(select(AccessLogEntry.details))
    return sum(1 for d in details if not (d or {}).get("refused"))


# --- the fields -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A free-text field: how to get somewhere it can be written, write it, and look."""

    name: str
    field: str  # the name the refusal gives
    actor: Callable[[Session], Any]  # who writes it
    prepare: Callable[[Session, Any], Any]  # from the actor, somewhere to write it
    write: Callable[[Session, Any, str], Any]
    written: Callable[[Session, Any], tuple]  # everything the write would change


def _coordinator(session: Session) -> Any:
    return factories.user(session, Role.COORDINATOR, ["UTR"])


def _trajectory(state: S) -> Callable[[Session, Any], Any]:
    def prepare(session: Session, coordinator: Any) -> Any:
        act = factories.actor(coordinator)
        trajectory = drive(session, act, factories.trajectory(session, coordinator), state)
        return act, trajectory.id

    return prepare


def _suspended(session: Session, coordinator: Any) -> Any:
    act, trajectory_id = _trajectory(S.REFERRED)(session, coordinator)
    svc.suspend(session, act, trajectory_id, "gezin tijdelijk uit beeld")
    return act, trajectory_id


def _trajectory_written(session: Session, ctx: Any) -> tuple:
    _act, trajectory_id = ctx
    trajectory = session.get(Trajectory, trajectory_id, populate_existing=True)
    assert trajectory is not None
    return (
        trajectory.version,
        trajectory.state,
        trajectory.suspension_reason,
        trajectory.referred_back_to,
        tuple((item.key, item.done, item.details) for item in trajectory.checklist),
        _count(session, TrajectoryEvent, TrajectoryEvent.trajectory_id == trajectory_id),
        # The refused attempt itself is logged (NEN 7513; see tests/services/test_access_log.py);
        # nothing else may be.
        _accesses_but_refusals(session),
    )


SCREENING_KEY = CHECKLISTS[S.SCREENING][0].key


def _manager(session: Session) -> Any:
    return factories.actor(factories.user(session, Role.MANAGER, ["UTR"]))


def _region_write(session: Session, manager: Any, text: str) -> Any:
    # Move building block 1 each time, so that every accepted write changes something.
    block = regions.get_implementation(session, manager, "UTR")["blocks"][1]
    other = "in_progress" if block == "not_started" else "not_started"
    return regions.update_implementation(session, manager, "UTR", blocks={1: other}, reason=text)


def _region_written(session: Session, manager: Any) -> tuple:
    region = session.get(Region, "UTR", populate_existing=True)
    assert region is not None
    return (
        region.version,
        _count(session, RegionStatusChange, RegionStatusChange.region_code == "UTR"),
        _count(session, AccessLogEntry),
    )


def _admin(session: Session) -> Any:
    return factories.actor(factories.user(session, Role.ADMIN))


def _as_is(session: Session, actor: Any) -> Any:
    return actor


def _organisations_written(session: Session, actor: Any) -> tuple:
    return (
        _count(session, Organisation),
        tuple(session.execute(select(Organisation.name, Organisation.kind)).all()),
        _count(session, AccessLogEntry),
    )


FIELDS = [
    Field(
        "checklist details",
        "details",
        _coordinator,
        _trajectory(S.SCREENING),
        lambda session, ctx, text: svc.set_checklist_item(
            session, ctx[0], ctx[1], SCREENING_KEY, True, details=text
        ),
        _trajectory_written,
    ),
    Field(
        "transition reason",
        "reason",
        _coordinator,
        _trajectory(S.REFERRED),
        lambda session, ctx, text: svc.fire_trigger(
            session, ctx[0], ctx[1], "start_screening", reason=text
        ),
        _trajectory_written,
    ),
    Field(
        "referred_back_to",
        "referred_back_to",
        _coordinator,
        _trajectory(S.SCREENING),
        lambda session, ctx, text: svc.fire_trigger(
            session,
            ctx[0],
            ctx[1],
            "decline",
            closure_reason="not_eligible",
            referred_back_to=text,
        ),
        _trajectory_written,
    ),
    Field(
        "suspension reason",
        "reason",
        _coordinator,
        _trajectory(S.REFERRED),
        lambda session, ctx, text: svc.suspend(session, ctx[0], ctx[1], text),
        _trajectory_written,
    ),
    Field(
        "resumption reason",
        "reason",
        _coordinator,
        _suspended,
        lambda session, ctx, text: svc.resume(session, ctx[0], ctx[1], reason=text),
        _trajectory_written,
    ),
    Field("region status reason", "reason", _manager, _as_is, _region_write, _region_written),
    Field(
        "organisation name",
        "name",
        _admin,
        _as_is,
        lambda session, actor, text: admin.save_organisation(session, actor, text[:120]),
        _organisations_written,
    ),
    Field(
        "organisation kind",
        "kind",
        _admin,
        _as_is,
        lambda session, actor, text: admin.save_organisation(
            session, actor, f"Partner {_count(session, Organisation) + 1}", text
        ),
        _organisations_written,
    ),
]
BY_NAME = pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])


def _refused(session: Session, field: Field, ctx: Any, text: str) -> IdentifierFound:
    before = field.written(session, ctx)
    with pytest.raises(IdentifierFound) as refused:
        field.write(session, ctx, text)
    assert field.written(session, ctx) == before, f"{field.name} wrote something for {text!r}"
    assert list(refused.value.details) == [field.field]
    return refused.value


# --- the tests ------------------------------------------------------------------------------


@BY_NAME
def test_every_notation_is_refused_and_nothing_written(session, field):
    ctx = field.prepare(session, field.actor(session))
    for text, found in IDENTIFIER_CORPUS:
        refused = _refused(session, field, ctx, f"Zie: {text}")
        assert refused.details[field.field] == [found], text
        assert f"{field.field} seems to contain {found}" in refused.message


@BY_NAME
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(text=bsn_notations())
def test_a_bsn_in_any_separation_is_refused_and_nothing_written(session, field, text):
    # One preparation for all examples: a refusal leaves it as it was (that is the point).
    ctx = session.info.get(("identifier-fields", field.name))
    if ctx is None:
        ctx = field.prepare(session, field.actor(session))
        session.info[("identifier-fields", field.name)] = ctx
    refused = _refused(session, field, ctx, text)
    assert "a BSN (citizen service number)" in refused.details[field.field]


@BY_NAME
def test_ordinary_notes_are_accepted_and_stored(session, field):
    actor = field.actor(session)
    for note in ORDINARY_NOTES:
        ctx = field.prepare(session, actor)
        before = field.written(session, ctx)
        field.write(session, ctx, note)
        assert field.written(session, ctx) != before, f"{field.name} did not store {note!r}"


def test_the_stored_text_is_the_note(session):
    """The guard refuses or lets through; it never rewrites what is kept."""
    note = "Terugverwezen naar het lokale team (wijkteam Overvecht), 2 gesprekken."
    act, trajectory_id = _trajectory(S.SCREENING)(session, _coordinator(session))
    trajectory = svc.fire_trigger(
        session,
        act,
        trajectory_id,
        "decline",
        closure_reason="not_eligible",
        referred_back_to=note,
    )
    assert trajectory.referred_back_to == note


def test_an_organisation_kind_is_guarded_as_kept(session):
    """A kind is cut to 40 characters: the cut must not turn a number into a phone number."""
    actor = _admin(session)
    kind = "Partnerorganisatie, centrale 06-123456789"
    assert len(kind) == 41
    before = _count(session, Organisation)
    with pytest.raises(IdentifierFound, match="kind seems to contain a phone number"):
        admin.save_organisation(session, actor, "Partner met een nummer", kind)
    assert _count(session, Organisation) == before
