"""Regional implementation status, half-yearly reports and the programme's overview."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mda.models import RegionStatusChange
from mda.services import regions as svc
from mda.services.errors import Conflict, Forbidden, TransitionRefused, ValidationError
from mda.vocabulary import Role
from tests.support import factories


@pytest.fixture
def manager(session):
    return factories.actor(factories.user(session, Role.MANAGER, ["UTR"]))


def test_manager_moves_status_up_with_the_blocks_behind_it(session, manager):
    view = svc.get_implementation(session, manager, "UTR")
    assert view["status"] == "none" and view["blocks"] == dict.fromkeys(range(1, 6), "not_started")
    with pytest.raises(TransitionRefused) as refused:
        svc.update_implementation(session, manager, "UTR", status="pilot")
    assert "pilot needs building block 3 in progress or done" in refused.value.unmet[0]
    assert svc.get_implementation(session, manager, "UTR")["version"] == view["version"]
    view = svc.update_implementation(
        session,
        manager,
        "UTR",
        status="pilot",
        blocks={3: "in_progress", 4: "done"},
        expected_version=view["version"],
    )
    assert view["status"] == "pilot" and view["blocks"][4] == "done"
    changes = session.scalars(
        select(RegionStatusChange.what).where(RegionStatusChange.region_code == "UTR")
    ).all()
    assert sorted(changes) == ["block:3", "block:4", "status"]
    with pytest.raises(Conflict):
        svc.update_implementation(
            session, manager, "UTR", blocks={1: "in_progress"}, expected_version=1
        )
    with pytest.raises(TransitionRefused, match="needs a reason"):
        svc.update_implementation(session, manager, "UTR", status="in_development")
    down = svc.update_implementation(
        session, manager, "UTR", status="in_development", reason="pilot paused by the board"
    )
    assert down["status"] == "in_development" and down["version"] == view["version"] + 1


def test_only_the_regions_own_manager_or_an_admin_maintains_it(session, manager):
    for role, regions in [
        (Role.MANAGER, ["AMA"]),
        (Role.COORDINATOR, ["UTR"]),
        (Role.PROGRAMME, []),
    ]:
        other = factories.actor(factories.user(session, role, regions))
        with pytest.raises(Forbidden):
            svc.update_implementation(session, other, "UTR", blocks={1: "done"})
    admin = factories.actor(factories.user(session, Role.ADMIN))
    assert (
        svc.update_implementation(session, admin, "UTR", blocks={1: "done"})["blocks"][1] == "done"
    )
    with pytest.raises(ValidationError, match="blocks are 1 to 5"):
        svc.update_implementation(session, manager, "UTR", blocks={6: "done"})
    with pytest.raises(ValidationError, match="block 2 'finished' is not one of"):
        svc.update_implementation(session, manager, "UTR", blocks={2: "finished"})


def test_reports_and_the_programme_overview(session, manager):
    programme = factories.actor(factories.user(session, Role.PROGRAMME))
    svc.upsert_report(session, manager, "UTR", "2020-H1", vision_in_regional_plan=True)
    report = svc.upsert_report(
        session, manager, "UTR", "2020-H2", mda_status="pilot", vision_in_regional_plan=True
    )
    assert report.mda_status.value == "pilot" and report.professionals_trained is False
    report = svc.upsert_report(session, manager, "UTR", "2020-H2", professionals_trained=True)
    assert report.vision_in_regional_plan and report.professionals_trained
    ama = factories.actor(factories.user(session, Role.MANAGER, ["AMA"]))
    svc.upsert_report(session, ama, "AMA", "2020-H2", mda_status="pilot")
    overview = svc.programme_overview(session, programme, "2020-H2")
    assert overview["previous_period"] == "2020-H1"
    assert overview["statuses"]["pilot"] == {"count": 2, "out_of": 28, "previous": 0}
    assert overview["statuses"]["none"] == {"count": 0, "out_of": 28, "previous": 1}
    assert overview["indicators"]["vision_in_regional_plan"] == {
        "count": 1,
        "out_of": 28,
        "previous": 1,
    }
    assert overview["reported"] == 2
    with pytest.raises(ValidationError, match="like 2020-H2"):
        svc.upsert_report(session, manager, "UTR", "2020-2")
    with pytest.raises(ValidationError, match="Unknown indicator"):
        svc.upsert_report(session, manager, "UTR", "2021-H1", happy=True)
    with pytest.raises(Forbidden):
        svc.programme_overview(session, manager, "2020-H2")
    with pytest.raises(Forbidden):
        svc.upsert_report(session, ama, "UTR", "2021-H1")
    assert svc.previous_period("2021-H1") == "2020-H2"
