"""The alert task: a periodic task of `trueup run`, level-triggered and idempotent.

One pass (`sync`):
1. scan: parked ledger rows after the cursor (parked-at, row id), re-reading `lookback_seconds` before it
   so that a transaction that committed late is not skipped; each becomes one outbox row per channel of
   its owner's route (unique on channel, reason, key: a re-read inserts nothing). Each page of rows and
   the cursor advance commit together.
2. deliver: the due outbox rows, per channel and reason. Up to `burst_threshold` in the burst window go
   one alert each; beyond it, one alert plus one digest listing the rest (or only a digest once an alert
   of that reason went out in the window). A row is marked sent after its channel took it, so a crash in
   between sends it again: delivery is at-least-once, never at-most-once. A failed channel backs off
   exponentially, as a whole, and never raises: flows never wait for an alert.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import aiohttp

from trueup.alerts import outbox
from trueup.alerts.channels import Channel, DeliveryError, EmailChannel, Message, SlackChannel, WebhookChannel
from trueup.alerts.messages import alert, digest
from trueup.alerts.settings import AlertsConfig, RouteConfig
from trueup.config import secret_value
from trueup.errors import Fatal
from trueup.ports import Clock
from trueup.store import Store

T = TypeVar("T")
PAGE = 1000
DUE_PER_PASS = 20_000


async def inline(fn: Callable[[], T]) -> T:
    return fn()


@dataclass
class PassResult:
    queued: int = 0
    sent: Counter[str] = field(default_factory=Counter)  # messages by channel kind
    alerts: int = 0
    digests: int = 0
    cleared: int = 0
    failed: int = 0  # failed attempts this pass
    given_up: int = 0


class AlertTask:
    """`trueup run`'s alerting (a periodic task of the engine, with its own circuit breaker)."""

    name = "alerts"
    system = "alerts"

    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        clock: Clock,
        call: Callable[[Callable[[], Any]], Awaitable[Any]] = inline,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.store, self.config, self.clock, self.call = store, config, clock, call
        self.environ = environ
        self.sent: Counter[str] = Counter()  # messages delivered since start, by channel kind
        self.sent_by_route: Counter[str] = Counter()  # and by channel name (`email:finance`)
        # each channel's last delivery error, for the log and `trueup alerts status`
        self.errors: dict[str, str] = {}

    # -- scanning -------------------------------------------------------------------------------------
    def channels_of(self, team: str | None) -> list[str]:
        route = self.config.route_for(team)
        if route is None:
            return []
        name, cfg = route
        return [f"{kind}:{name}" for kind in cfg.channel_kinds()]

    def scan(self) -> int:
        """Queue every exception parked since the cursor; returns the outbox rows added."""
        now = self.clock.now()
        added = 0
        with self.store.tx() as conn:
            held = outbox.read_cursor(conn)
        if held is None:
            after = (now - timedelta(hours=self.config.first_scan_hours), 0)
        else:
            after = (held[0] - timedelta(seconds=self.config.lookback_seconds), 0)
        while True:
            with self.store.tx() as conn:
                page = outbox.scan_page(conn, after, PAGE)
                if not page:
                    return added
                rows = [outbox.outbox_row(ch, r, now) for r in page for ch in self.channels_of(r.owner)]
                last = (page[-1].raised_at, page[-1].work_id)
                added += outbox.queue(conn, rows, last, now)
            after = last
            if len(page) < PAGE:
                return added

    # -- delivering -----------------------------------------------------------------------------------
    def _backoff(self, attempts: int) -> timedelta:
        cfg = self.config
        seconds = min(cfg.retry_max_seconds, cfg.retry_base_seconds * 2.0 ** min(max(attempts - 1, 0), 30))
        return timedelta(seconds=seconds)

    def _route(self, channel: str) -> tuple[str, str, RouteConfig] | None:
        kind, _, team = channel.partition(":")
        cfg = self.config.routes.get(team)
        return (kind, team, cfg) if cfg is not None else None

    def make_channel(self, session: aiohttp.ClientSession, channel: str) -> Channel:
        """The channel named `kind:team`; its secret is read now, so a fixed environment takes effect."""
        found = self._route(channel)
        if found is None:
            raise DeliveryError(f"no route for {channel} in [alerts.routes] any more")
        kind, _team, cfg = found
        if kind == "email":
            smtp = self.config.smtp
            password = secret_value(smtp.password_env, self.environ) if smtp.username else None
            return EmailChannel(smtp, cfg.email, password)
        if kind == "slack":
            assert cfg.slack_url_env is not None
            url = secret_value(cfg.slack_url_env, self.environ)
            if not url:
                raise DeliveryError(f"set {cfg.slack_url_env} to the Slack incoming-webhook URL")
            return SlackChannel(session, url)
        key = secret_value(cfg.webhook_secret_env, self.environ)
        if not key or len(key) < 16:
            raise DeliveryError(f"set {cfg.webhook_secret_env} to the webhook's secret (16+ characters)")
        return WebhookChannel(session, cfg.webhook_url, key.encode("utf-8"))

    def plan(self, rows: list[outbox.Due]) -> list[tuple[str, str, Message, list[int]]]:
        """Group due rows into messages: (channel, role, message, outbox ids), per channel and reason."""
        now = self.clock.now()
        window = now - timedelta(minutes=self.config.burst_window_minutes)
        groups: dict[tuple[str, str], list[outbox.Due]] = defaultdict(list)
        for row in rows:
            groups[(row.channel, row.reason)].append(row)
        planned: list[tuple[str, str, Message, list[int]]] = []
        for (channel, reason), group in groups.items():
            team = channel.partition(":")[2]
            with self.store.tx() as conn:
                before = outbox.sent_since(conn, channel, reason, window)
            if before + len(group) <= self.config.burst_threshold:
                planned += [(channel, "alert", alert(r, team), [r.id]) for r in group]
                continue
            rest = group
            if before == 0:
                planned.append((channel, "alert", alert(group[0], team), [group[0].id]))
                rest = group[1:]
            if rest:
                message = digest(rest, team, after_alert=before == 0)
                planned.append((channel, "digest", message, [r.id for r in rest]))
        return planned

    def _due(self) -> tuple[list[outbox.Due], int]:
        """Due rows whose exception is still open; those cleared meanwhile are marked so, not sent."""
        now = self.clock.now()
        with self.store.tx() as conn:
            rows = outbox.due(conn, now, DUE_PER_PASS)
            gone = [r.id for r in rows if not r.still_open]
            outbox.mark_cleared(conn, gone)
        return [r for r in rows if r.still_open], len(gone)

    def record_sent(self, ids: list[int], role: str, delivery: str) -> None:
        with self.store.tx() as conn:
            outbox.mark_sent(conn, ids, role=role, delivery=delivery, now=self.clock.now())

    def _record_failure(self, channel: str, ids: list[int], attempts: int, error: str) -> int:
        now = self.clock.now()
        backoff = self._backoff(attempts)
        with self.store.tx() as conn:
            given_up = outbox.mark_failed(
                conn, ids, error=error, now=now, backoff=backoff, max_attempts=self.config.max_attempts
            )
            outbox.delay_channel(conn, channel, now + backoff, now)
        return given_up

    async def deliver(self) -> PassResult:
        result = PassResult()
        rows, result.cleared = await self.call(self._due)
        if not rows:
            return result
        attempts = {r.id: r.attempts for r in rows}
        planned = await self.call(lambda: self.plan(rows))
        down: set[str] = set()
        async with self._session() as session:
            made: dict[str, Channel | DeliveryError] = {}
            for channel, role, message, ids in planned:
                if channel in down:
                    continue
                try:
                    if channel not in made:
                        try:
                            made[channel] = self.make_channel(session, channel)
                        except (DeliveryError, Fatal) as exc:  # a secret missing or unreadable
                            made[channel] = DeliveryError(str(exc))
                    target = made[channel]
                    if isinstance(target, DeliveryError):
                        raise target
                    await target.send(message)
                except DeliveryError as exc:
                    down.add(channel)
                    self.errors[channel] = str(exc)
                    result.failed += 1
                    worst = max(attempts[i] for i in ids) + 1
                    result.given_up += await self.call(
                        partial(self._record_failure, channel, ids, worst, str(exc))
                    )
                    continue
                await self.call(partial(self.record_sent, ids, role, message.delivery))
                kind = channel.partition(":")[0]
                result.sent[kind] += 1
                self.sent[kind] += 1
                self.sent_by_route[channel] += 1
                result.alerts += role == "alert"
                result.digests += role == "digest"
        return result

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[aiohttp.ClientSession]:
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            yield session

    async def sync(self) -> PassResult:
        """One pass: scan, then deliver what is due."""
        queued = await self.call(self.scan)
        result = await self.deliver()
        result.queued = queued
        return result
