"""E-mail: the mailers (SMTP, or ``.eml`` files in the embedded default) and the delivery of one
e-mail notification, safe to run twice.

An e-mail names no household: its subject and lines are those of the in-app notification
(:func:`mda.services.notifications.describe`), which never carry a pseudonym, and it links
into the product (the notifications page), not to a trajectory.

:func:`deliver_email` runs in three steps so that no database lock is held while talking to
the mail server: claim the delivery (one transaction: pending, not claimed by a live run, a
lease set), send, then record the outcome (another transaction; only the run that claimed it
may). A failure sets ``next_attempt_at`` by exponential back-off; a later sweep dispatches the
delivery again then, so retries need no countdown task. After ``max_attempts`` it is failed.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session

from mda.models import Deadline, Delivery, Notification, NotificationSettings, User
from mda.services.messages import Text, msg
from mda.services.notifications import describe
from mda.services.settings import settings_of
from mda.services.uow import unit_of_work
from mda.vocabulary import Channel, DeadlineStatus, NotificationKind, NotificationStatus

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage, key: str) -> None:
        """Send ``message``; ``key`` names it (the same key is the same message)."""


class MailError(Exception):
    """The mail server refused or could not be reached; worth trying again later."""


@dataclass
class SmtpMailer:
    """SMTP (``MDA_SMTP_HOST`` and friends), with STARTTLS and login when configured."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, message: EmailMessage, key: str) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            code = getattr(exc, "smtp_code", None)
            raise MailError(f"{type(exc).__name__}{f' {code}' if code else ''}") from exc


@dataclass
class FileMailer:
    """The embedded default: each e-mail is a ``<key>.eml`` file in a folder (``mail/``).

    Written to a temporary name and renamed, so a reader never sees half a message and the
    same key written twice is still one file.
    """

    folder: Path

    def send(self, message: EmailMessage, key: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            target = self.folder / f"{key}.eml"
            partial = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(partial, target)
        except OSError as exc:
            raise MailError(type(exc).__name__) from exc


def mailer_from_config(config: Mapping[str, Any], instance_path: str) -> Mailer:
    """SMTP when ``MDA_SMTP_HOST`` is set; otherwise ``.eml`` files in the instance folder."""
    host = config.get("SMTP_HOST")
    if host:
        return SmtpMailer(
            host=str(host),
            port=int(config.get("SMTP_PORT") or 25),
            user=config.get("SMTP_USER") or None,
            password=config.get("SMTP_PASSWORD") or None,
            starttls=bool(config.get("SMTP_STARTTLS")),
            timeout=float(config.get("SMTP_TIMEOUT") or 10),
        )
    folder = config.get("MAIL_FOLDER") or os.path.join(instance_path, "mail")
    return FileMailer(Path(folder))


@dataclass(frozen=True)
class DeliveryOptions:
    sender: str = "MDA++ <mda@localhost>"
    base_url: str = "http://localhost:8000"
    lease: timedelta = timedelta(minutes=5)
    retry_base: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(hours=6)
    max_attempts: int = 8

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliveryOptions:
        default = cls()
        return cls(
            sender=str(config.get("SMTP_FROM") or default.sender),
            base_url=str(config.get("PUBLIC_URL") or default.base_url).rstrip("/"),
            lease=timedelta(
                seconds=float(config.get("DELIVERY_LEASE_SECONDS") or default.lease.total_seconds())
            ),
            retry_base=timedelta(
                seconds=float(
                    config.get("DELIVERY_RETRY_SECONDS") or default.retry_base.total_seconds()
                )
            ),
            max_attempts=int(config.get("DELIVERY_MAX_ATTEMPTS") or default.max_attempts),
        )

    def backoff(self, attempts: int) -> timedelta:
        """1, 2, 4, 8... times the base after the 1st, 2nd, 3rd... failure, at most the max."""
        return min(self.retry_base * (2 ** max(0, attempts - 1)), self.retry_max)


#: Says a message in a language: ``say(text, "nl")``. The worker passes the web layer's
#: catalogue; the default is the English text itself.
Say = Callable[[Text, str], str]


def _english(text: Text, language: str) -> str:
    return str(text)


def compose(
    notification: Notification,
    to: str,
    language: str,
    options: DeliveryOptions,
    say: Say = _english,
    message_id: str | None = None,
) -> EmailMessage:
    """The e-mail of a notification: its title and lines, a link, no pseudonym."""
    described = describe(notification)
    link = f"{options.base_url}/notifications/"
    if notification.kind is NotificationKind.DIGEST:
        link = f"{options.base_url}/trajectories/"
    lines = [say(line, language) for line in described.lines]
    lines += [
        "",
        say(msg("Open MDA++ to see more: %(link)s", link=link), language),
        "",
        say(msg("This message names no household. Do not reply to it."), language),
    ]
    message = EmailMessage()
    message["Subject"] = say(described.title, language)
    message["From"] = options.sender
    message["To"] = to
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = message_id or make_msgid(domain="mda.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines) + "\n")
    return message


def deliver_email(
    session: Session,
    delivery_id: int,
    mailer: Mailer,
    options: DeliveryOptions | None = None,
    say: Say = _english,
    run_id: str | None = None,
) -> str:
    """Send one e-mail delivery, once; returns what happened (sent, skipped, cancelled,
    retry, failed). Safe to run twice, and concurrently: only one run claims it.
    """
    options = options or DeliveryOptions()
    run_id = run_id or uuid.uuid4().hex
    now = settings_of(session).now()
    table = cast(Table, Delivery.__table__)
    with unit_of_work(session):
        claimed = session.execute(
            update(table)
            .where(
                table.c.id == delivery_id,
                table.c.channel == Channel.EMAIL.value,
                table.c.status == NotificationStatus.PENDING.value,
                or_(table.c.claimed_by.is_(None), table.c.next_attempt_at <= now),
            )
            .values(
                claimed_by=run_id,
                next_attempt_at=now + options.lease,
                attempts=table.c.attempts + 1,
            )
        )
        if not getattr(claimed, "rowcount", 0):
            return "skipped"  # sent already, failed, or another run has it
        found = session.execute(
            select(Delivery, Notification, NotificationSettings, User)
            .join(Notification, Notification.id == Delivery.notification_id)
            .join(User, User.id == Notification.recipient_id)
            .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id)
            .where(Delivery.id == delivery_id)
            .execution_options(populate_existing=True)
        ).one()
        delivery, notification, contact, user = found
        why_not = None
        if not user.active or contact is None or not contact.email or not contact.email_enabled:
            why_not = "no address"
        elif notification.deadline_id is not None:
            status = session.scalar(
                select(Deadline.status).where(Deadline.id == notification.deadline_id)
            )
            if status is not DeadlineStatus.OPEN:
                why_not = f"deadline {status.value if status else 'gone'}"
        if why_not is not None:
            delivery.status = NotificationStatus.CANCELLED
            delivery.claimed_by = None
            delivery.next_attempt_at = None
            delivery.last_error = why_not
            return "cancelled"
        assert contact is not None and contact.email is not None
        message = compose(
            notification,
            contact.email,
            contact.language or "nl",
            options,
            say,
            message_id=f"<mda-delivery-{delivery.id}@{_domain(options.sender)}>",
        )
        attempts, due_at = delivery.attempts, delivery.due_at
    try:
        mailer.send(message, f"delivery-{delivery_id}")
    except MailError as exc:
        error: str | None = str(exc)[:200]
    else:
        error = None
    done = settings_of(session).now()
    with unit_of_work(session):
        if error is None:
            values: dict[str, Any] = {
                "status": NotificationStatus.SENT.value,
                "sent_at": done,
                "delay_seconds": max(0, int((done - due_at).total_seconds())),
                "claimed_by": None,
                "next_attempt_at": None,
                "last_error": None,
            }
            outcome = "sent"
        elif attempts >= options.max_attempts:
            values = {
                "status": NotificationStatus.FAILED.value,
                "claimed_by": None,
                "next_attempt_at": None,
                "last_error": error,
            }
            outcome = "failed"
        else:
            values = {
                "claimed_by": None,
                "next_attempt_at": done + options.backoff(attempts),
                "last_error": error,
            }
            outcome = "retry"
        session.execute(
            update(table)
            .where(table.c.id == delivery_id, table.c.claimed_by == run_id)
            .values(**values)
        )
    if error is not None:
        log.warning("e-mail delivery %s: %s (%s)", delivery_id, error, outcome)
    return outcome


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "mda.invalid"
