"""The screening criteria's inclusion rule is configurable (DESIGN.md section 3)."""

import pytest

from config import ConfigError
from mda.extensions import db as database
from mda.services import trajectories as svc
from mda.services.errors import TransitionRefused
from mda.vocabulary import TrajectoryState
from mda.web.api.presenters import trajectory_view
from mda.workflows.trajectory import ScreeningRule
from tests.conftest import make_test_app
from tests.support import factories


@pytest.mark.parametrize(
    ("required", "others", "minimum", "message"),
    [
        (("multiple_life_domains", "bogus"), ("intergenerational",), 1, "unknown screening"),
        (("intergenerational",), ("intergenerational",), 1, "both required and optional"),
        (("multiple_life_domains",), ("intergenerational",), 2, "must be 0 to 1"),
    ],
)
def test_bad_rule_settings_are_refused_clearly(required, others, minimum, message):
    with pytest.raises(ValueError, match=message):
        ScreeningRule.from_settings(required, others, minimum)


def test_app_refuses_to_start_with_an_impossible_rule():
    with pytest.raises(ConfigError, match="MDA_SCREENING_"):
        make_test_app(SCREENING_MIN_OTHERS=4)


def _screened(session, act, trajectory, met_others):
    svc.fire_trigger(session, act, trajectory.id, "start_screening")
    for key in ("multiple_life_domains", "interrelated_problems"):
        svc.set_checklist_item(session, act, trajectory.id, key, True)
    for index, key in enumerate(
        ("intergenerational", "severe_or_persistent", "needs_care_and_justice")
    ):
        svc.set_checklist_item(session, act, trajectory.id, key, index < met_others)


def test_the_configured_minimum_decides_acceptance(app, session):
    coordinator = factories.user(session)
    act = factories.actor(coordinator)
    one_other = factories.trajectory(session, coordinator)
    _screened(session, act, one_other, met_others=1)

    # The app's configuration reaches the services through the sessions the app makes.
    app.config["SCREENING_MIN_OTHERS"] = 2
    strict = database.new_session(app)
    with pytest.raises(TransitionRefused) as refused:
        svc.fire_trigger(strict, act, one_other.id, "accept")
    assert any("at least 2 of" in condition for condition in refused.value.unmet)
    view = trajectory_view(strict, act, svc.get_trajectory(strict, act, one_other.id))
    accept = next(t for t in view["triggers"] if t["name"] == "accept")
    assert accept["allowed"] is False

    app.config["SCREENING_MIN_OTHERS"] = 1
    accepted = svc.fire_trigger(database.new_session(app), act, one_other.id, "accept")
    assert accepted.state is TrajectoryState.TEAM_FORMING
