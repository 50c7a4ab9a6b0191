"""The trajectory workflow on plain objects: every trigger from every state, guards, replay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mda.vocabulary import ClosureReason, DeadlineKind, TrajectoryState
from mda.workflows import trajectory as wf

S = TrajectoryState
NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
ALL_TRIGGERS = list(wf.TRIGGERS)
DESTINATION = {name: dest for name, (_src, dest, _g) in wf.TRIGGERS.items()}


def ready(state: S, **changes) -> wf.TrajectoryFacts:
    """Facts in ``state`` with every checklist item done and measurement 1 recorded."""
    facts = wf.TrajectoryFacts(
        state=state,
        coordinator_id=7,
        checklist={key: True for key in wf.CHECKLIST_STATE},
        measurements={1},
        children="2",
        # Past the intake (or closed after it): accepted after screening.
        accepted=state not in (S.REFERRED, S.SCREENING),
    )
    if state is S.CLOSED:
        facts.closure_reason = ClosureReason.HOUSEHOLD_WITHDREW
        facts.closed_at = NOW - timedelta(days=30)
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def good_params(trigger: str, state: S) -> dict:
    return {
        "decline": {"referred_back_to": "wijkteam"},
        "relapse": {"incident_date": date(2024, 3, 1)},
        "close": {"closure_reason": "goals_met" if state is S.AFTERCARE else "stepped_down"},
    }.get(trigger, {})


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("trigger", ALL_TRIGGERS)
def test_every_trigger_from_every_state(state, trigger):
    sources = wf.TRIGGERS[trigger][0]
    facts = ready(state)
    before = facts.snapshot()
    if state in sources:
        transition = wf.fire(facts, trigger, now=NOW, **good_params(trigger, state))
        assert facts.state is DESTINATION[trigger] is transition.dest
        assert transition.source is state
    else:
        with pytest.raises(wf.Refused) as refused:
            wf.fire(facts, trigger, now=NOW, **good_params(trigger, state))
        assert refused.value.unmet == [
            f"only possible from {', '.join(s.value for s in sources)}; "
            f"the trajectory is {state.value}"
        ]
        assert facts.snapshot() == before


# For each allowed (trigger, state): facts and params that break the guard, and the words.
BROKEN = {
    "start_screening": ({"coordinator_id": None}, {}, ["no coordinator is assigned"]),
    "accept": ({"checklist": {}}, {}, ["criteria not yet assessed: multiple_life_domains"]),
    "decline": ({}, {}, ["referred_back_to is missing"]),
    "form_team": ({"checklist": {}}, {}, ["checklist item lead_assigned is not done"]),
    "safety_established": (
        {"checklist": {}, "measurements": set()},
        {},
        ["checklist item safety_conditions_set is not done", "measurement 1 is not recorded"],
    ),
    "risks_addressed": ({"checklist": {}}, {}, ["risk_assessment_done is not done"]),
    "recovery_completed": ({"checklist": {}}, {}, ["goals_evaluated is not done"]),
    "relapse": ({}, {}, ["incident_date is missing"]),
    "close": ({}, {}, ["closure_reason is missing"]),
    "reopen": (
        {"closure_reason": ClosureReason.NOT_ELIGIBLE},
        {},
        ["closed as not_eligible cannot be reopened"],
    ),
}


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(s, t) for t, (sources, _d, _g) in wf.TRIGGERS.items() for s in sources],
)
def test_refused_trigger_names_every_unmet_condition_and_changes_nothing(state, trigger):
    changes, params, expected = BROKEN[trigger]
    facts = ready(state, **changes)
    before = facts.snapshot()
    with pytest.raises(wf.Refused) as refused:
        wf.fire(facts, trigger, now=NOW, **params)
    text = "; ".join(refused.value.unmet)
    for words in expected:
        assert words in text
    assert facts.snapshot() == before


def test_screening_inclusion_rule():
    criteria = [spec.key for spec in wf.SCREENING_CRITERIA]
    facts = ready(S.SCREENING, checklist=dict.fromkeys(criteria, False))
    unmet = wf.unmet_conditions(facts, "accept")
    assert "criterion multiple_life_domains is not met" in unmet
    assert "criterion interrelated_problems is not met" in unmet
    assert any("at least 1 of" in u for u in unmet)
    facts.checklist.update(multiple_life_domains=True, interrelated_problems=True)
    assert any("at least 1 of" in u for u in wf.unmet_conditions(facts, "accept"))
    facts.checklist["intergenerational"] = True
    assert wf.unmet_conditions(facts, "accept") == []
    # Configurable: a stricter rule is passed in.
    strict = wf.ScreeningRule(min_others=2)
    assert wf.unmet_conditions(facts, "accept", screening_rule=strict) == [
        "at least 2 of intergenerational, severe_or_persistent, needs_care_and_justice must be"
        " met (1 met)"
    ]


def test_a_partly_assessed_screening_names_the_unassessed_criteria():
    facts = ready(S.SCREENING, checklist={"multiple_life_domains": True})
    assert wf.unmet_conditions(facts, "accept") == [
        "criteria not yet assessed: interrelated_problems, intergenerational, "
        "severe_or_persistent, needs_care_and_justice"
    ]


def test_goals_met_only_from_aftercare():
    facts = ready(S.RECOVERY)
    assert wf.unmet_conditions(facts, "close", closure_reason="goals_met") == [
        "closure_reason goals_met is only possible from aftercare"
    ]
    assert wf.unmet_conditions(facts, "close", closure_reason="nonsense")[0].startswith(
        "closure_reason 'nonsense' is not one of"
    )
    wf.fire(facts, "close", now=NOW, closure_reason="moved_out_of_region")
    assert facts.closure_reason is ClosureReason.MOVED_OUT_OF_REGION
    assert facts.closed_at == NOW


def test_decline_closes_as_not_eligible_and_remembers_where_to():
    facts = ready(S.SCREENING)
    assert wf.unmet_conditions(facts, "decline", closure_reason="other", referred_back_to="x") == [
        "a declined referral closes with closure_reason not_eligible"
    ]
    wf.fire(facts, "decline", now=NOW, referred_back_to=" wijkteam ")
    assert facts.closure_reason is ClosureReason.NOT_ELIGIBLE
    assert facts.referred_back_to == "wijkteam"
    assert wf.unmet_conditions(facts, "reopen", now=NOW) == [
        "a trajectory closed as not_eligible cannot be reopened"
    ]


def test_reopen_within_twelve_months_counts_as_reentry():
    facts = ready(S.CLOSED, closed_at=NOW - timedelta(days=364))
    wf.fire(facts, "reopen", now=NOW)
    assert facts.state is S.IMMEDIATE_SAFETY
    assert facts.reentries == 1
    assert facts.closure_reason is None
    late = ready(S.CLOSED, closed_at=NOW - timedelta(days=367))
    assert wf.unmet_conditions(late, "reopen", now=NOW) == [
        "it was closed more than 12 months ago; register a new referral"
    ]


def test_reopen_refuses_a_trajectory_closed_before_it_was_accepted():
    # Closed while still referred (the household withdrew): reopening would skip the intake.
    facts = ready(S.REFERRED)
    wf.fire(facts, "close", now=NOW, closure_reason="household_withdrew")
    assert not facts.accepted
    assert wf.unmet_conditions(facts, "reopen", now=NOW) == [
        "it was closed before it was accepted after screening; only an accepted trajectory "
        "can be reopened: register a new referral"
    ]
    # Accepted, then closed: it may come back.
    accepted = ready(S.SCREENING)
    wf.fire(accepted, "accept", now=NOW)
    assert accepted.accepted
    wf.fire(accepted, "close", now=NOW, closure_reason="household_withdrew")
    assert wf.unmet_conditions(accepted, "reopen", now=NOW) == []


def test_close_from_screening_as_not_eligible_is_allowed_and_concludes_the_screening():
    facts = ready(S.SCREENING)
    transition = wf.fire(facts, "close", now=NOW, closure_reason="not_eligible")
    assert facts.state is S.CLOSED
    assert facts.closure_reason is ClosureReason.NOT_ELIGIBLE
    assert transition.deadlines.meet == (DeadlineKind.SCREENING_DUE,)
    assert DeadlineKind.SCREENING_DUE not in transition.deadlines.cancel
    assert wf.unmet_conditions(facts, "reopen", now=NOW) == [
        "a trajectory closed as not_eligible cannot be reopened"
    ]


@pytest.mark.parametrize(
    ("measurements", "expected"),
    [
        (set(), {DeadlineKind.MEASUREMENT_1_DUE}),
        ({1}, {DeadlineKind.MEASUREMENT_2_DUE, DeadlineKind.MEASUREMENT_3_DUE}),
        ({1, 2}, {DeadlineKind.MEASUREMENT_3_DUE}),
        ({1, 2, 3}, set()),
    ],
)
def test_reopen_restores_the_measurements_not_yet_recorded(measurements, expected):
    transition = wf.fire(ready(S.CLOSED, measurements=measurements), "reopen", now=NOW)
    measuring = {k for k in transition.deadlines.open if k.value.startswith("measurement_")}
    assert measuring == expected


def test_relapse_needs_the_safety_checklist_again():
    facts = ready(S.RECOVERY)
    transition = wf.fire(facts, "relapse", now=NOW, incident_date=date(2024, 3, 10))
    assert facts.state is S.IMMEDIATE_SAFETY
    assert facts.relapses == 1
    assert set(transition.reset_checklist) == {
        "safety_conditions_set",
        "safety_plan_made",
        "trauma_screening_considered",
    }
    assert wf.unmet_conditions(facts, "safety_established") == [
        "checklist item safety_conditions_set is not done",
        "checklist item safety_plan_made is not done",
        "checklist item trauma_screening_considered is not done",
    ]
    assert wf.unmet_conditions(
        ready(S.RISK_CARE), "relapse", incident_date=date(2024, 3, 13), now=NOW
    ) == ["incident_date lies in the future"]


def test_suspended_trajectory_only_closes():
    facts = ready(S.REFERRED, suspended=True)
    assert "the trajectory is suspended; resume it first" in wf.unmet_conditions(
        facts, "start_screening"
    )
    wf.fire(facts, "close", now=NOW, closure_reason="household_withdrew")
    assert facts.state is S.CLOSED and not facts.suspended


def test_unknown_trigger_is_refused_with_the_known_ones():
    with pytest.raises(wf.Refused) as refused:
        wf.fire(ready(S.REFERRED), "jump", now=NOW)
    assert "start_screening" in refused.value.unmet[0]


@pytest.mark.parametrize(
    ("trigger", "state", "children", "opened", "met", "cancelled"),
    [
        ("accept", S.SCREENING, "0", {DeadlineKind.TEAM_DUE}, {DeadlineKind.SCREENING_DUE}, set()),
        (
            "form_team",
            S.TEAM_FORMING,
            "0",
            {
                DeadlineKind.SAFETY_PLAN_DUE,
                DeadlineKind.PHASE_OVERRUN,
                DeadlineKind.PLAN_REVIEW_DUE,
            },
            {DeadlineKind.TEAM_DUE},
            {DeadlineKind.PLAN_REVIEW_DUE},
        ),
        (
            "relapse",
            S.RISK_CARE,
            "2",
            {
                DeadlineKind.SAFETY_PLAN_DUE,
                DeadlineKind.PHASE_OVERRUN,
                DeadlineKind.PLAN_REVIEW_DUE,
                DeadlineKind.SCHOOL_NOTICE_DUE,
            },
            {DeadlineKind.PLAN_REVIEW_DUE},
            set(),
        ),
        (
            "relapse",
            S.RISK_CARE,
            "0",
            {
                DeadlineKind.SAFETY_PLAN_DUE,
                DeadlineKind.PHASE_OVERRUN,
                DeadlineKind.PLAN_REVIEW_DUE,
            },
            {DeadlineKind.PLAN_REVIEW_DUE},
            set(),
        ),
        (
            "recovery_completed",
            S.RECOVERY,
            "1",
            set(),
            {DeadlineKind.PLAN_REVIEW_DUE},
            set(),
        ),
    ],
)
def test_deadline_rules(trigger, state, children, opened, met, cancelled):
    facts = ready(state, children=children)
    transition = wf.fire(facts, trigger, now=NOW, **good_params(trigger, state))
    assert set(transition.deadlines.open) == opened
    assert set(transition.deadlines.meet) == met
    assert set(transition.deadlines.cancel) == cancelled


def test_form_team_opens_measurement_1_only_before_it_is_recorded():
    first = wf.fire(ready(S.TEAM_FORMING, measurements=set()), "form_team", now=NOW)
    assert DeadlineKind.MEASUREMENT_1_DUE in first.deadlines.open
    again = wf.fire(ready(S.CLOSED), "reopen", now=NOW)
    assert DeadlineKind.MEASUREMENT_1_DUE not in again.deadlines.open


def test_closing_cancels_every_open_deadline():
    transition = wf.fire(ready(S.RISK_CARE), "close", now=NOW, closure_reason="other")
    assert set(transition.deadlines.cancel) == set(DeadlineKind)
    declined = wf.fire(ready(S.SCREENING), "decline", now=NOW, referred_back_to="huisarts")
    assert declined.deadlines.meet == (DeadlineKind.SCREENING_DUE,)


def test_replay_reproduces_the_facts_and_refuses_a_broken_log():
    events = [
        {"kind": "registered", "to_state": "referred", "data": {"coordinator_id": 3}},
        {"kind": "transition", "trigger": "start_screening", "to_state": "screening", "at": NOW},
        *[
            {"kind": "checklist", "data": {"key": key, "done": True}}
            for key in ("multiple_life_domains", "interrelated_problems", "intergenerational")
        ],
        *[
            {"kind": "checklist", "data": {"key": key, "done": False}}
            for key in ("severe_or_persistent", "needs_care_and_justice")
        ],
        {"kind": "transition", "trigger": "accept", "to_state": "team_forming", "at": NOW},
        {"kind": "suspended"},
        {
            "kind": "transition",
            "trigger": "close",
            "to_state": "closed",
            "at": NOW,
            "data": {"params": {"closure_reason": "household_withdrew"}},
        },
    ]
    facts = wf.replay(events)
    assert facts.state is S.CLOSED
    assert facts.closure_reason is ClosureReason.HOUSEHOLD_WITHDREW
    assert not facts.suspended
    # A log with the start_screening event lost cannot reach team_forming by accept.
    with pytest.raises(wf.Refused):
        wf.replay([events[0], events[7]])


def test_replay_judges_an_accept_by_the_rule_it_was_accepted_under():
    lenient = wf.ScreeningRule(min_others=0)
    events = [
        {"kind": "registered", "seq": 1, "to_state": "referred", "data": {"coordinator_id": 3}},
        {"kind": "transition", "trigger": "start_screening", "to_state": "screening", "at": NOW},
        *[
            {"kind": "checklist", "data": {"key": key, "done": key in lenient.required}}
            for key in lenient.criteria
        ],
        {
            "kind": "transition",
            "trigger": "accept",
            "to_state": "team_forming",
            "at": NOW,
            "data": {"screening_rule": lenient.as_data()},
        },
    ]
    facts = wf.replay(events)
    assert facts.state is S.TEAM_FORMING
    assert facts.accepted
    assert facts.version == 8
    # Without the rule in the event, the default rule refuses what was validly accepted.
    del events[-1]["data"]
    with pytest.raises(wf.Refused):
        wf.replay(events)


def test_replay_follows_a_transfer_that_unassigned_the_coordinator():
    events = [
        {
            "kind": "registered",
            "to_state": "referred",
            "data": {"region": "UTR", "coordinator_id": 3},
        },
        {"kind": "transferred", "data": {"from_region": "UTR", "to_region": "AMA"}},
        {
            "kind": "transferred",
            "data": {"from_region": "AMA", "to_region": "HGL", "coordinator_id": None},
        },
    ]
    facts = wf.replay(events[:2])
    assert (facts.region, facts.coordinator_id) == ("AMA", 3)
    facts = wf.replay(events)
    assert (facts.region, facts.coordinator_id, facts.version) == ("HGL", None, 3)


def test_the_machine_is_shared_and_thread_safe():
    import threading

    errors = []

    def work():
        try:
            for _ in range(200):
                facts = ready(S.REFERRED)
                wf.fire(facts, "start_screening", now=NOW)
                assert facts.state is S.SCREENING
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert wf.MACHINE.machine.models == []


def test_diagram_is_drawn_from_the_definitions():
    text = wf.diagram("mermaid")
    assert text.startswith("---")
    assert "stateDiagram-v2" in text
    for trigger, (sources, dest, guard) in wf.TRIGGERS.items():
        for source in sources:
            line = next(
                line
                for line in text.splitlines()
                if line.strip().startswith(f"{source.value} --> {dest.value}:")
            )
            assert f"{trigger} [{guard.__name__}]" in line
