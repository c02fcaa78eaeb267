"""Stock and orders run in separate lanes (R-STK-5): a big stock backlog, stuck behind a storefront that
is slow to take it, does not hold back a single order. Asserted on order, not time: every order is posted
while the stock lane still has most of its batches to push."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from tests.conftest import FakeClock
from tests.flows.stock_rig import RigFactory
from trueup.model.stock import STOCK_LANE, PushReport, SourceQty
from trueup.model.work import Done, Job, NewWork, Outcome
from trueup.runtime.engine import Schedule

ORDERS = 300
STOCK_ROWS = 20_000


class Orders:
    """An order flow whose ERP answers at once."""

    name = "orders"
    lane = "orders"

    def __init__(self) -> None:
        self.posted = 0
        self.all_posted = asyncio.Event()

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        for start in range(0, ORDERS, 100):
            yield (
                [
                    NewWork("order.post", f"{i:09d}", "orders", f"order:{i}", "{}", "v1")
                    for i in range(start, start + 100)
                ],
                f"{start}",
            )

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        self.posted += len(jobs)
        if self.posted >= ORDERS:
            self.all_posted.set()
        return [Done(job, "ERP-1") for job in jobs]


class SlowStorefront:
    """Magento reindexing: each stock batch waits until the gate opens."""

    def __init__(self, sink: object) -> None:
        self.name = "magento"
        self.gate = asyncio.Event()
        self.pushed = 0
        self.done = asyncio.Event()

    async def push_stock_batch(self, rows: Sequence[SourceQty]) -> PushReport:
        await self.gate.wait()
        self.pushed += len(rows)
        if self.pushed >= STOCK_ROWS:
            self.done.set()
        return PushReport(api_calls=1)


async def test_orders_all_post_while_a_big_stock_push_is_still_outstanding(
    sqlite_url: str, clock: FakeClock
) -> None:
    factory = RigFactory(sqlite_url, clock)
    try:
        rig = await factory.build(batch_size=50)
        rig.erp.page_size = 5000
        for i in range(STOCK_ROWS):
            rig.erp.levels[(f"SKU{i:06d}", "WEB")] = {"on_hand": i % 17}
        slow = SlowStorefront(rig.flow.sink)
        rig.flow.sink = slow
        orders = Orders()
        stop = asyncio.Event()
        running = asyncio.create_task(
            rig.engine.run([Schedule(rig.flow, "erp", 3600), Schedule(orders, "magento", 3600)], [], stop)
        )
        await asyncio.wait_for(orders.all_posted.wait(), 60)
        outstanding = await rig.backend.outstanding(STOCK_LANE)
        # The stock backlog is planned (400 batches) and stuck, yet every order went through.
        assert rig.flow.last_plan is not None and rig.flow.last_plan.batches == STOCK_ROWS // 50
        assert outstanding == rig.flow.last_plan.batches and slow.pushed == 0
        assert await rig.backend.outstanding("orders") == 0
        assert rig.store.counts("order.post") == {"done": ORDERS}

        slow.gate.set()  # the storefront catches up: the backlog drains too
        await asyncio.wait_for(slow.done.wait(), 120)
        stop.set()
        await running
        assert slow.pushed == STOCK_ROWS
    finally:
        await factory.close()
