"""Regions, implementation status, half-yearly reports and the programme overview."""

from __future__ import annotations

from datetime import UTC, datetime

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
    if_match = {"If-Match": f'"{manager.get("regions/UTR/implementation").get_json()["version"]}"'}
    for body, field in [
        ({"status": "finished"}, "status"),
        ({"blocks": [{"block": 6, "status": "done"}]}, "blocks"),
        ({"blocks": [{"block": 1, "status": "almost"}]}, "blocks"),
        ({"blocks": {"1": "done"}}, "blocks"),
        ({"colour": "green"}, "colour"),
    ]:
        response = manager.put("regions/UTR/implementation", json=body, headers=if_match)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], response.get_json()
    twice = manager.put(
        "regions/UTR/implementation",
        json={"blocks": [{"block": 1, "status": "done"}, {"block": 1, "status": "in_progress"}]},
        headers=if_match,
    )
    assert twice.status_code == 422


def test_unknown_region_is_404(manager):
    assert manager.get("regions/XYZ/implementation").status_code == 404


def _status_history(session, region: str, *moves: tuple[str, str, str]) -> None:
    """Status changes in the past, as ``update_implementation`` writes them: (when, from, to)."""
    for when, old, new in moves:
        session.add(
            RegionStatusChange(
                region_code=region,
                at=datetime.fromisoformat(when).replace(tzinfo=UTC),
                what="status",
                from_value=old,
                to_value=new,
            )
        )
    session.commit()  # a savepoint here: a refused request's rollback must not undo it


def test_report_create_change_and_overview(api_as, manager, session):
    other = api_as(Role.MANAGER, ["AMA"])
    programme = api_as(Role.PROGRAMME)
    _status_history(
        session,
        "UTR",
        ("2020-03-01T10:00:00", "none", "in_development"),
        ("2020-05-01T10:00:00", "in_development", "pilot"),
        ("2020-10-01T10:00:00", "pilot", "structural"),
    )
    _status_history(session, "AMA", ("2020-12-31T22:59:00", "none", "pilot"))
    first = manager.put("regions/UTR/reports/2020-H1", json={"professionals_trained": True})
    assert first.status_code == 201, first.get_json()
    assert first.headers["ETag"] == '"1"'
    assert first.get_json()["mda_status"] == "pilot"  # from the history at 30 June
    assert first.get_json()["professionals_trained"] is True
    assert first.get_json()["working_by_vision"] is False
    created = manager.put(
        "regions/UTR/reports/2020-H2",
        json={"professionals_trained": True, "working_by_vision": True},
    )
    assert created.status_code == 201 and created.get_json()["mda_status"] == "structural"
    # 31 December 23:59 in Amsterdam is still 2020-H2 (22:59 UTC).
    assert other.put("regions/AMA/reports/2020-H2", json={}).get_json()["mda_status"] == "pilot"
    # Read, then change with If-Match; fields left out keep their value.
    read = manager.get("regions/UTR/reports/2020-H2")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.get_json()["version"] == 1
    kept = manager.put(
        "regions/UTR/reports/2020-H2",
        json={"vision_in_procurement": True},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert kept.status_code == 200, kept.get_json()
    assert kept.headers["ETag"] == '"2"'
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


def test_a_report_cannot_claim_a_status_the_region_never_had(manager, session):
    # The region is at none: a report saying structural would inflate "N of 28".
    claimed = manager.put("regions/UTR/reports/2020-H2", json={"mda_status": "structural"})
    assert claimed.status_code == 422, claimed.get_json()
    body = claimed.get_json()
    assert "mda_status" in body["errors"] and "status history" in body["detail"]
    assert count(session, HalfYearReport) == 0
    # Sending the status the history gives is accepted (older clients send it).
    agreed = manager.put("regions/UTR/reports/2020-H2", json={"mda_status": "none"})
    assert agreed.status_code == 201 and agreed.get_json()["mda_status"] == "none"
    # A status reached now does not count for a half year that ended before it.
    _status_history(session, "UTR", ("2021-01-01T00:30:00", "none", "in_development"))
    changed = manager.put(
        "regions/UTR/reports/2020-H2",
        json={"mda_status": "in_development"},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 422
    assert manager.get("regions/UTR/reports/2021-H1").status_code == 404
    assert (
        manager.put("regions/UTR/reports/2021-H1", json={}).get_json()["mda_status"]
        == "in_development"
    )


def test_report_versions_refuse_stale_and_blind_writes(manager, session):
    assert manager.put("regions/UTR/reports/2020-H2", json={}).status_code == 201
    # A second "first write" does not overwrite the report silently.
    again = manager.put("regions/UTR/reports/2020-H2", json={"working_by_vision": True})
    assert again.status_code == 409
    assert again.get_json()["current_version"] == 1
    assert (
        manager.put(
            "regions/UTR/reports/2020-H2",
            json={"working_by_vision": True},
            headers={"If-Match": "1"},
        ).status_code
        == 200
    )
    stale = manager.put(
        "regions/UTR/reports/2020-H2", json={"working_by_vision": False}, headers={"If-Match": "1"}
    )
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 2
    assert manager.get("regions/UTR/reports/2020-H2").get_json()["working_by_vision"] is True
    nothing = manager.put("regions/UTR/reports/2021-H1", json={}, headers={"If-Match": '"1"'})
    assert nothing.status_code == 409
    assert count(session, HalfYearReport) == 1


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
