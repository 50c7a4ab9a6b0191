"""The household trajectory workflow of DESIGN.md section 3, as plain declarations.

States, triggers, guards, checklist items, the screening rule and the deadline rules live here;
nothing of Flask, Celery or a database session. The services build a :class:`TrajectoryFacts`
from the database row, ask this module to fire a trigger, and write back what it returns. The
database row stays the source of truth; this module only decides.

Every guard returns the list of its unmet conditions in plain words, so a refused trigger can
say exactly what is missing instead of a bare "not allowed". Each condition is a
:class:`~mda.services.messages.Text` (English, and said in Dutch on Dutch pages); states,
triggers and checklist items in them are terms that the pages show by their labels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from mda.services.clock import today_nl
from mda.services.messages import Text, msg, term
from mda.vocabulary import ChildrenBucket, ClosureReason, DeadlineKind, TrajectoryState
from mda.workflows.binding import SharedMachine

S = TrajectoryState

STATE_LABELS: dict[TrajectoryState, str] = {
    S.REFERRED: "Aangemeld",
    S.SCREENING: "Toetsing criteria MDA++",
    S.TEAM_FORMING: "Teamvorming en commitment",
    S.IMMEDIATE_SAFETY: "Directe veiligheid",
    S.RISK_CARE: "Risicogestuurde zorg",
    S.RECOVERY: "Herstel",
    S.AFTERCARE: "Nazorg en monitoring",
    S.CLOSED: "Afgesloten",
}


@dataclass(frozen=True)
class ChecklistSpec:
    key: str
    label: str


# Building block 2: the national criteria, recorded as met (True) or not met (False).
SCREENING_CRITERIA: tuple[ChecklistSpec, ...] = (
    ChecklistSpec("multiple_life_domains", "Problems in several life domains"),
    ChecklistSpec("interrelated_problems", "The problems are interrelated"),
    ChecklistSpec("intergenerational", "Violence passes from generation to generation"),
    ChecklistSpec("severe_or_persistent", "The violence is severe or persistent"),
    ChecklistSpec("needs_care_and_justice", "Care and justice are both needed"),
)

CHECKLISTS: dict[TrajectoryState, tuple[ChecklistSpec, ...]] = {
    S.SCREENING: SCREENING_CRITERIA,
    S.TEAM_FORMING: (
        ChecklistSpec("lead_assigned", "A lead professional is assigned"),
        ChecklistSpec(
            "disciplines_committed",
            "Disciplines committed: at least one care and one justice discipline",
        ),
        ChecklistSpec("partners_committed", "Partner organisations committed"),
        ChecklistSpec("initial_plan", "A first plan of approach is made"),
    ),
    S.IMMEDIATE_SAFETY: (
        ChecklistSpec("safety_conditions_set", "Safety conditions are set"),
        ChecklistSpec("safety_plan_made", "A safety plan is made"),
        ChecklistSpec("trauma_screening_considered", "Trauma screening is considered"),
    ),
    S.RISK_CARE: (
        ChecklistSpec("risk_assessment_done", "The risk assessment is done"),
        ChecklistSpec("plan_updated_for_risks", "The plan is updated for the risks"),
        ChecklistSpec("perpetrator_approach_considered", "A perpetrator approach is considered"),
    ),
    S.RECOVERY: (
        ChecklistSpec("recovery_support_started", "Recovery support has started"),
        ChecklistSpec("trauma_treatment_decided", "Trauma treatment is decided on"),
        ChecklistSpec("goals_evaluated", "The goals are evaluated"),
    ),
}

CHECKLIST_STATE: dict[str, TrajectoryState] = {
    spec.key: state for state, specs in CHECKLISTS.items() for spec in specs
}
CHECKLIST_LABELS: dict[str, str] = {
    spec.key: spec.label for specs in CHECKLISTS.values() for spec in specs
}
CRITERIA_KEYS = frozenset(spec.key for spec in SCREENING_CRITERIA)


@dataclass(frozen=True)
class ScreeningRule:
    """The inclusion rule: all of ``required`` met and at least ``min_others`` of ``others``."""

    required: tuple[str, ...] = ("multiple_life_domains", "interrelated_problems")
    others: tuple[str, ...] = (
        "intergenerational",
        "severe_or_persistent",
        "needs_care_and_justice",
    )
    min_others: int = 1

    @property
    def criteria(self) -> tuple[str, ...]:
        return self.required + self.others

    @classmethod
    def from_settings(
        cls, required: Iterable[str], others: Iterable[str], min_others: int
    ) -> ScreeningRule:
        """A rule from settings, refusing unknown criteria or an impossible minimum."""
        required, others = tuple(required), tuple(others)
        known = {spec.key for spec in SCREENING_CRITERIA}
        unknown = sorted((set(required) | set(others)) - known)
        if unknown:
            raise ValueError(
                f"unknown screening criteria {', '.join(unknown)}; use {', '.join(sorted(known))}"
            )
        if set(required) & set(others):
            raise ValueError("a screening criterion cannot be both required and optional")
        if not 0 <= min_others <= len(others):
            raise ValueError(f"the minimum of optional criteria must be 0 to {len(others)}")
        return cls(required=required, others=others, min_others=min_others)

    def as_data(self) -> dict[str, Any]:
        """The rule as JSON data, kept in an ``accept`` event so replay judges it the same."""
        return {
            "required": list(self.required),
            "others": list(self.others),
            "min_others": self.min_others,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ScreeningRule:
        """The rule :meth:`as_data` wrote (taken as recorded: the settings may have moved on)."""
        return cls(
            required=tuple(data["required"]),
            others=tuple(data["others"]),
            min_others=int(data["min_others"]),
        )

    def unmet(self, checklist: Mapping[str, bool | None]) -> list[Text]:
        unassessed = [key for key in self.criteria if checklist.get(key) is None]
        if unassessed:
            return [
                msg(
                    "criteria not yet assessed: %(criteria)s",
                    criteria=term("checklist", *unassessed),
                )
            ]
        problems = [
            msg("criterion %(criterion)s is not met", criterion=term("checklist", key))
            for key in self.required
            if not checklist[key]
        ]
        met_others = sum(1 for key in self.others if checklist[key])
        if met_others < self.min_others:
            problems.append(
                msg(
                    "at least %(minimum)d of %(criteria)s must be met (%(met)d met)",
                    minimum=self.min_others,
                    criteria=term("checklist", *self.others),
                    met=met_others,
                )
            )
        return problems


DEFAULT_SCREENING_RULE = ScreeningRule()
REOPEN_WINDOW = relativedelta(months=12)


@dataclass
class TrajectoryFacts:
    """What the workflow needs to know about one trajectory: a plain object, no database."""

    state: TrajectoryState = S.REFERRED
    version: int = 0
    region: str | None = None
    coordinator_id: int | None = None
    checklist: dict[str, bool | None] = field(default_factory=dict)
    measurements: set[int] = field(default_factory=set)
    children: str = ChildrenBucket.NONE.value
    closure_reason: ClosureReason | None = None
    referred_back_to: str | None = None
    closed_at: datetime | None = None
    suspended: bool = False
    relapses: int = 0
    reentries: int = 0
    # Whether the trajectory was ever accepted after screening (only such can be reopened).
    accepted: bool = False

    def done(self, key: str) -> bool:
        return self.checklist.get(key) is True

    def snapshot(self) -> dict[str, Any]:
        """A comparable summary (used to check that replaying events gives the same result)."""
        return {
            "state": self.state.value,
            "version": self.version,
            "region": self.region,
            "coordinator_id": self.coordinator_id,
            "checklist": {k: v for k, v in sorted(self.checklist.items()) if v is not None},
            "measurements": sorted(self.measurements),
            "children": self.children,
            "closure_reason": None if self.closure_reason is None else self.closure_reason.value,
            "referred_back_to": self.referred_back_to,
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
            "suspended": self.suspended,
            "relapses": self.relapses,
            "reentries": self.reentries,
            "accepted": self.accepted,
        }


@dataclass(frozen=True)
class DeadlineChanges:
    """Deadline kinds a change opens, meets or cancels (rows are written by the services)."""

    open: tuple[DeadlineKind, ...] = ()
    meet: tuple[DeadlineKind, ...] = ()
    cancel: tuple[DeadlineKind, ...] = ()


@dataclass(frozen=True)
class Transition:
    """The outcome of an accepted trigger."""

    trigger: str
    source: TrajectoryState
    dest: TrajectoryState
    params: dict[str, Any]
    deadlines: DeadlineChanges
    reset_checklist: tuple[str, ...] = ()


class Refused(Exception):
    """A trigger that cannot fire now; ``unmet`` lists every unmet condition in plain words."""

    def __init__(self, trigger: str, unmet: list[Text]) -> None:
        super().__init__(f"{trigger}: " + "; ".join(unmet))
        self.trigger = trigger
        self.unmet = unmet


# --- guards: each returns its unmet conditions ------------------------------------------


def _checklist_unmet(facts: TrajectoryFacts, keys: Iterable[str]) -> list[Text]:
    return [
        msg("checklist item %(item)s is not done", item=term("checklist", key))
        for key in keys
        if not facts.done(key)
    ]


def _closure_reason(value: Any) -> tuple[ClosureReason | None, Text | None]:
    if value is None or value == "":
        return None, None
    try:
        return ClosureReason(value), None
    except ValueError:
        known = ", ".join(r.value for r in ClosureReason)
        return None, msg(
            "%(field)s %(value)r is not one of %(known)s",
            field=term("field", "closure_reason"),
            value=value,
            known=known,
        )


def coordinator_assigned(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    return [] if facts.coordinator_id is not None else [msg("no coordinator is assigned")]


def criteria_assessed_and_included(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    rule: ScreeningRule = params.get("screening_rule") or DEFAULT_SCREENING_RULE
    return rule.unmet(facts.checklist)


def declined_with_referral_back(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    unmet = []
    reason, problem = _closure_reason(params.get("closure_reason") or ClosureReason.NOT_ELIGIBLE)
    if problem:
        unmet.append(problem)
    elif reason is not ClosureReason.NOT_ELIGIBLE:
        unmet.append(
            msg(
                "a declined referral closes with closure_reason %(reason)s",
                reason=term("closure_reason", ClosureReason.NOT_ELIGIBLE),
            )
        )
    if not (params.get("referred_back_to") or "").strip():
        unmet.append(
            msg("referred_back_to is missing: say where the household is referred back to")
        )
    return unmet


def team_formed(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    return _checklist_unmet(facts, (s.key for s in CHECKLISTS[S.TEAM_FORMING]))


def safety_established(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    unmet = _checklist_unmet(facts, (s.key for s in CHECKLISTS[S.IMMEDIATE_SAFETY]))
    if 1 not in facts.measurements:
        unmet.append(msg("safety measurement 1 is not recorded"))
    return unmet


def risks_addressed(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    return _checklist_unmet(facts, (s.key for s in CHECKLISTS[S.RISK_CARE]))


def recovery_completed(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    return _checklist_unmet(facts, (s.key for s in CHECKLISTS[S.RECOVERY]))


def incident_date_given(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    incident = params.get("incident_date")
    if incident is None:
        return [msg("incident_date is missing: give the date of the incident")]
    if not isinstance(incident, date) or isinstance(incident, datetime):
        return [msg("incident_date must be a date")]
    now = params.get("now")
    # The Dutch date: at 00:30 in Amsterdam, UTC is still on the day before.
    if now is not None and incident > today_nl(now):
        return [msg("incident_date lies in the future")]
    return []


def closure_reason_fits(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    reason, problem = _closure_reason(params.get("closure_reason"))
    if problem:
        return [problem]
    if reason is None:
        return [msg("closure_reason is missing")]
    if reason is ClosureReason.GOALS_MET and facts.state is not S.AFTERCARE:
        return [
            msg(
                "closure_reason %(reason)s is only possible from %(state)s",
                reason=term("closure_reason", ClosureReason.GOALS_MET),
                state=term("state", S.AFTERCARE),
            )
        ]
    return []


def reopen_allowed(facts: TrajectoryFacts, params: dict[str, Any]) -> list[Text]:
    unmet = []
    if facts.closure_reason is ClosureReason.NOT_ELIGIBLE:
        unmet.append(
            msg(
                "a trajectory closed as %(reason)s cannot be reopened",
                reason=term("closure_reason", ClosureReason.NOT_ELIGIBLE),
            )
        )
    elif not facts.accepted:
        # Reopening leads straight into immediate safety: it must not skip the intake.
        unmet.append(
            msg(
                "it was closed before it was accepted after screening; only an accepted "
                "trajectory can be reopened: register a new referral"
            )
        )
    now = params.get("now")
    if facts.closed_at is not None and now is not None and now > facts.closed_at + REOPEN_WINDOW:
        unmet.append(msg("it was closed more than 12 months ago; register a new referral"))
    return unmet


GuardFn = Callable[[TrajectoryFacts, dict[str, Any]], list[Text]]

# trigger -> (sources, dest, guard). The guard's name is shown in the diagram.
TRIGGERS: dict[str, tuple[tuple[TrajectoryState, ...], TrajectoryState, GuardFn]] = {
    "start_screening": ((S.REFERRED,), S.SCREENING, coordinator_assigned),
    "accept": ((S.SCREENING,), S.TEAM_FORMING, criteria_assessed_and_included),
    "decline": ((S.SCREENING,), S.CLOSED, declined_with_referral_back),
    "form_team": ((S.TEAM_FORMING,), S.IMMEDIATE_SAFETY, team_formed),
    "safety_established": ((S.IMMEDIATE_SAFETY,), S.RISK_CARE, safety_established),
    "risks_addressed": ((S.RISK_CARE,), S.RECOVERY, risks_addressed),
    "recovery_completed": ((S.RECOVERY,), S.AFTERCARE, recovery_completed),
    "relapse": ((S.RISK_CARE, S.RECOVERY, S.AFTERCARE), S.IMMEDIATE_SAFETY, incident_date_given),
    "close": (tuple(s for s in S if s is not S.CLOSED), S.CLOSED, closure_reason_fits),
    "reopen": ((S.CLOSED,), S.IMMEDIATE_SAFETY, reopen_allowed),
}
TRIGGER_NAMES: tuple[str, ...] = tuple(TRIGGERS)
# Triggers still possible while a trajectory is suspended.
ALLOWED_WHILE_SUSPENDED = frozenset({"close"})

# --- deadline rules (DESIGN.md section 4) -----------------------------------------------

K = DeadlineKind
ACTIVE_CARE = frozenset({S.IMMEDIATE_SAFETY, S.RISK_CARE, S.RECOVERY})
# What a trajectory's open deadlines mean while it sits in a state: met when it leaves.
MET_ON_LEAVING: dict[TrajectoryState, tuple[DeadlineKind, ...]] = {
    S.SCREENING: (K.SCREENING_DUE,),
    S.TEAM_FORMING: (K.TEAM_DUE,),
    S.IMMEDIATE_SAFETY: (K.SAFETY_PLAN_DUE, K.PHASE_OVERRUN),
}
# Met when the checklist item is ticked done.
MET_BY_CHECKLIST: dict[str, DeadlineKind] = {"safety_plan_made": K.SAFETY_PLAN_DUE}
# Met when the measurement with this number is recorded.
MET_BY_MEASUREMENT: dict[int, DeadlineKind] = {
    1: K.MEASUREMENT_1_DUE,
    2: K.MEASUREMENT_2_DUE,
    3: K.MEASUREMENT_3_DUE,
}
# Opened when measurement 1 is recorded.
OPENED_BY_MEASUREMENT: dict[int, tuple[DeadlineKind, ...]] = {
    1: (K.MEASUREMENT_2_DUE, K.MEASUREMENT_3_DUE),
}
OPENED_ON_REGISTRATION: tuple[DeadlineKind, ...] = (K.SCREENING_DUE,)


def deadline_changes(
    trigger: str,
    source: TrajectoryState,
    dest: TrajectoryState,
    facts: TrajectoryFacts,
    closure_reason: ClosureReason | None = None,
) -> DeadlineChanges:
    """Which deadlines a transition opens, meets and cancels; ``facts`` is the state before."""
    opened: list[DeadlineKind] = []
    met: list[DeadlineKind] = []
    cancelled: list[DeadlineKind] = []
    if dest is S.CLOSED:
        # Closing ends every obligation: the ones still open are cancelled, not met, so the
        # statistics on deadlines met stay honest. Finding the household not eligible
        # concludes the screening, though (decline, or close as not_eligible).
        if trigger == "decline" or (
            source is S.SCREENING and closure_reason is ClosureReason.NOT_ELIGIBLE
        ):
            met.append(K.SCREENING_DUE)
        cancelled.extend(k for k in K if k not in met)
        return DeadlineChanges(tuple(opened), tuple(met), tuple(cancelled))
    met.extend(MET_ON_LEAVING.get(source, ()))
    if dest is S.TEAM_FORMING:
        opened.append(K.TEAM_DUE)
    if dest is S.IMMEDIATE_SAFETY:
        opened.extend((K.SAFETY_PLAN_DUE, K.PHASE_OVERRUN))
        if 1 not in facts.measurements:
            opened.append(K.MEASUREMENT_1_DUE)
        elif trigger == "reopen":
            # Closing cancelled the follow-up measurements: the ones not yet recorded are due
            # again, still counted from measurement 1 (the services give the start).
            opened.extend(
                kind
                for number, kind in MET_BY_MEASUREMENT.items()
                if kind in OPENED_BY_MEASUREMENT.get(1, ()) and number not in facts.measurements
            )
        if trigger == "relapse" and facts.children != ChildrenBucket.NONE.value:
            # "Handle with care": the school is told within 24 hours.
            opened.append(K.SCHOOL_NOTICE_DUE)
    if dest in ACTIVE_CARE:
        # The plan is reviewed with every change of phase; a fresh six-week cycle starts.
        if source in ACTIVE_CARE:
            met.append(K.PLAN_REVIEW_DUE)
        else:
            cancelled.append(K.PLAN_REVIEW_DUE)
        opened.append(K.PLAN_REVIEW_DUE)
    elif source in ACTIVE_CARE:
        met.append(K.PLAN_REVIEW_DUE)
    return DeadlineChanges(tuple(opened), tuple(met), tuple(cancelled))


# --- the machine ------------------------------------------------------------------------


class _Bound:
    """The adapter the shared machine fires on: the facts and parameters of the current call.

    One per thread, made once and reused (see :func:`_adapter`): a call sets its facts and
    parameters, fires, reads ``unmet`` and lets go of them.
    """

    def __init__(self) -> None:
        self.facts: TrajectoryFacts | None = None
        self.params: dict[str, Any] = {}
        self.unmet: list[Text] = []

    def use(self, facts: TrajectoryFacts | None, params: dict[str, Any]) -> None:
        self.facts, self.params, self.unmet = facts, params, []

    @property
    def state(self) -> str:
        assert self.facts is not None
        return self.facts.state.value

    @state.setter
    def state(self, value: str) -> None:
        assert self.facts is not None
        self.facts.state = TrajectoryState(value)


def _condition(guard: GuardFn) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        bound: _Bound = event.model
        assert bound.facts is not None
        bound.unmet = _unmet(bound.facts, event.event.name, guard, bound.params)
        return not bound.unmet

    condition.__name__ = guard.__name__
    return condition


def _unmet(
    facts: TrajectoryFacts, trigger: str, guard: GuardFn, params: dict[str, Any]
) -> list[Text]:
    unmet = []
    if facts.suspended and trigger not in ALLOWED_WHILE_SUSPENDED:
        unmet.append(msg("the trajectory is suspended; resume it first"))
    return unmet + guard(facts, params)


def _definitions() -> list[dict[str, Any]]:
    return [
        {
            "trigger": name,
            "source": [s.value for s in sources],
            "dest": dest.value,
            "conditions": [_condition(guard)],
        }
        for name, (sources, dest, guard) in TRIGGERS.items()
    ]


MACHINE = SharedMachine([s.value for s in S], _definitions())
_ADAPTERS = threading.local()


def _adapter() -> _Bound:
    """This thread's adapter (threads never share one: each call owns it while it fires)."""
    adapter: _Bound | None = getattr(_ADAPTERS, "adapter", None)
    if adapter is None:
        adapter = _ADAPTERS.adapter = _Bound()
    return adapter


def unmet_conditions(facts: TrajectoryFacts, trigger: str, **params: Any) -> list[Text]:
    """Every unmet condition for ``trigger`` now (empty: it may fire)."""
    if trigger not in TRIGGERS:
        return [msg("unknown trigger; use one of %(triggers)s", triggers=", ".join(TRIGGER_NAMES))]
    sources, _dest, guard = TRIGGERS[trigger]
    if facts.state not in sources:
        return [
            msg(
                "only possible from %(sources)s; the trajectory is %(state)s",
                sources=term("state", *sources),
                state=term("state", facts.state),
            )
        ]
    return _unmet(facts, trigger, guard, params)


def fire(facts: TrajectoryFacts, trigger: str, *, now: datetime, **params: Any) -> Transition:
    """Fire ``trigger`` on ``facts`` (changed in place) or raise :class:`Refused`.

    ``params`` carries the trigger's inputs: ``closure_reason``, ``referred_back_to``,
    ``incident_date``, and optionally ``screening_rule``.
    """
    params = {k: v for k, v in params.items() if v is not None}
    params["now"] = now
    unmet = unmet_conditions(facts, trigger, **params)
    if unmet:
        raise Refused(trigger, unmet)
    source = facts.state
    before = TrajectoryFacts(
        **{
            **facts.__dict__,
            "measurements": set(facts.measurements),
            "checklist": {**facts.checklist},
        }
    )
    bound = _adapter()
    bound.use(facts, params)
    try:
        accepted = MACHINE.fire(bound, trigger)
        unmet = bound.unmet
    finally:
        bound.use(None, {})  # hold on to no call's facts
    if not accepted:  # the guard said no after all (it cannot, but never move silently)
        raise Refused(trigger, unmet or [msg("refused")])
    dest = facts.state
    reset: tuple[str, ...] = ()
    if dest is S.CLOSED:
        reason = params.get("closure_reason") or ClosureReason.NOT_ELIGIBLE
        facts.closure_reason = ClosureReason(reason)
        facts.closed_at = now
        facts.suspended = False  # closing ends a suspension
        if trigger == "decline":
            facts.referred_back_to = params["referred_back_to"].strip()
    if trigger in ("relapse", "reopen"):
        # Back in immediate safety the safety checklist must be confirmed again.
        reset = tuple(spec.key for spec in CHECKLISTS[S.IMMEDIATE_SAFETY])
        for key in reset:
            facts.checklist.pop(key, None)
    if trigger == "accept":
        facts.accepted = True
    if trigger == "relapse":
        facts.relapses += 1
    if trigger == "reopen":
        facts.reentries += 1
        facts.closure_reason = None
        facts.closed_at = None
        facts.referred_back_to = None
    return Transition(
        trigger=trigger,
        source=source,
        dest=dest,
        params={k: v for k, v in params.items() if k not in ("now", "screening_rule")},
        deadlines=deadline_changes(trigger, source, dest, before, facts.closure_reason),
        reset_checklist=reset,
    )


def checklist_allowed(facts: TrajectoryFacts, key: str) -> list[Text]:
    """Problems with changing checklist item ``key`` now (empty: allowed)."""
    if key not in CHECKLIST_STATE:
        return [msg("unknown checklist item %(key)r", key=key)]
    state = CHECKLIST_STATE[key]
    if facts.state is S.CLOSED:
        return [msg("the trajectory is closed")]
    if facts.suspended:
        return [msg("the trajectory is suspended; resume it first")]
    if state is not facts.state:
        return [
            msg(
                "checklist item %(item)s belongs to %(state)s; the trajectory is %(current)s",
                item=term("checklist", key),
                state=term("state", state),
                current=term("state", facts.state),
            )
        ]
    return []


def checklist_for(state: TrajectoryState) -> tuple[ChecklistSpec, ...]:
    return CHECKLISTS.get(state, ())


# --- replay -----------------------------------------------------------------------------


def apply_event(facts: TrajectoryFacts, event: Mapping[str, Any]) -> None:
    """Apply one logged event (as written by the services) to ``facts``.

    Transitions are fired again through the machine, so a log that the workflow would not
    accept (an event lost, doubled or reordered) fails loudly instead of replaying quietly.
    """
    kind = event["kind"]
    data = event.get("data") or {}
    if kind == "registered":
        facts.state = TrajectoryState(event["to_state"])
        facts.region = data.get("region")
        facts.children = data.get("children", facts.children)
        facts.coordinator_id = data.get("coordinator_id")
    elif kind == "transition":
        params = dict(data.get("params") or {})
        if "incident_date" in params:
            params["incident_date"] = date.fromisoformat(params["incident_date"])
        if data.get("screening_rule"):
            # Judged again by the rule it was accepted under, not today's default.
            params["screening_rule"] = ScreeningRule.from_data(data["screening_rule"])
        fire(facts, event["trigger"], now=event["at"], **params)
        if facts.state.value != event["to_state"]:
            raise Refused(
                event["trigger"],
                [msg("replay reached %(state)s", state=term("state", facts.state))],
            )
    elif kind == "checklist":
        if data.get("done") is None:
            facts.checklist.pop(data["key"], None)
        else:
            facts.checklist[data["key"]] = data["done"]
    elif kind == "measurement":
        facts.measurements.add(data["number"])
    elif kind == "coordinator":
        facts.coordinator_id = data.get("coordinator_id")
    elif kind == "suspended":
        facts.suspended = True
    elif kind == "resumed":
        facts.suspended = False
    elif kind == "transferred":
        facts.region = data.get("to_region", facts.region)
        # A coordinator who does not work in the new region was unassigned.
        facts.coordinator_id = data.get("coordinator_id", facts.coordinator_id)
    elif kind in ("deadline_met", "deadline_acknowledged"):
        pass  # a deadline met or acknowledged by hand: deadlines are not workflow facts
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    facts.version = event.get("seq") or facts.version + 1


def replay(events: Iterable[Mapping[str, Any]]) -> TrajectoryFacts:
    """The facts that a sequence of events (in ``seq`` order) leads to."""
    facts = TrajectoryFacts()
    for event in events:
        apply_event(facts, event)
    return facts


def diagram(fmt: str = "mermaid") -> str | bytes:
    """The trajectory workflow as mermaid text or SVG, drawn from the definitions above."""
    return MACHINE.diagram("MDA++ household trajectory", fmt)
