"""Implausible dates through the API: 422, naming the field and the allowed range; no writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mda.models import HalfYearReport, Trajectory, TrajectoryEvent
from mda.services import regions as region_service
from mda.services.clock import today_nl
from mda.vocabulary import Role
from mda.vocabulary import TrajectoryState as S
from tests.api.conftest import count
from tests.services.steps import drive
from tests.support import factories

NEW = {
    "region": "UTR",
    "reference": "VT-2024-000777",
    "referral_source": "veilig_thuis",
    "violence_types": ["partner_violence"],
    "children": "1",
}


@pytest.fixture
def coordinator(api_as):
    return api_as(Role.COORDINATOR, ["UTR"])


def trajectory_in(caller, session, state: S) -> Trajectory:
    """Registered through the API, moved on through the services."""
    response = caller.post("trajectories", json=NEW)
    assert response.status_code == 201, response.get_json()
    row = session.get(Trajectory, response.get_json()["id"])
    return drive(session, factories.actor(caller.user), row, state)


def assert_refused(response, field: str, first: str, last: str) -> None:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["errors"] == {field: f"a date from {first} to {last}"}
    assert field in body["detail"]


def test_measurement_on_0001_01_01_is_422(coordinator, session):
    trajectory = trajectory_in(coordinator, session, S.IMMEDIATE_SAFETY)
    version, events = trajectory.version, count(session, TrajectoryEvent)
    today = today_nl().isoformat()
    for measured_on in ("0001-01-01", (today_nl() + timedelta(days=1)).isoformat()):
        response = coordinator.post(
            f"trajectories/{trajectory.id}/measurements",
            json={"number": 1, "measured_on": measured_on, "violence_level": "none"},
            headers={"If-Match": f'"{version}"'},
        )
        assert_refused(response, "measured_on", today, today)
    assert count(session, TrajectoryEvent) == events
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    assert row.version == version and row.measurements == []


def test_relapse_on_0001_01_01_is_422(coordinator, session):
    trajectory = trajectory_in(coordinator, session, S.RISK_CARE)
    version, events = trajectory.version, count(session, TrajectoryEvent)
    response = coordinator.post(
        f"trajectories/{trajectory.id}/transitions",
        json={"trigger": "relapse", "incident_date": "0001-01-01"},
        headers={"If-Match": f'"{version}"'},
    )
    today = today_nl().isoformat()
    assert_refused(response, "incident_date", today, today)
    assert count(session, TrajectoryEvent) == events
    row = session.get(Trajectory, trajectory.id, populate_existing=True)
    assert row.version == version and row.state is S.RISK_CARE and row.relapses == 0


@pytest.mark.parametrize("period", ["0000-H1", "9999-H2"])
def test_report_and_overview_outside_the_programme_are_422(api_as, session, period):
    manager = api_as(Role.MANAGER, ["UTR"])
    programme = api_as(Role.PROGRAMME)
    allowed = f"a half year from 2015-H1 to {region_service.current_period()}"
    response = manager.put(f"regions/UTR/reports/{period}", json={"working_by_vision": True})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"period": allowed}
    assert period in response.get_json()["detail"]
    assert count(session, HalfYearReport) == 0
    overview = programme.get(f"programme/overview?period={period}")
    assert overview.status_code == 422, overview.get_json()
    assert overview.get_json()["errors"] == {"period": allowed}


def test_overview_at_the_programme_start_names_a_well_formed_previous_period(api_as):
    programme = api_as(Role.PROGRAMME)
    body = programme.get("programme/overview?period=2015-H1").get_json()
    assert body["previous_period"] == "2014-H2"
    assert body["statuses"]["none"]["previous"] is None
