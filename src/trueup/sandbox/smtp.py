"""A real SMTP server on loopback that keeps what it receives: the demo's and the tests' mail sink.

aiosmtpd runs it on its own thread; `messages` holds each received mail, parsed. `fail_next` makes it
refuse the next N messages with a 451 (a transient failure), to show an alert waiting and going out once.
"""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.sink.lock:
            if self.sink.fail_next > 0:
                self.sink.fail_next -= 1
                return "451 4.3.0 try again later"
            content = envelope.original_content or b""
            mail = message_from_bytes(content, policy=policy.default)
            assert isinstance(mail, EmailMessage)
            self.sink.messages.append(mail)
            self.sink.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname=host, port=port or _free_port(host))

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]

    def config(self, sender: str = "trueup@demo.test") -> dict[str, Any]:
        """The `[alerts.smtp]` table that sends here."""
        return {"host": self.host, "port": self.port, "security": "none", "sender": sender}


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
