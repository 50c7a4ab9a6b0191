"""A real SMTP server on loopback for the tests (aiosmtpd), that can refuse for a while."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.servers import free_port


@dataclass
class Sink:
    """Keeps every message accepted; answers 451 (try again later) to the first ``refuse``."""

    refuse: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 try again later"
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        found: dict[str, list[EmailMessage]] = {}
        with self.lock:
            for message in self.received:
                found.setdefault(str(message["To"]), []).append(message)
        return found


class SmtpServer:
    def __init__(self, refuse: int = 0) -> None:
        self.sink = Sink(refuse=refuse)
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
