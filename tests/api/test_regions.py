"""Regions, implementation status, half-yearly reports and the programme overview."""

from __future__ import annotations

import pytest

from mda.models import HalfYearReport, RegionStatusChange
from mda.reference import REGIONS
from mda.vocabulary import Role
from tests.api.conftest import count


@pytest.fixture
def manager(api_as):
    return api_as(Role.MANAGER, ["UTR"])


def test_regions_lists_all_28(api_as):
    body = api_as(Role.AUDITOR).get("regions").get_json()
    assert [r["code"] for r in body] == sorted(code for code, _ in REGIONS)
    assert {r["mda_status"] for r in body} == {"none"}


def test_implementation_read_and_update_with_versions(manager, session):
    response = manager.get("regions/UTR/implementation")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "none" and [b["block"] for b in body["blocks"]] == [1, 2, 3, 4, 5]
    assert response.headers["ETag"] == f'"{body["version"]}"'
    version = body["version"]
    # Up to pilot needs blocks 3 and 4 under way: refused with the unmet conditions.
    refused = manager.put(
        "regions/UTR/implementation",
        json={"status": "pilot"},
        headers={"If-Match": f'"{version}"'},
    )
    assert refused.status_code == 422
    assert refused.get_json()["unmet"]
    assert count(session, RegionStatusChange) == 0
    done = manager.put(
        "regions/UTR/implementation",
        json={
            "status": "pilot",
            "blocks": [{"block": 3, "status": "in_progress"}, {"block": 4, "status": "done"}],
        },
        headers={"If-Match": f'"{version}"'},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "pilot"
    assert done.get_json()["version"] == version + 1
    assert done.headers["ETag"] == f'"{version + 1}"'
    stale = manager.put(
        "regions/UTR/implementation",
        json={"status": "none", "reason": "pilot stopped"},
        headers={"If-Match": f'"{version}"'},
    )
    assert stale.status_code == 409
    assert stale.get_json()["current_version"] == version + 1
    assert manager.get("regions/UTR/implementation").get_json()["status"] == "pilot"


def test_implementation_input_is_checked(manager):
    for body, field in [
        ({"status": "finished"}, "status"),
        ({"blocks": [{"block": 6, "status": "done"}]}, "blocks"),
        ({"blocks": [{"block": 1, "status": "almost"}]}, "blocks"),
        ({"blocks": {"1": "done"}}, "blocks"),
        ({"colour": "green"}, "colour"),
    ]:
        response = manager.put("regions/UTR/implementation", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], response.get_json()
    twice = manager.put(
        "regions/UTR/implementation",
        json={"blocks": [{"block": 1, "status": "done"}, {"block": 1, "status": "in_progress"}]},
    )
    assert twice.status_code == 422


def test_unknown_region_is_404(manager):
    assert manager.get("regions/XYZ/implementation").status_code == 404


def test_report_upsert_and_overview(api_as, manager, session):
    other = api_as(Role.MANAGER, ["AMA"])
    programme = api_as(Role.PROGRAMME)
    first = manager.put(
        "regions/UTR/reports/2020-H1", json={"mda_status": "pilot", "professionals_trained": True}
    )
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["professionals_trained"] is True
    assert first.get_json()["working_by_vision"] is False
    manager.put(
        "regions/UTR/reports/2020-H2",
        json={"mda_status": "structural", "professionals_trained": True, "working_by_vision": True},
    )
    other.put("regions/AMA/reports/2020-H2", json={"mda_status": "pilot"})
    # Fields left out keep their value.
    kept = manager.put("regions/UTR/reports/2020-H2", json={"vision_in_procurement": True})
    assert kept.get_json()["working_by_vision"] is True
    assert kept.get_json()["mda_status"] == "structural"
    assert count(session, HalfYearReport) == 3

    overview = programme.get("programme/overview?period=2020-H2")
    assert overview.status_code == 200
    body = overview.get_json()
    assert body["previous_period"] == "2020-H1"
    assert body["reported"] == 2
    assert body["statuses"]["pilot"] == {"count": 1, "out_of": 28, "previous": 1}
    assert body["statuses"]["structural"] == {"count": 1, "out_of": 28, "previous": 0}
    assert body["indicators"]["working_by_vision"] == {"count": 1, "out_of": 28, "previous": 0}
    assert body["indicators"]["professionals_trained"]["previous"] == 1
    earliest = programme.get("programme/overview?period=2020-H1").get_json()
    assert earliest["statuses"]["pilot"]["previous"] is None


def test_report_and_overview_input_is_checked(manager, api_as, session):
    bad_period = manager.put("regions/UTR/reports/2020-H3", json={})
    assert bad_period.status_code == 422 and "period" in bad_period.get_json()["errors"]
    response = manager.put("regions/UTR/reports/2020-H1", json={"working_by_vision": "yes"})
    assert response.status_code == 422
    assert "working_by_vision" in response.get_json()["errors"]
    assert count(session, HalfYearReport) == 0
    programme = api_as(Role.PROGRAMME)
    bad = programme.get("programme/overview?period=2020-Q1")
    assert bad.status_code == 422 and "period" in bad.get_json()["errors"]
    assert programme.get("programme/overview").status_code == 422
