"""POST /api/v1/trajectories takes an optional referral date and the trajectory shows it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mda.models import Trajectory
from mda.services.clock import NL, today_nl
from mda.vocabulary import Role
from tests.api.conftest import count

NEW = {
    "region": "UTR",
    "reference": "VT-2026-004242",
    "referral_source": "veilig_thuis",
    "violence_types": ["partner_violence"],
    "children": "1",
}


@pytest.fixture
def coordinator(api_as):
    return api_as(Role.COORDINATOR, ["UTR"])


def test_the_referral_date_is_taken_and_shown(coordinator):
    day = today_nl() - timedelta(days=30)
    response = coordinator.post("trajectories", json={**NEW, "referred_on": day.isoformat()})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["referred_on"] == day.isoformat()
    screening = next(d for d in body["deadlines"] if d["kind"] == "screening_due")
    # Ten working days from a referral 30 days ago: already past due.
    due = datetime.fromisoformat(screening["due_at"]).astimezone(NL).date()
    assert day < due < today_nl()
    read = coordinator.get(f"trajectories/{body['id']}").get_json()
    assert read["referred_on"] == day.isoformat()
    listed = coordinator.get("trajectories").get_json()["items"]
    assert [item["referred_on"] for item in listed] == [day.isoformat()]


def test_without_a_referral_date_it_is_today(coordinator):
    body = coordinator.post("trajectories", json=NEW).get_json()
    assert body["referred_on"] == today_nl().isoformat()


@pytest.mark.parametrize(
    "value",
    [
        (date.today() + timedelta(days=3)).isoformat(),
        (date.today() - timedelta(days=400)).isoformat(),
        "2026-02-30",
        "yesterday",
    ],
)
def test_an_invalid_referral_date_is_422_and_nothing_is_registered(coordinator, session, value):
    response = coordinator.post("trajectories", json={**NEW, "referred_on": value})
    assert response.status_code == 422, response.get_json()
    assert "referred_on" in response.get_json()["errors"]
    assert count(session, Trajectory) == 0
