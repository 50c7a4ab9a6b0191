"""A synthetic cohort with known answers, written as the services write their rows.

Five trajectories in UTR and AMA around October 2026, with events on both sides of the
month's Amsterdam boundaries (and of the change from summer to winter time on 25 October).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from mda.models import Deadline, SafetyMeasurement, Trajectory, TrajectoryEvent
from mda.vocabulary import DeadlineStatus

_n = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add(
    session: Session,
    region: str,
    source: str,
    referred_on: str,
    registered: str,
    events: list[tuple[str, str, str, str, str | None]] = (),  # type: ignore[assignment]
    measurements: list[tuple[int, str, str]] = (),  # type: ignore[assignment]
    deadlines: list[tuple[str, str, str, str | None]] = (),  # type: ignore[assignment]
) -> Trajectory:
    """``events``: (moment, trigger, from, to, closure_reason)."""
    n = next(_n)
    created = at(registered)
    state = events[-1][3] if events else "referred"
    row = Trajectory(
        pseudonym_hash=f"{n:064x}",
        pseudonym=f"COHORT-{n:06d}",
        key_version=1,
        region_code=region,
        state=state,
        version=1 + len(events),
        referral_source=source,
        violence_types=["partner_violence"],
        children="1",
        referred_on=date.fromisoformat(referred_on),
        created_at=created,
        state_entered_at=at(events[-1][0]) if events else created,
    )
    session.add(row)
    session.flush()
    session.add(
        TrajectoryEvent(
            trajectory_id=row.id,
            seq=1,
            at=created,
            kind="registered",
            to_state="referred",
            data={"region": region, "referral_source": source},
        )
    )
    for seq, (moment, trigger, source_state, dest, reason) in enumerate(events, start=2):
        params = {"now": moment}
        if reason:
            params["closure_reason"] = reason
        session.add(
            TrajectoryEvent(
                trajectory_id=row.id,
                seq=seq,
                at=at(moment),
                kind="transition",
                trigger=trigger,
                from_state=source_state,
                to_state=dest,
                data={"params": params, "deadlines": []},
            )
        )
    for number, measured_on, level in measurements:
        session.add(
            SafetyMeasurement(
                trajectory_id=row.id,
                number=number,
                measured_on=date.fromisoformat(measured_on),
                violence_level=level,
                recorded_at=created,
            )
        )
    for kind, due, status, closed in deadlines:
        session.add(
            Deadline(
                trajectory_id=row.id,
                region_code=region,
                kind=kind,
                status=DeadlineStatus(status),
                opened_at=created,
                due_at=at(due),
                closed_at=at(closed) if closed else None,
            )
        )
    session.flush()
    return row


def build(session: Session) -> list[Trajectory]:
    t1 = add(
        session,
        "UTR",
        "police",
        "2026-09-20",
        "2026-09-20T10:00",
        [
            ("2026-09-21T10:00", "start_screening", "referred", "screening", None),
            ("2026-09-25T10:00", "accept", "screening", "team_forming", None),
            ("2026-09-28T10:00", "form_team", "team_forming", "immediate_safety", None),
            ("2026-10-10T10:00", "safety_established", "immediate_safety", "risk_care", None),
        ],
        [(1, "2026-10-05", "severe")],
        [("screening_due", "2026-10-02T10:00", "met", "2026-10-01T09:00")],
    )
    # Registered 30 September 22:30 UTC: already 1 October in Amsterdam.
    t2 = add(
        session,
        "UTR",
        "veilig_thuis",
        "2026-10-01",
        "2026-09-30T22:30",
        [
            ("2026-10-02T09:00", "start_screening", "referred", "screening", None),
            ("2026-10-06T22:30", "decline", "screening", "closed", "not_eligible"),
        ],
        [],
        [("team_due", "2026-10-12T10:00", "met", "2026-10-13T10:00")],
    )
    # Referred in October, registered in November: counts in October as referred.
    t3 = add(session, "UTR", "police", "2026-10-30", "2026-11-03T09:00")
    # Closed 31 October 23:30 UTC: 1 November in Amsterdam, so November's outflow.
    t4 = add(
        session,
        "AMA",
        "local_team",
        "2026-10-15",
        "2026-10-15T08:00",
        [
            ("2026-10-16T08:00", "start_screening", "referred", "screening", None),
            ("2026-10-20T08:00", "accept", "screening", "team_forming", None),
            ("2026-10-22T08:00", "form_team", "team_forming", "immediate_safety", None),
            ("2026-10-31T23:30", "close", "immediate_safety", "closed", "household_withdrew"),
        ],
        [(1, "2026-11-01", "moderate")],
        [("safety_plan_due", "2026-10-29T08:00", "open", None)],
    )
    t5 = add(
        session,
        "AMA",
        "police",
        "2026-08-01",
        "2026-08-01T12:00",
        [
            ("2026-08-02T12:00", "start_screening", "referred", "screening", None),
            ("2026-08-05T12:00", "accept", "screening", "team_forming", None),
            ("2026-08-10T12:00", "form_team", "team_forming", "immediate_safety", None),
            ("2026-08-20T12:00", "safety_established", "immediate_safety", "risk_care", None),
            ("2026-10-03T12:00", "relapse", "risk_care", "immediate_safety", None),
            ("2026-10-20T12:00", "close", "immediate_safety", "closed", "other"),
            ("2026-10-25T12:00", "reopen", "closed", "immediate_safety", None),
        ],
        [(1, "2026-08-15", "moderate"), (2, "2026-10-31", "none")],
        [
            ("plan_review_due", "2026-10-10T12:00", "cancelled", "2026-10-03T12:00"),
            ("plan_review_due", "2026-11-05T12:00", "open", None),
        ],
    )
    return [t1, t2, t3, t4, t5]


#: October 2026's exact figures (inner cells; absent cells are 0).
OCTOBER = {
    "inflow_by_source": {
        ("UTR", "veilig_thuis"): 1,
        ("UTR", "police"): 1,
        ("AMA", "local_team"): 1,
    },
    "active_by_state": {
        ("UTR", "risk_care"): 1,
        ("UTR", "referred"): 1,
        ("AMA", "immediate_safety"): 2,
    },
    "outflow_by_reason": {("UTR", "not_eligible"): 1, ("AMA", "other"): 1},
    "accepted": {("AMA",): 1},
    "declined": {("UTR",): 1},
    "relapses": {("AMA",): 1},
    "reentries": {("AMA",): 1},
    "outcome_by_measurement": {("UTR", "1", "severe"): 1, ("AMA", "2", "none"): 1},
    "deadlines_by_outcome": {("UTR", "on_time"): 1, ("UTR", "late"): 1, ("AMA", "late"): 1},
}
SEPTEMBER_ACTIVE = {("UTR", "immediate_safety"): 1, ("AMA", "risk_care"): 1}

#: (region, phase): (stays, q1, median, q3) for stays that ended in October 2026.
OCTOBER_LEAD_TIMES = {
    ("UTR", "safety"): (1, 12.0, 12.0, 12.0),
    ("UTR", "intake"): (1, 6.0, 6.0, 6.0),
    ("AMA", "intake"): (1, 7.0, 7.0, 7.0),
    ("AMA", "risk"): (1, 44.0, 44.0, 44.0),
    ("AMA", "safety"): (1, 17.0, 17.0, 17.0),
    ("_total", "intake"): (2, 6.25, 6.5, 6.75),
    ("_total", "safety"): (2, 13.25, 14.5, 15.75),
    ("_total", "risk"): (1, 44.0, 44.0, 44.0),
}
