"""E-mail over real SMTP on loopback (aiosmtpd): sent once, and retried when refused.

The server answers 451 to the first attempts: the delivery stays pending with a back-off, a
later sweep dispatches it again, and the message arrives exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from mda.models import Deadline, Delivery, NotificationSettings
from mda.services import deadlines as deadline_service
from mda.services.mail import DeliveryOptions, SmtpMailer, deliver_email
from mda.services.settings import use_settings
from mda.services.sweep import SweepOptions, sweep
from mda.vocabulary import Channel, NotificationStatus, Role
from tests.conftest import TEST_SETTINGS
from tests.support import factories
from tests.support.smtp import SmtpServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPTIONS = DeliveryOptions(
    sender="MDA++ <mda@example.org>",
    base_url="https://mda.example.org",
    retry_base=timedelta(seconds=30),
    max_attempts=3,
)


def _overdue_with_email(session):
    use_settings(session, TEST_SETTINGS.at(T0))
    coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
    session.add(NotificationSettings(user_id=coordinator.id, email="c@example.org"))
    trajectory = factories.trajectory(session, coordinator)
    deadline = session.scalars(
        select(Deadline).where(Deadline.trajectory_id == trajectory.id)
    ).one()
    return trajectory, deadline


def _sweep_at(session, moment, dispatch):
    use_settings(session, TEST_SETTINGS.at(moment))
    return sweep(session, SweepOptions(digest_hour=24, lease=timedelta(minutes=5)), dispatch)


def test_smtp_refuses_then_accepts_and_the_message_arrives_once(session):
    trajectory, deadline = _overdue_with_email(session)
    with SmtpServer(refuse=2) as server:
        mailer = SmtpMailer("127.0.0.1", server.port, timeout=5)
        outcomes: list[str] = []

        def dispatch(delivery_id):
            outcomes.append(deliver_email(session, delivery_id, mailer, OPTIONS))

        moment = deadline.due_at
        _sweep_at(session, moment, dispatch)
        assert outcomes == ["retry"]
        email = session.scalars(select(Delivery).where(Delivery.channel == Channel.EMAIL)).one()
        session.refresh(email)
        assert email.status is NotificationStatus.PENDING and email.attempts == 1
        assert email.last_error.startswith("SMTPDataError 451")
        # Back-off: 30 s after the first failure, 60 s after the second.
        assert email.next_attempt_at == moment + timedelta(seconds=30)
        _sweep_at(session, moment + timedelta(seconds=29), dispatch)
        assert outcomes == ["retry"]  # not yet
        _sweep_at(session, moment + timedelta(seconds=31), dispatch)
        assert outcomes == ["retry", "retry"]
        _sweep_at(session, moment + timedelta(seconds=95), dispatch)
        assert outcomes == ["retry", "retry", "sent"]
        _sweep_at(session, moment + timedelta(hours=1), dispatch)
        assert outcomes == ["retry", "retry", "sent"]
        # A duplicate task for it finds it sent.
        assert deliver_email(session, email.id, mailer, OPTIONS) == "skipped"
        received = server.sink.by_recipient()
    assert list(received) == ["c@example.org"] and len(received["c@example.org"]) == 1
    message = received["c@example.org"][0]
    assert message["Message-ID"] == f"<mda-delivery-{email.id}@example.org>"
    body = message.get_content()
    assert "https://mda.example.org/notifications/" in body
    assert trajectory.pseudonym not in body and trajectory.pseudonym not in message["Subject"]
    session.refresh(email)
    assert email.status is NotificationStatus.SENT and email.attempts == 3


def test_smtp_that_keeps_refusing_fails_after_the_last_attempt(session):
    _trajectory, deadline = _overdue_with_email(session)
    with SmtpServer(refuse=99) as server:
        mailer = SmtpMailer("127.0.0.1", server.port, timeout=5)
        outcomes: list[str] = []

        def dispatch(delivery_id):
            outcomes.append(deliver_email(session, delivery_id, mailer, OPTIONS))

        for minutes in (0, 10, 20, 30):
            _sweep_at(session, deadline.due_at + timedelta(minutes=minutes), dispatch)
        assert server.sink.received == []
    assert outcomes == ["retry", "retry", "failed"]
    email = session.scalars(select(Delivery).where(Delivery.channel == Channel.EMAIL)).one()
    session.refresh(email)
    assert email.status is NotificationStatus.FAILED and email.next_attempt_at is None


def test_a_deadline_met_before_its_email_went_cancels_the_email(session):
    trajectory, deadline = _overdue_with_email(session)
    sent: list[int] = []
    _sweep_at(session, deadline.due_at, sent.append)
    deadline_service.close_deadlines(
        session,
        trajectory,
        [deadline.kind],
        deadline_service.DeadlineStatus.MET,
        deadline.due_at,
        None,
    )
    session.flush()
    with SmtpServer() as server:
        mailer = SmtpMailer("127.0.0.1", server.port, timeout=5)
        assert deliver_email(session, sent[0], mailer, OPTIONS) == "cancelled"
        assert server.sink.received == []
