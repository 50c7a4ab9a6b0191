"""Half-year reports keep every saved version; the programme counts statuses from the history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DatabaseError

from mda.models import HalfYearReportVersion, RegionStatusChange
from mda.services import regions as svc
from mda.services.errors import Conflict, Forbidden
from mda.vocabulary import Role
from tests.support import factories


@pytest.fixture
def manager(session):
    return factories.actor(factories.user(session, Role.MANAGER, ["UTR"]))


def _status(session, region: str, when: str, old: str, new: str) -> None:
    session.add(
        RegionStatusChange(
            region_code=region,
            at=datetime.fromisoformat(when).replace(tzinfo=UTC),
            what="status",
            from_value=old,
            to_value=new,
        )
    )
    session.flush()


def test_a_correction_keeps_the_report_as_first_submitted(session, manager):
    first = svc.upsert_report(session, manager, "UTR", "2021-H1", vision_in_regional_plan=True)
    svc.upsert_report(
        session,
        manager,
        "UTR",
        "2021-H1",
        vision_in_regional_plan=False,
        professionals_trained=True,
        expected_version=first.version,
    )
    history = svc.report_history(session, manager, "UTR", "2021-H1")
    assert [v.version for v in history] == [1, 2]
    assert history[0].vision_in_regional_plan is True
    assert history[0].professionals_trained is False
    assert history[1].vision_in_regional_plan is False
    assert history[1].professionals_trained is True
    assert {v.saved_by_id for v in history} == {manager.user_id}
    # A refused save writes no version.
    with pytest.raises(Conflict):
        svc.upsert_report(session, manager, "UTR", "2021-H1", expected_version=1)
    assert len(svc.report_history(session, manager, "UTR", "2021-H1")) == 2


def test_report_versions_are_append_only_in_the_database(session, manager):
    svc.upsert_report(session, manager, "UTR", "2021-H1")
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(update(HalfYearReportVersion).values(professionals_trained=True))
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(delete(HalfYearReportVersion))


def test_history_is_for_the_regions_own_readers(session, manager):
    svc.upsert_report(session, manager, "UTR", "2021-H1")
    other = factories.actor(factories.user(session, Role.MANAGER, ["AMA"]))
    coordinator = factories.actor(factories.user(session, Role.COORDINATOR, ["UTR"]))
    for actor in (other, coordinator):
        with pytest.raises(Forbidden):
            svc.report_history(session, actor, "UTR", "2021-H1")
        with pytest.raises(Forbidden):
            svc.region_history(session, actor, "UTR")
    programme = factories.actor(factories.user(session, Role.PROGRAMME))
    assert len(svc.report_history(session, programme, "UTR", "2021-H1")) == 1


def test_region_history_lists_every_change_newest_first(session, manager):
    view = svc.get_implementation(session, manager, "UTR")
    svc.update_implementation(
        session,
        manager,
        "UTR",
        status="pilot",
        blocks={3: "in_progress", 4: "in_progress"},
        expected_version=view["version"],
    )
    history = svc.region_history(session, manager, "UTR")
    assert sorted(change.what for change in history) == ["block:3", "block:4", "status"]
    assert history == sorted(history, key=lambda c: (c.at, c.id), reverse=True)


def test_the_overview_counts_the_status_at_the_end_of_the_period_not_a_stale_draft(
    session, manager
):
    """A draft saved while the region was at in_development, then the region reached pilot
    in the same half year: the closed half year counts pilot, as the history says."""
    programme = factories.actor(factories.user(session, Role.PROGRAMME))
    _status(session, "UTR", "2021-02-01T08:00:00", "none", "in_development")
    draft_moment = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
    draft = svc.upsert_report(session, manager, "UTR", "2021-H1", now=draft_moment)
    assert draft.mda_status.value == "in_development"
    _status(session, "UTR", "2021-05-01T08:00:00", "in_development", "pilot")
    overview = svc.programme_overview(session, programme, "2021-H1")
    assert overview["statuses"]["pilot"]["count"] == 1
    assert overview["statuses"]["in_development"]["count"] == 0
