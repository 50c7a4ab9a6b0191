"""Deadline rows on both backends: how they were computed, suspension by working days, one open
row per kind (enforced by the database), and meeting or acknowledging one by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mda.models import AccessLogEntry, Deadline, TrajectoryEvent
from mda.services import deadlines
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.errors import (
    Conflict,
    Forbidden,
    IdentifierFound,
    NotFound,
    TransitionRefused,
)
from mda.vocabulary import DeadlineKind, DeadlineStatus, Role, TrajectoryState
from tests.services.steps import drive
from tests.support import factories

NL = ZoneInfo("Europe/Amsterdam")
K = DeadlineKind


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=NL).astimezone(UTC)


def open_rows(session, trajectory_id, kind=None):
    query = select(Deadline).where(
        Deadline.trajectory_id == trajectory_id, Deadline.status == DeadlineStatus.OPEN
    )
    if kind is not None:
        query = query.where(Deadline.kind == kind)
    return list(session.scalars(query.order_by(Deadline.id)))


def the_open(session, trajectory_id, kind):
    rows = open_rows(session, trajectory_id, kind)
    assert len(rows) == 1, rows
    return rows[0]


# --- computation ------------------------------------------------------------------------


def test_a_deadline_row_keeps_how_it_was_computed(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    row = the_open(session, trajectory.id, K.SCREENING_DUE)
    how = row.computation
    assert how["rule"] == "screening_due"
    assert (how["amount"], how["unit"]) == (10, "working_days")
    assert len(how["working_days"]) == 10
    assert datetime.fromisoformat(how["due"]) == row.due_at
    assert datetime.fromisoformat(how["start"]) == row.opened_at


def test_opened_deadline_counts_the_calendar_exactly(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    # Wednesday 22 April 2026 09:00: King's Day (Monday 27th) and 5 May are skipped.
    row = deadlines.open_deadline(session, trajectory, K.TEAM_DUE, local(2026, 4, 22, 9, 0))
    session.flush()
    assert row.due_at == local(2026, 5, 8, 9, 0)
    assert row.computation["holidays"] == [
        {"date": "2026-04-27", "name": "Koningsdag"},
        {"date": "2026-05-05", "name": "Bevrijdingsdag"},
    ]
    assert row.computation["weekend_days"] == [
        "2026-04-25",
        "2026-04-26",
        "2026-05-02",
        "2026-05-03",
    ]


def test_a_decree_day_added_to_the_table_counts_for_new_deadlines(session, coordinator):
    from datetime import date

    from mda.models import CalendarDay
    from mda.services import workdays

    trajectory = factories.trajectory(session, coordinator)
    session.add(CalendarDay(day=date(2029, 5, 11), name="Dag na Hemelvaartsdag (bij besluit)"))
    session.flush()
    workdays.invalidate()  # what the admin service does after its commit
    # Wednesday 9 May 2029 + 1 working day: Ascension (10th), the new decree day, the weekend.
    row = deadlines.open_deadline(session, trajectory, K.TEAM_DUE, local(2029, 5, 9, 9, 0))
    # (a rule of 10 working days: the first counted day is Monday 14 May)
    assert row.computation["working_days"][0] == "2029-05-14"


# --- suspension -------------------------------------------------------------------------


def test_suspension_moves_working_day_deadlines_by_working_days(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    row = deadlines.open_deadline(session, trajectory, K.TEAM_DUE, local(2026, 4, 22, 9, 0))
    session.flush()
    assert row.due_at == local(2026, 5, 8, 9, 0)
    # Suspended Friday 24 April 15:00, resumed Tuesday 28 April 15:00: four days on the wall
    # clock, one working day (Monday 27th is King's Day). The deadline moves one working day:
    # from Friday 8 May to Monday 11 May (wall-clock time would give Tuesday 12 May).
    began, ended = local(2026, 4, 24, 15, 0), local(2026, 4, 28, 15, 0)
    deadlines.shift(session, trajectory, ended - began, ended)
    session.flush()
    assert row.due_at == local(2026, 5, 11, 9, 0)
    assert row.computation["suspensions"] == [
        {
            "from": began.isoformat(),
            "to": ended.isoformat(),
            "due_before": local(2026, 5, 8, 9, 0).isoformat(),
            "working_days": 1,
            "due_after": local(2026, 5, 11, 9, 0).isoformat(),
        }
    ]
    assert row.computation["due"] == row.due_at.isoformat()
    assert row.next_action_at is not None


def test_suspension_within_one_day_moves_no_working_day_deadline(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    row = deadlines.open_deadline(session, trajectory, K.TEAM_DUE, local(2026, 4, 22, 9, 0))
    began, ended = local(2026, 4, 23, 9, 0), local(2026, 4, 23, 17, 0)
    deadlines.shift(session, trajectory, ended - began, ended)
    assert row.due_at == local(2026, 5, 8, 9, 0)


def test_suspension_moves_week_deadlines_by_the_time_and_art_1_still_holds(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    # Tuesday 17 March 2026 + 6 weeks = Tuesday 28 April, a working day.
    row = deadlines.open_deadline(session, trajectory, K.PLAN_REVIEW_DUE, local(2026, 3, 17, 9, 0))
    assert row.due_at == local(2026, 4, 28, 9, 0)
    # A week suspended: the term ends Tuesday 5 May, a holiday, so Wednesday 6 May.
    began = local(2026, 4, 1, 9, 0)
    deadlines.shift(session, trajectory, timedelta(days=7), began + timedelta(days=7))
    assert row.due_at == local(2026, 5, 6, 9, 0)
    assert row.computation["term_end"] == local(2026, 5, 5, 9, 0).isoformat()
    assert row.computation["moved_art_1"]["holidays"] == [
        {"date": "2026-05-05", "name": "Bevrijdingsdag"}
    ]
    assert row.computation["suspensions"][0]["seconds"] == 7 * 24 * 3600
    # Another day: the term ends Wednesday 6 May, no move; the art. 1 note goes.
    deadlines.shift(session, trajectory, timedelta(days=1), began + timedelta(days=9))
    assert row.due_at == local(2026, 5, 6, 9, 0)
    assert "moved_art_1" not in row.computation
    assert len(row.computation["suspensions"]) == 2


def test_hour_deadlines_move_by_the_suspended_time(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    row = deadlines.open_deadline(
        session, trajectory, K.SCHOOL_NOTICE_DUE, local(2026, 12, 24, 10, 0)
    )
    assert row.due_at == local(2026, 12, 25, 10, 0)
    deadlines.shift(session, trajectory, timedelta(hours=5), local(2026, 12, 24, 16, 0))
    assert row.due_at == local(2026, 12, 25, 15, 0)


def test_resume_moves_the_open_deadlines_by_working_days(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    row = the_open(session, trajectory.id, K.SCREENING_DUE)
    before = row.due_at
    svc.suspend(session, act, trajectory.id, "household abroad for a while")
    # Suspended since the Friday before, 15:00 local: whatever today is, the deadline moves by
    # the working days after that Friday up to today, not by the wall-clock time.
    trajectory.suspended_at = local(2026, 4, 24, 15, 0)
    session.flush()
    svc.resume(session, act, trajectory.id)
    row = the_open(session, trajectory.id, K.SCREENING_DUE)
    (move,) = row.computation["suspensions"]
    assert move["working_days"] >= 1
    from mda.services.workdays import add_working_days_at

    assert row.due_at == add_working_days_at(before, move["working_days"])


# --- one open deadline per trajectory and kind -------------------------------------------


def test_the_database_refuses_a_second_open_deadline_of_a_kind(session, coordinator):
    trajectory = factories.trajectory(session, coordinator)
    first = the_open(session, trajectory.id, K.SCREENING_DUE)

    def row(status=DeadlineStatus.OPEN):
        return Deadline(
            trajectory_id=trajectory.id,
            region_code=trajectory.region_code,
            kind=K.SCREENING_DUE,
            status=status,
            opened_at=first.opened_at,
            due_at=first.due_at,
        )

    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(row())
        session.flush()
    # Closed rows of the kind are history: as many as there are.
    with session.begin_nested():
        session.add_all([row(DeadlineStatus.MET), row(DeadlineStatus.CANCELLED)])
        session.flush()
    assert len(open_rows(session, trajectory.id, K.SCREENING_DUE)) == 1


def test_closing_and_reopening_a_kind_in_one_change_passes_the_index(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    trajectory = drive(session, act, trajectory, TrajectoryState.RISK_CARE)
    # safety_established met the plan review of immediate_safety and opened a fresh one.
    rows = session.scalars(
        select(Deadline).where(
            Deadline.trajectory_id == trajectory.id, Deadline.kind == K.PLAN_REVIEW_DUE
        )
    ).all()
    assert sorted(r.status.value for r in rows) == ["met", "open"]


# --- met or acknowledged by hand ---------------------------------------------------------


def relapsed(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator, children="1")
    trajectory = drive(session, act, trajectory, TrajectoryState.RISK_CARE)
    return svc.fire_trigger(session, act, trajectory.id, "relapse", incident_date=today_nl())


def count_events(session, trajectory_id, kind):
    return session.scalar(
        select(func.count())
        .select_from(TrajectoryEvent)
        .where(TrajectoryEvent.trajectory_id == trajectory_id, TrajectoryEvent.kind == kind)
    )


def test_meeting_the_school_notice(session, coordinator, act):
    trajectory = relapsed(session, coordinator, act)
    notice = the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE)
    version = trajectory.version
    met = deadlines.meet_deadline(
        session, act, notice.id, "  School told by phone.  ", expected_version=version
    )
    assert met.status is DeadlineStatus.MET
    assert met.note == "School told by phone."
    assert met.closed_by_id == coordinator.id and met.next_action_at is None
    assert open_rows(session, trajectory.id, K.SCHOOL_NOTICE_DUE) == []
    assert trajectory.version == version + 1
    event = session.scalars(
        select(TrajectoryEvent).where(
            TrajectoryEvent.trajectory_id == trajectory.id, TrajectoryEvent.seq == version + 1
        )
    ).one()
    assert event.kind == "deadline_met" and event.reason == "School told by phone."
    assert event.data["kind"] == "school_notice_due"
    assert event.data["deadlines"] == {"met": ["school_notice_due"], "opened": []}
    entry = session.scalars(
        select(AccessLogEntry)
        .where(AccessLogEntry.trajectory_id == trajectory.id)
        .order_by(AccessLogEntry.id.desc())
    ).first()
    assert entry.details["change"] == "deadline_met"
    # The event log still replays to the row.
    assert svc.replay_events(session, trajectory).state is trajectory.state
    # Met once: a second time is refused, naming why.
    with pytest.raises(TransitionRefused) as refused:
        deadlines.meet_deadline(session, act, notice.id, None)
    assert refused.value.unmet == ["the deadline is met, not open"]


def test_meeting_a_plan_review_opens_the_next_six_weeks_from_then(session, coordinator, act):
    trajectory = drive(
        session, act, factories.trajectory(session, coordinator), TrajectoryState.RISK_CARE
    )
    review = the_open(session, trajectory.id, K.PLAN_REVIEW_DUE)
    # Met on Wednesday 24 March 2027 10:00: six weeks on is Wednesday 5 May, a holiday; then
    # Ascension (6th), the decree day (7th) and the weekend: Monday 10 May 2027, 10:00.
    deadlines.meet_deadline(
        session, act, review.id, "Plan reviewed with the team.", now=local(2027, 3, 24, 10, 0)
    )
    assert review.status is DeadlineStatus.MET
    following = the_open(session, trajectory.id, K.PLAN_REVIEW_DUE)
    assert following.id != review.id
    assert following.opened_at == local(2027, 3, 24, 10, 0)
    assert following.due_at == local(2027, 5, 10, 10, 0)
    assert following.computation["moved_art_1"]["from"] == "2027-05-05"
    assert count_events(session, trajectory.id, "deadline_met") == 1


def test_only_the_by_hand_kinds_can_be_met(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    screening = the_open(session, trajectory.id, K.SCREENING_DUE)
    version = trajectory.version
    with pytest.raises(TransitionRefused) as refused:
        deadlines.meet_deadline(session, act, screening.id, "done")
    assert refused.value.unmet == ["screening_due is met by the workflow itself, not by hand"]
    assert the_open(session, trajectory.id, K.SCREENING_DUE).id == screening.id
    assert session.get(type(trajectory), trajectory.id).version == version


def test_acknowledging_a_deadline_that_fell_due(session, coordinator, act):
    trajectory = factories.trajectory(session, coordinator)
    screening = the_open(session, trajectory.id, K.SCREENING_DUE)
    with pytest.raises(TransitionRefused) as refused:
        deadlines.acknowledge_deadline(session, act, screening.id, "   ")
    assert refused.value.unmet == [
        "the deadline is not due yet: meet it, or wait until it is due",
        "a note is needed to acknowledge a deadline",
    ]
    later = screening.due_at + timedelta(days=3)
    done = deadlines.acknowledge_deadline(
        session, act, screening.id, "Team short-staffed; screening planned.", now=later
    )
    assert done.status is DeadlineStatus.ACKNOWLEDGED
    assert done.closed_at == later
    assert open_rows(session, trajectory.id, K.SCREENING_DUE) == []
    assert count_events(session, trajectory.id, "deadline_acknowledged") == 1
    assert svc.replay_events(session, trajectory).state is trajectory.state


def test_acknowledging_a_plan_review_keeps_the_cycle_going(session, coordinator, act):
    trajectory = drive(
        session, act, factories.trajectory(session, coordinator), TrajectoryState.RISK_CARE
    )
    review = the_open(session, trajectory.id, K.PLAN_REVIEW_DUE)
    later = review.due_at + timedelta(days=1)
    deadlines.acknowledge_deadline(session, act, review.id, "Review postponed.", now=later)
    following = the_open(session, trajectory.id, K.PLAN_REVIEW_DUE)
    assert following.opened_at == later


def test_a_note_with_an_identifier_is_refused(session, coordinator, act):
    trajectory = relapsed(session, coordinator, act)
    notice = the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE)
    with pytest.raises(IdentifierFound):
        deadlines.meet_deadline(session, act, notice.id, "Told j.jansen@school.nl")
    assert the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE).id == notice.id


def test_only_a_coordinator_of_the_region_meets_a_deadline(session, coordinator, act):
    trajectory = relapsed(session, coordinator, act)
    notice = the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE)
    for user in (
        factories.user(session, Role.COORDINATOR, ["AMA"]),
        factories.user(session, Role.MANAGER, ["UTR"]),
        factories.user(session, Role.ADMIN),
    ):
        with pytest.raises(Forbidden):
            deadlines.meet_deadline(session, factories.actor(user), notice.id, None)
        denied = session.scalars(
            select(AccessLogEntry).where(
                AccessLogEntry.user_id == user.id, AccessLogEntry.action == "denied"
            )
        ).all()
        assert [e.trajectory_id for e in denied] == [trajectory.id]
    assert the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE).id == notice.id


def test_a_stale_version_or_another_trajectory_is_refused(session, coordinator, act):
    trajectory = relapsed(session, coordinator, act)
    notice = the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE)
    with pytest.raises(Conflict):
        deadlines.meet_deadline(
            session, act, notice.id, None, expected_version=trajectory.version - 1
        )
    other = factories.trajectory(session, coordinator)
    with pytest.raises(NotFound):
        deadlines.meet_deadline(session, act, notice.id, None, trajectory_id=other.id)
    with pytest.raises(NotFound):
        deadlines.meet_deadline(session, act, 10**9, None)
    assert the_open(session, trajectory.id, K.SCHOOL_NOTICE_DUE).id == notice.id
