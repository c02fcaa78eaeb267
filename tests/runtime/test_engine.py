"""The engine around its workers: what a pass does when the item refresh cannot finish."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import pytest

from tests.runtime.test_worker import ScriptedFlow
from trueup.errors import Fatal, RateLimited
from trueup.model.work import Job, NewWork, Outcome
from trueup.runtime.backend import EmbeddedBackend
from trueup.runtime.clock import SystemClock
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.store import Store


class Orders(ScriptedFlow):
    name = "orders"

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        yield [NewWork("order.post", k, "orders", f"order:{k}", "{}", "v1") for k in ("A", "B")], "c1"

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        return await super().handle(jobs)


class StormyItems:
    """An item refresh the ERP answers 429 to, every time."""

    name = "items"

    async def sync(self) -> object:
        raise RateLimited("ERP GET /items: 429 rate limited", retry_after=0.001)


@pytest.fixture
def engine(sqlite_url: str) -> Engine:
    store = Store(sqlite_url)
    backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
    yield Engine(backend, SystemClock(), RetryPolicy(0.001, 0.01, 3), Settings())
    backend.close()
    store.close()


async def test_orders_post_with_the_item_map_already_held_when_the_refresh_fails(engine: Engine) -> None:
    flow = Orders("orders")
    totals = await engine.drain(Schedule(flow, "magento", 1.0), before=[StormyItems()], items_held=True)
    assert totals["done"] == 2


async def test_without_an_item_map_a_failed_refresh_still_stops_the_pass(engine: Engine) -> None:
    with pytest.raises(Fatal, match="429"):
        await engine.drain(Schedule(Orders("orders"), "magento", 1.0), before=[StormyItems()])
