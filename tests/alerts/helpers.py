"""Shared by the alert tests: parked exceptions in a real store, and a local HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.conftest import FakeClock
from trueup.alerts.channels import verify
from trueup.alerts.settings import AlertsConfig
from trueup.model.exceptions import Reason
from trueup.model.work import NewWork, Problem
from trueup.store import Store

SECRET = "a-webhook-secret-of-32-characters"


def park(store: Store, clock: FakeClock, keys: list[str], reason: Reason = Reason.TAX_VARIANCE) -> None:
    rows = [
        NewWork(
            kind="order",
            key=k,
            lane="orders",
            lock=f"order:{k}",
            payload="{}",
            source_version="1",
            parked=Problem.of(reason, f"order {k}: the tax differs by 0.05.", impact_minor=5, currency="GBP"),
        )
        for k in keys
    ]
    store.enqueue(rows, clock.now())


def config(routes: dict[str, Any], smtp: dict[str, Any] | None = None, **kw: Any) -> AlertsConfig:
    return AlertsConfig.model_validate({"routes": routes, "smtp": smtp or {}, **kw})


@dataclass
class Receiver:
    """Records every POST; answers `fail` times with 503 first. Checks the HMAC when `secret` is set."""

    fail: int = 0
    secret: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        entry = {"path": request.path, "headers": dict(request.headers), "json": json.loads(body)}
        self.posts.append(entry)
        if self.secret and not verify(self.secret.encode(), request.headers, body):
            self.bad_signatures += 1
            return web.Response(status=401, text="bad signature")
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=503, text="down for maintenance")
        self.accepted.append(entry)
        return web.Response(text="ok")


@asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()
