"""In `trueup run` the alert task is one more periodic task: with its receiver down, orders still post,
and the failed delivery waits in the outbox instead of failing anything."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

from sqlalchemy import select

from tests.alerts.helpers import SECRET, config, park
from tests.conftest import FakeClock
from tests.runtime.test_engine import Orders
from trueup.alerts.task import AlertTask
from trueup.model.work import Status
from trueup.runtime.backend import EmbeddedBackend
from trueup.runtime.clock import SystemClock
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.store import Store
from trueup.store.schema import alerts


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once it is closed: connection refused


async def test_a_dead_alert_receiver_never_holds_up_the_order_lane(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    clock = SystemClock()
    park(store, FakeClock(clock.now()), ["X1"])
    backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
    routes = {"finance": {"webhook_url": f"http://127.0.0.1:{_closed_port()}/x", "webhook_secret_env": "S"}}
    task = AlertTask(store, config(routes), clock, backend.call, environ={"S": SECRET})
    stop, synced, posted = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def on_event(event: dict[str, object]) -> None:
        if event.get("event") == "synced" and event.get("task") == "alerts":
            synced.set()
        if event.get("event") == "batch" and event.get("lane") == "orders":
            posted.set()
        if synced.is_set() and posted.is_set():
            stop.set()

    engine = Engine(backend, clock, RetryPolicy(0.001, 0.01, 3), Settings(), on_event=on_event)
    flow = Orders("orders")
    await asyncio.wait_for(engine.run([Schedule(flow, "magento", 3600)], [(task, 3600)], stop), 60)
    assert store.counts("order.post") == {Status.DONE: 2}
    with store.tx() as conn:
        status, attempts, error = conn.execute(
            select(alerts.c.status, alerts.c.attempts, alerts.c.last_error)
        ).one()
    assert (status, attempts) == ("pending", 1) and "Connect" in error
    assert not any(b.is_open for b in engine.breakers.values())
    backend.close()
    store.close()
