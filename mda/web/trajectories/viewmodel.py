"""What the coordinator's pages show, built from the services' domain objects.

The trajectory page reuses the API's presenter (:func:`mda.web.api.presenters.trajectory_view`:
the checklist, the triggers with their unmet conditions, deadlines, measurements, events), so
the page and the API can never disagree about what is allowed now; this module adds what only
a page needs: labels, people's names, deadlines explained in words, "3 working days late".
Nothing here logs an access: the service that loaded the trajectory did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda.models import Region, Trajectory, User
from mda.services.context import Actor
from mda.services.deadlines import MET_BY_HAND
from mda.services.settings import settings_of
from mda.services.trajectories import current_facts, events_of
from mda.services.workdays import working_days_between
from mda.vocabulary import (
    STATE_PHASE,
    ClosureReason,
    DeadlineKind,
    DeadlineStatus,
    Role,
    TrajectoryState,
)
from mda.web.api.presenters import trajectory_view
from mda.web.i18n import choices, condition_texts, duration_text, label
from mda.workflows import trajectory as workflow

NL = ZoneInfo("Europe/Amsterdam")
#: Triggers that take input on the page, and the fields they post (the API's names).
TRIGGER_INPUTS: dict[str, tuple[str, ...]] = {
    "decline": ("referred_back_to", "reason"),
    "relapse": ("incident_date", "reason"),
    "close": ("closure_reason", "reason"),
    "reopen": ("reason",),
}

# A valid value for each input a trigger's form asks for (see ``trajectory_page``).
SAMPLE_INPUTS: dict[str, Callable[[TrajectoryState, datetime], dict[str, Any]]] = {
    "decline": lambda state, now: {"referred_back_to": "-"},
    "relapse": lambda state, now: {"incident_date": now.astimezone(NL).date()},
    "close": lambda state, now: {
        "closure_reason": "goals_met" if state is TrajectoryState.AFTERCARE else "other"
    },
}


def local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(NL)


def when(moment: datetime | None) -> str:
    """A moment as the Dutch wall clock shows it: 05-03-2026 14:30."""
    found = local(moment)
    return "" if found is None else found.strftime("%d-%m-%Y %H:%M")


def day(value: date | str | None) -> str:
    """A calendar date as 05-03-2026 (ISO strings from a computation too)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d-%m-%Y")


def today(session: Session) -> date:
    return settings_of(session).now().astimezone(NL).date()


def due_text(due_at: datetime | None, now: datetime) -> str:
    """How late or how soon a deadline is: "3 working days late", "in 2 days", "due today"."""
    if due_at is None:
        return ""
    due_day, today_ = due_at.astimezone(NL).date(), now.astimezone(NL).date()
    if due_at <= now:
        late = working_days_between(due_day, today_)
        if late == 0:
            return _("overdue since %(time)s", time=when(due_at))
        return ngettext("%(num)d working day late", "%(num)d working days late", late)
    days = (due_day - today_).days
    if days == 0:
        return _("due today at %(time)s", time=due_at.astimezone(NL).strftime("%H:%M"))
    if days == 1:
        return _("due tomorrow")
    return ngettext("in %(num)d day", "in %(num)d days", days)


def worklist_rows(rows: Iterable[Any], now: datetime) -> list[dict[str, Any]]:
    """The worklist's rows with their labels and due texts, each label translated once.

    A page repeats the same few states, phases and deadline kinds on every row: they are
    looked up once per page, not once per row (each look-up is a catalogue call).
    """
    labels: dict[tuple[str, Any], str] = {}

    def cached(kind: str, value: Any) -> str:
        key = (kind, value)
        found = labels.get(key)
        if found is None:
            found = labels[key] = label(kind, value)
        return found

    return [
        {
            "row": row,
            "state": cached("state", row.state),
            "phase": cached("phase", row.phase),
            "deadline": cached("deadline_kind", row.next_deadline_kind),
            "due_text": due_text(row.next_due_at, now),
            "due": when(row.next_due_at),
        }
        for row in rows
    ]


def explain_deadline(computation: dict[str, Any] | None) -> list[str]:
    """Why a deadline is due when it is, in sentences, from the row's ``computation``."""
    if not computation:
        return [_("How this deadline was computed was not recorded (an older deadline).")]
    lines = []
    rule = computation.get("rule")
    if computation.get("amount") is not None and computation.get("unit"):
        lines.append(
            _(
                "Rule: %(rule)s, due %(term)s after the start.",
                rule=label("deadline_kind", rule),
                term=duration_text(int(computation["amount"]), computation["unit"]),
            )
        )
    if computation.get("start"):
        lines.append(
            _("Counted from %(moment)s.", moment=when(datetime.fromisoformat(computation["start"])))
        )
    counted = computation.get("working_days") or []
    if counted:
        lines.append(
            ngettext(
                "%(num)d working day counted: %(first)s to %(last)s.",
                "%(num)d working days counted: %(first)s to %(last)s.",
                len(counted),
                first=day(counted[0]),
                last=day(counted[-1]),
            )
        )
    weekend = computation.get("weekend_days") or []
    if weekend:
        lines.append(
            ngettext(
                "%(num)d weekend day skipped: %(days)s.",
                "%(num)d weekend days skipped: %(days)s.",
                len(weekend),
                days=", ".join(day(d) for d in weekend),
            )
        )
    elif "weekend_days" in computation:
        lines.append(_("No weekend days skipped."))
    holidays = computation.get("holidays") or []
    if holidays:
        lines.append(
            ngettext(
                "%(num)d public holiday skipped: %(days)s.",
                "%(num)d public holidays skipped: %(days)s.",
                len(holidays),
                days=", ".join(f"{day(h['date'])} ({h['name']})" for h in holidays),
            )
        )
    elif "holidays" in computation:
        lines.append(_("No public holidays skipped."))
    moved = computation.get("moved_art_1")
    if moved:
        lines.append(
            _(
                "The term ended on %(from)s, not a working day; it moves to %(to)s "
                "(Algemene termijnenwet, art. 1).",
                **{"from": day(moved.get("from")), "to": day(moved.get("to"))},
            )
        )
    for suspension in computation.get("suspensions") or []:
        start = when(datetime.fromisoformat(suspension["from"]))
        end = when(datetime.fromisoformat(suspension["to"]))
        if "working_days" in suspension:
            added = ngettext(
                "%(num)d working day", "%(num)d working days", int(suspension["working_days"])
            )
        else:
            hours = int(suspension.get("seconds", 0)) // 3600
            added = ngettext("%(num)d hour", "%(num)d hours", hours)
        lines.append(
            _(
                "Suspended from %(start)s to %(end)s: %(added)s added.",
                start=start,
                end=end,
                added=added,
            )
        )
    if computation.get("due"):
        lines.append(_("Due: %(moment)s.", moment=when(datetime.fromisoformat(computation["due"]))))
    return lines


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def coordinators_of(session: Session, region_code: str) -> list[User]:
    """The active coordinators of a region, for the "assign a coordinator" choice."""
    return list(
        session.scalars(
            select(User)
            .join(User.regions)
            .where(
                Region.code == region_code,
                User.role == Role.COORDINATOR,
                User.active.is_(True),
            )
            .order_by(User.username)
        )
    )


def region_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Region.code, Region.name).order_by(Region.code)).all())


def trajectory_page(session: Session, actor: Actor, trajectory: Trajectory) -> dict[str, Any]:
    """Everything the trajectory page shows, labels and explanations included."""
    events = events_of(session, trajectory)
    facts = current_facts(session, trajectory, events)
    view = trajectory_view(session, actor, trajectory, events, facts)
    now = settings_of(session).now()
    state = trajectory.state
    for item in view["checklist"]:
        item["label"] = label("checklist", item["key"])
        item["criterion"] = item["key"] in workflow.CRITERIA_KEYS
    settings = settings_of(session)
    for trigger in view["triggers"]:
        name = trigger["name"]
        if name in SAMPLE_INPUTS:
            # What blocks the trigger apart from the input its form asks for: "closure_reason
            # is missing" is not a reason to show "close" as impossible.
            trigger["unmet"] = workflow.unmet_conditions(
                facts,
                name,
                now=now,
                screening_rule=settings.screening_rule,
                **SAMPLE_INPUTS[name](state, now),
            )
            trigger["allowed"] = not trigger["unmet"]
        trigger["label"] = label("trigger", name)
        trigger["unmet_text"] = condition_texts(trigger["unmet"])
        trigger["inputs"] = TRIGGER_INPUTS.get(trigger["name"], ())
    for deadline in view["deadlines"]:
        open_ = deadline["status"] == DeadlineStatus.OPEN.value
        deadline["overdue"] = open_ and deadline["due_at"] <= now
        deadline["due_text"] = due_text(deadline["due_at"], now) if open_ else ""
        deadline["explanation"] = explain_deadline(deadline["computation"])
        deadline["may_meet"] = open_ and DeadlineKind(deadline["kind"]) in MET_BY_HAND
        deadline["may_acknowledge"] = deadline["overdue"]
    # Open deadlines first, soonest due first; then the closed ones, latest first.
    view["deadlines"].sort(key=lambda d: (d["status"] != DeadlineStatus.OPEN.value, d["due_at"]))
    data = {e.seq: e.data or {} for e in events}
    ids = [e["actor_id"] for e in view["events"]]
    ids += [
        d.get("coordinator_id") for d in data.values() if isinstance(d.get("coordinator_id"), int)
    ]
    names = usernames(session, ids)
    for event in view["events"]:
        event["who"] = names.get(event["actor_id"], _("the system"))
        event["detail"] = event_detail(event["kind"], data.get(event["seq"], {}), names)
    numbers = [m["number"] for m in view["measurements"]]
    view.update(
        phase_value=STATE_PHASE[state].value,
        building_block=label("building_block", state),
        referred_on=trajectory.referred_on,
        measurement_possible=state
        in (
            TrajectoryState.IMMEDIATE_SAFETY,
            TrajectoryState.RISK_CARE,
            TrajectoryState.RECOVERY,
            TrajectoryState.AFTERCARE,
        ),
        next_measurement=(max(numbers) + 1) if numbers else 1,
        coordinators=[(u.id, u.username) for u in coordinators_of(session, trajectory.region_code)],
        regions=region_names(session),
        today=today(session).isoformat(),
    )
    return view


def event_detail(kind: str, data: dict[str, Any], names: dict[int, str]) -> str:
    """What an event changed, in words: the checklist item, the measurement, the region."""
    if kind == "checklist" and data.get("key"):
        key = data["key"]
        done = data.get("done")
        if key in workflow.CRITERIA_KEYS:
            value = (
                _("met") if done is True else _("not met") if done is False else _("not assessed")
            )
        else:
            value = _("done") if done is True else _("not done")
        return f"{label('checklist', key)}: {value}"
    if kind == "measurement" and data.get("number"):
        return _(
            "Measurement %(number)s: %(level)s",
            number=data["number"],
            level=label("violence_level", data.get("violence_level")),
        )
    if kind in ("deadline_met", "deadline_acknowledged") and data.get("kind"):
        return label("deadline_kind", data["kind"])
    if kind == "transferred":
        return f"{data.get('from_region', '')} → {data.get('to_region', '')}"
    if kind == "coordinator":
        return names.get(data.get("coordinator_id") or 0, _("none"))
    if kind == "transition" and (data.get("params") or {}).get("closure_reason"):
        return label("closure_reason", data["params"]["closure_reason"])
    if kind == "transition" and (data.get("params") or {}).get("incident_date"):
        return _("Incident on %(day)s", day=day(data["params"]["incident_date"]))
    return ""


def closure_choices(state: TrajectoryState | str) -> list[tuple[str, str]]:
    """The closure reasons the "close" form offers: goals met only from aftercare."""
    aftercare = TrajectoryState(state) is TrajectoryState.AFTERCARE
    excluded = ClosureReason.NOT_ELIGIBLE if aftercare else ClosureReason.GOALS_MET
    return [(value, text) for value, text in choices("closure_reason") if value != excluded]
