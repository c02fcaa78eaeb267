"""Delivery channels: e-mail over SMTP, a Slack incoming webhook, and a generic HMAC-signed webhook.

A channel either takes a message or raises `DeliveryError`; retrying is the outbox's business (task.py).

The generic webhook signs every request the way trueup's own inbound webhooks are signed:
  X-Trueup-Timestamp: Unix seconds when it was sent
  X-Trueup-Nonce:     random, new for every attempt
  X-Trueup-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<nonce>.<body>" with the shared secret>
  X-Trueup-Delivery:  the delivery's id, the same on every attempt: a receiver can drop a repeat with it
A receiver checks the signature over the raw body, and refuses a timestamp more than 5 minutes away from
its own clock (docs/alerts.md has the few lines of Python that do it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import aiohttp

from trueup.alerts.settings import SmtpConfig


class DeliveryError(Exception):
    """The channel did not take the message (refused, down, misconfigured)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "text"
    subtype: str = "csv"


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery: an alert, a digest, or a report. `data` is the JSON a webhook receives."""

    delivery: str  # stable id: the same message retried keeps it
    subject: str
    text: str
    data: dict[str, Any]
    html: str = ""
    attachments: tuple[Attachment, ...] = field(default=())


class Channel(Protocol):
    kind: str

    async def send(self, message: Message) -> None: ...


def sign(secret: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    """The X-Trueup-Signature value: the same scheme as trueup.web.webhooks verifies."""
    mac = hmac.new(secret, f"{timestamp}.{nonce}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes, headers: Any, body: bytes, *, now: float | None = None, window: float = 300
) -> bool:
    """What a receiver does (docs/alerts.md): the signature over the raw body, and a recent timestamp."""
    timestamp = str(headers.get("X-Trueup-Timestamp", ""))
    nonce = str(headers.get("X-Trueup-Nonce", ""))
    given = str(headers.get("X-Trueup-Signature", ""))
    if not timestamp.isdigit() or not nonce:
        return False
    expected = sign(secret, timestamp, nonce, body)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace")):
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= window


class EmailChannel:
    kind = "email"

    def __init__(self, smtp: SmtpConfig, recipients: Sequence[str], password: str | None = None) -> None:
        self.smtp, self.recipients, self.password = smtp, tuple(recipients), password

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.smtp.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        # the same alert sent again (at-least-once) has the same Message-ID, so mail systems can fold it
        mail["Message-ID"] = f"<{message.delivery}@trueup>"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        for a in message.attachments:
            mail.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
        return mail

    def _send(self, mail: EmailMessage) -> None:
        cfg = self.smtp
        context = ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if cfg.security == "tls":
                client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=context)
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
            with client:
                if cfg.security == "starttls":
                    client.starttls(context=context)
                if cfg.username:
                    if not self.password:
                        raise DeliveryError(f"SMTP login needs the password in {cfg.password_env}")
                    client.login(cfg.username, self.password)
                refused = client.send_message(mail)
            if refused:
                raise DeliveryError(f"the mail server refused {', '.join(sorted(refused))}")
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from exc

    async def send(self, message: Message) -> None:
        if not self.recipients:
            raise DeliveryError("no e-mail recipients")
        await asyncio.to_thread(self._send, self.build(message))


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        async with session.post(url, data=body, headers=headers) as response:
            if response.status >= 300:
                said = (await response.text())[:200]
                raise DeliveryError(f"HTTP {response.status} from the receiver: {said}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


class SlackChannel:
    """A Slack incoming webhook: a JSON body with `text` (Slack's mrkdwn)."""

    kind = "slack"

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def send(self, message: Message) -> None:
        text = message.text if len(message.text) < 35_000 else message.text[:35_000] + "\n…"
        body = json.dumps({"text": f"*{message.subject}*\n{text}"}).encode("utf-8")
        await _post(self.session, self.url, body, {"Content-Type": "application/json"})


class WebhookChannel:
    kind = "webhook"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session, self.url, self.secret, self.clock = session, url, secret, clock

    async def send(self, message: Message) -> None:
        body = json.dumps(message.data, default=str, sort_keys=True).encode("utf-8")
        timestamp, nonce = str(int(self.clock())), secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json",
            "X-Trueup-Timestamp": timestamp,
            "X-Trueup-Nonce": nonce,
            "X-Trueup-Signature": sign(self.secret, timestamp, nonce, body),
            "X-Trueup-Delivery": message.delivery,
        }
        await _post(self.session, self.url, body, headers)
