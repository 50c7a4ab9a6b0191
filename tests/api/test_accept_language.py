"""The API's refusals are English by default and Dutch with ``Accept-Language: nl``."""

from __future__ import annotations

import pytest

from mda.vocabulary import Role

NEW = {
    "region": "UTR",
    "reference": "VT-2024-000777",
    "referral_source": "veilig_thuis",
    "violence_types": ["partner_violence"],
    "children": "0",
}


@pytest.fixture
def coordinator(api_as):
    return api_as(Role.COORDINATOR, ["UTR"])


def _refused(coordinator, **headers):
    tid = coordinator.post("trajectories", json=NEW).get_json()["id"]
    return coordinator.change(
        "POST", f"trajectories/{tid}/transitions", json={"trigger": "accept"}, headers=headers
    )


def test_a_refusal_is_english_by_default_with_the_raw_values(coordinator):
    response = _refused(coordinator)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"] == (
        "'accept' is not possible now: only possible from screening; the trajectory is referred"
    )
    assert problem["unmet"] == ["only possible from screening; the trajectory is referred"]
    assert response.headers["Content-Language"] == "en"


def test_accept_language_nl_gives_the_refusal_in_dutch(coordinator):
    response = _refused(coordinator, **{"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"] == (
        "‘Toelaten tot MDA++’ kan nu niet: alleen mogelijk vanuit ‘Toetsing criteria MDA++’; "
        "het traject staat in ‘Aangemeld’"
    )
    assert problem["unmet"] == [
        "alleen mogelijk vanuit ‘Toetsing criteria MDA++’; het traject staat in ‘Aangemeld’"
    ]
    assert problem["title"] == "Transition refused"  # the title stays the API's
    assert response.headers["Content-Language"] == "nl"


def test_a_language_the_api_does_not_speak_falls_back_to_english(coordinator):
    response = _refused(coordinator, **{"Accept-Language": "de, fr;q=0.8"})
    assert response.get_json()["detail"].startswith("'accept' is not possible now")


def test_field_errors_are_translated_too(coordinator):
    tid = coordinator.post("trajectories", json=NEW).get_json()["id"]
    close = {"trigger": "close", "closure_reason": "household_withdrew", "reason": "06-12345678"}
    response = coordinator.change(
        "POST", f"trajectories/{tid}/transitions", json=close, headers={"Accept-Language": "nl"}
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"].startswith("reden lijkt een telefoonnummer te bevatten.")
    assert problem["errors"] == {"reason": ["een telefoonnummer"]}
    english = coordinator.change("POST", f"trajectories/{tid}/transitions", json=close)
    assert english.get_json()["detail"].startswith("reason seems to contain a phone number.")
    assert english.get_json()["errors"] == {"reason": ["a phone number"]}
