"""The reminder ladder and the sweep (DESIGN.md section 4), on both backends.

A due deadline gives one notification per rung and recipient; a second sweep gives nothing; a
deadline found far behind delivers only its current rung (the others recorded as skipped);
escalations go to the region's managers and name no pseudonym and no trajectory.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mda.models import (
    Deadline,
    DeadlineRule,
    Delivery,
    LadderStep,
    Notification,
    NotificationSettings,
    SweepRun,
)
from mda.services import deadlines as deadline_service
from mda.services import workdays
from mda.services.settings import use_settings
from mda.services.sweep import SweepOptions, sweep
from mda.services.trajectories import register_referral
from mda.vocabulary import (
    Channel,
    DeadlineKind,
    DueUnit,
    NotificationKind,
    NotificationStatus,
    Role,
    StepStatus,
)
from tests.conftest import TEST_SETTINGS
from tests.support import factories

# Monday 2 March 2026, 10:00 in Amsterdam (CET).
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_refs = itertools.count(1)


def at(session, moment):
    use_settings(session, TEST_SETTINGS.at(moment))


def rule(**kw):
    values = {
        "kind": DeadlineKind.SCREENING_DUE,
        "amount": 10,
        "unit": DueUnit.WORKING_DAYS,
        "remind_before_working_days": 1,
        "escalate_after_working_days": 3,
        "repeat_every_working_days": 5,
        "remind_before_hours": 0,
    }
    values.update(kw)
    return DeadlineRule(**values)


def run(session, options=None, **kw):
    """A sweep without digests (hour 24 never comes), unless the test's options say so."""
    return sweep(session, options or SweepOptions(digest_hour=24), **kw)


def local(moment):
    return moment.astimezone(workdays.LOCAL)


# --- the ladder, without a database -------------------------------------------------------


def test_ladder_rungs_on_the_working_day_calendar_around_kings_day_and_5_may():
    # Due Tuesday 28 April 2026, 10:00: King's Day is Monday 27 April, 5 May a Tuesday.
    due = datetime(2026, 4, 28, 8, 0, tzinfo=UTC)
    r = rule()
    reminder = deadline_service.rung_at(r, due, 0)
    assert local(reminder).date() == date(2026, 4, 24)  # Friday: the 27th is no working day
    assert deadline_service.rung_at(r, due, 1) == due
    assert local(deadline_service.rung_at(r, due, 2)).date() == date(2026, 5, 1)
    # 5 working days later skips 5 May (Bevrijdingsdag): Monday 11 May.
    assert local(deadline_service.rung_at(r, due, 3)).date() == date(2026, 5, 11)
    assert local(deadline_service.rung_at(r, due, 3)).hour == 10  # same local time
    assert [deadline_service.rung_kind(n) for n in (0, 1, 2, 7)] == [
        NotificationKind.REMINDER,
        NotificationKind.OVERDUE,
        NotificationKind.ESCALATION,
        NotificationKind.ESCALATION,
    ]


@pytest.mark.parametrize(
    ("due_day", "reminder", "escalation", "repeat"),
    [
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April are no working days.
        (date(2026, 4, 7), date(2026, 4, 2), date(2026, 4, 10), date(2026, 4, 17)),
        # Ascension 14 May 2026, 15 May by decree, Whit Monday 25 May.
        (date(2026, 5, 13), date(2026, 5, 12), date(2026, 5, 20), date(2026, 5, 28)),
        # Christmas and the year's end: 25 and 26 December, 1 January.
        (date(2026, 12, 23), date(2026, 12, 22), date(2026, 12, 29), date(2027, 1, 6)),
    ],
)
def test_ladder_rungs_skip_easter_ascension_whitsun_and_christmas(
    due_day, reminder, escalation, repeat
):
    due = datetime.combine(due_day, datetime.min.time(), tzinfo=workdays.LOCAL) + timedelta(hours=9)
    r = rule()
    days = [local(deadline_service.rung_at(r, due, n)).date() for n in (0, 1, 2, 3)]
    assert days == [reminder, due_day, escalation, repeat]


def test_ladder_without_reminder_or_repeat():
    due = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    r = rule(remind_before_working_days=0, repeat_every_working_days=0)
    assert deadline_service.rung_at(r, due, 0) is None
    assert deadline_service.next_rung(r, due, 0) == (1, due)
    assert deadline_service.rung_at(r, due, 2) is not None
    assert deadline_service.rung_at(r, due, 3) is None  # escalated once, not repeated
    assert deadline_service.next_rung(r, due, 3) is None


def test_school_notice_reminds_hours_before_in_calendar_time():
    # 24 hours from Saturday 09:00: hours are calendar time, the reminder 4 hours before due.
    opened = datetime(2026, 3, 7, 8, 0, tzinfo=UTC)
    r = rule(
        kind=DeadlineKind.SCHOOL_NOTICE_DUE,
        amount=24,
        unit=DueUnit.HOURS,
        remind_before_hours=4,
    )
    due = workdays.due_moment(opened, 24, DueUnit.HOURS)
    assert due == opened + timedelta(hours=24)
    assert deadline_service.rung_at(r, due, 0) == due - timedelta(hours=4)
    assert deadline_service.next_action(r, due, opened) == due - timedelta(hours=4)
    # Opened inside its own reminder window: the overdue notice comes first.
    assert deadline_service.next_action(r, due, due - timedelta(hours=1)) == due


def test_the_shipped_school_notice_rule_reminds_four_hours_before(session):
    assert session.get(DeadlineRule, DeadlineKind.SCHOOL_NOTICE_DUE).remind_before_hours == 4
    assert session.get(DeadlineRule, DeadlineKind.SCREENING_DUE).remind_before_hours == 0


# --- the sweep ----------------------------------------------------------------------------


@pytest.fixture
def people(session):
    at(session, T0)
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    other = factories.user(session, Role.COORDINATOR, ["UTR"])
    managers = [factories.user(session, Role.MANAGER, ["UTR"]) for _ in range(2)]
    factories.user(session, Role.MANAGER, ["AMA"])  # another region: never told
    return coordinator, other, managers


def register(session, coordinator, *, assign=True, referred_on=None):
    row, _ = register_referral(
        session,
        factories.actor(coordinator),
        region="UTR",
        reference=f"VT-SW-{next(_refs):06d}",
        referral_source="veilig_thuis",
        violence_types=["partner_violence"],
        children="1",
        coordinator_id=coordinator.id if assign else None,
        keys=factories.pseudonym_keys(),
        referred_on=referred_on,
    )
    return row


def notes(session):
    return session.execute(
        select(Notification.recipient_id, Notification.kind).order_by(Notification.id)
    ).all()


def test_each_rung_once_to_the_right_people(session, people):
    coordinator, _other, managers = people
    trajectory = register(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    assert deadline.kind is DeadlineKind.SCREENING_DUE and deadline.stage == 0
    r = session.get(DeadlineRule, DeadlineKind.SCREENING_DUE)
    reminder, due, escalation = (deadline_service.rung_at(r, deadline.due_at, n) for n in (0, 1, 2))
    assert deadline.next_action_at == reminder

    at(session, reminder - timedelta(seconds=1))
    assert run(session).claimed == 0
    at(session, reminder)
    assert run(session).notifications == 1
    at(session, reminder + timedelta(minutes=5))
    assert run(session).claimed == 0  # nothing twice
    assert notes(session) == [(coordinator.id, NotificationKind.REMINDER)]

    at(session, due)
    run(session)
    at(session, escalation)
    result = run(session)
    run(session)
    assert result.skipped == 0
    assert notes(session) == [
        (coordinator.id, NotificationKind.REMINDER),
        (coordinator.id, NotificationKind.OVERDUE),
        (managers[0].id, NotificationKind.ESCALATION),
        (managers[1].id, NotificationKind.ESCALATION),
        (coordinator.id, NotificationKind.OVERDUE),
    ]
    session.refresh(deadline)
    assert deadline.stage == 3 and deadline.escalations == 1
    assert deadline.next_action_at == deadline_service.rung_at(r, deadline.due_at, 3)
    # The manager's notification: who, what and how late; no pseudonym, no trajectory.
    escalated = session.scalars(
        select(Notification).where(Notification.recipient_id == managers[0].id)
    ).one()
    assert escalated.details["coordinator"] == coordinator.username
    assert escalated.details["deadline_kind"] == "screening_due"
    assert escalated.details["late_working_days"] == 3
    flat = repr(escalated.details)
    assert trajectory.pseudonym not in flat and "trajectory" not in flat
    # One in-app delivery per notification (nobody has an e-mail address), all on time.
    assert session.scalar(select(func.count()).select_from(Delivery)) == 5
    assert set(session.scalars(select(Delivery.channel))) == {Channel.IN_APP}
    assert session.scalar(select(func.count()).select_from(SweepRun)) == 6


def test_a_late_registered_referral_gets_one_overdue_and_one_escalation_each(session, people):
    coordinator, _other, managers = people
    referred = workdays.add_working_days(workdays.local_date(T0), -30)
    trajectory = register(session, coordinator, referred_on=referred)
    result = run(session)
    assert result.claimed == 1
    assert sorted(notes(session)) == sorted(
        [
            (coordinator.id, NotificationKind.OVERDUE),
            (managers[0].id, NotificationKind.ESCALATION),
            (managers[1].id, NotificationKind.ESCALATION),
        ]
    )
    steps = session.execute(
        select(LadderStep.rung, LadderStep.status)
        .join(Deadline, Deadline.id == LadderStep.deadline_id)
        .where(Deadline.trajectory_id == trajectory.id)
        .order_by(LadderStep.rung)
    ).all()
    # 20 working days overdue: escalations at +3, +8, +13, +18; the last one is delivered.
    assert steps == [
        (0, StepStatus.SKIPPED),
        (1, StepStatus.SKIPPED),
        (2, StepStatus.SKIPPED),
        (3, StepStatus.SKIPPED),
        (4, StepStatus.SKIPPED),
        (5, StepStatus.DELIVERED),
    ]
    assert result.skipped == 5
    assert run(session).claimed == 0
    assert len(notes(session)) == 3


def test_no_coordinator_assigned_tells_the_regions_coordinators(session, people):
    coordinator, other, _managers = people
    deadline_row = register(session, coordinator, assign=False)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == deadline_row.id)
    ).one()
    at(session, deadline.due_at)
    run(session)
    assert sorted(notes(session)) == sorted(
        [(coordinator.id, NotificationKind.OVERDUE), (other.id, NotificationKind.OVERDUE)]
    )


def test_batches_and_a_met_deadline_is_not_swept(session, people):
    coordinator, *_ = people
    rows = [register(session, coordinator) for _ in range(5)]
    deadline = session.scalars(select(Deadline).where(Deadline.trajectory_id == rows[0].id)).one()
    # The first is met (screening started, then closed): its reminders stop.
    deadline_service.close_deadlines(
        session,
        rows[0],
        [DeadlineKind.SCREENING_DUE],
        deadline_service.DeadlineStatus.CANCELLED,
        T0,
        None,
    )
    session.flush()
    at(session, deadline.due_at)
    result = run(session, SweepOptions(batch_size=2, digest_hour=24))
    assert result.claimed == 4
    assert len(notes(session)) == 4


def test_email_delivery_is_pending_then_dispatched_again_after_its_lease(session, people):
    coordinator, *_ = people
    session.add(NotificationSettings(user_id=coordinator.id, email="c@example.org", language="en"))
    trajectory = register(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    at(session, deadline.due_at)
    sent: list[int] = []
    result = run(
        session, SweepOptions(lease=timedelta(minutes=5), digest_hour=24), dispatch=sent.append
    )
    assert len(result.delivery_ids) == 1 and sent == result.delivery_ids
    email = session.get(Delivery, sent[0])
    assert email.channel is Channel.EMAIL and email.status is NotificationStatus.PENDING
    # The task was lost (the broker went away): after the lease the sweep sends it again.
    at(session, deadline.due_at + timedelta(minutes=4))
    assert run(session, dispatch=sent.append).delivery_ids == []
    at(session, deadline.due_at + timedelta(minutes=6))
    assert run(session, dispatch=sent.append).delivery_ids == [email.id]
    assert sent == [email.id, email.id]


def test_a_failing_broker_does_not_undo_the_sweep(session, people):
    coordinator, *_ = people
    session.add(NotificationSettings(user_id=coordinator.id, email="c@example.org"))
    trajectory = register(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    at(session, deadline.due_at)

    def broken(_id):
        raise ConnectionError("broker down")

    result = run(session, dispatch=broken)
    assert result.notifications == 1 and result.dispatched == 0
    assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_digest_once_a_day_with_counts(session, people):
    coordinator, other, _managers = people
    register(session, coordinator)
    deadline = session.scalars(select(Deadline)).first()
    # The day the deadline is due, 08:00 in Amsterdam: one due today.
    morning = datetime.combine(
        workdays.local_date(deadline.due_at), datetime.min.time(), tzinfo=workdays.LOCAL
    ) + timedelta(hours=8)
    at(session, morning.astimezone(UTC) - timedelta(hours=2))  # 06:00: before the digest hour
    assert sweep(session).digests == 0
    at(session, morning.astimezone(UTC))
    assert sweep(session).digests == 1
    assert sweep(session).digests == 0
    digest = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.DIGEST)
    ).one()
    assert digest.recipient_id == coordinator.id
    assert digest.details["today"] == 1 and digest.details["overdue"] == 0
    # The other coordinator had nothing: no message, but the day is done for them too.
    assert session.get(NotificationSettings, other.id).last_digest_on == morning.date()
    at(session, morning.astimezone(UTC) + timedelta(days=1))
    assert sweep(session).digests == 1  # the next day: overdue now


def test_suspension_pauses_the_ladder_and_resumption_goes_on_from_the_rung_reached(session, people):
    from mda.services.trajectories import resume, suspend

    coordinator, *_ = people
    trajectory = register(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    r = session.get(DeadlineRule, DeadlineKind.SCREENING_DUE)
    at(session, deadline.due_at)
    run(session)  # the overdue notice (the reminder skipped: found at due)
    actor = factories.actor(coordinator)
    suspend(session, actor, trajectory.id, "household abroad for a week")
    session.refresh(deadline)
    assert deadline.next_action_at is None
    at(session, deadline.due_at + timedelta(days=14))
    assert run(session).claimed == 0  # suspended: nothing swept
    resume(session, actor, trajectory.id)
    session.refresh(deadline)
    # Due moved by the suspended working days; the next rung is the first escalation.
    assert deadline.stage == 2
    assert deadline.next_action_at == deadline_service.rung_at(r, deadline.due_at, 2)
    at(session, deadline.next_action_at)
    run(session)
    kinds = [kind for _uid, kind in notes(session)]
    assert kinds.count(NotificationKind.OVERDUE) == 2  # at due, and with the escalation
    assert kinds.count(NotificationKind.REMINDER) == 0
    assert kinds.count(NotificationKind.ESCALATION) == 2  # the two managers


def test_old_sweep_runs_are_pruned(session):
    at(session, T0 - timedelta(days=40))
    run(session)
    at(session, T0)
    run(session)
    assert session.scalars(select(SweepRun.started_at)).all() == [T0]
