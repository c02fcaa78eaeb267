"""One `sync orders --once` pass, in process: the real ledger, lane worker and order flow over a real
connector and its sandbox, with a clock the test moves. Observation is replaced by enqueuing the orders
the test built, so each test says exactly which orders the pass meets."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from trueup.flows.acks import AckPolicy
from trueup.flows.orders import KIND, LANE, OrderFlow, OrderRules, observed_work
from trueup.model.items import ErpItem
from trueup.model.orders import Address, Customer, Order, OrderLine, Payment, PaymentState, Shipping
from trueup.ports import Clock, ErpConnector, SourceOrder
from trueup.runtime.backend import EmbeddedBackend
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.worker import LaneWorker
from trueup.store import Store
from trueup.store.schema import work

D = Decimal
CARRIERS = {"flatrate_flatrate": ("RM", "TRACKED48")}


def order(order_id: str, *lines: tuple[str, str, str], at: datetime) -> Order:
    """A paid GB order; each line is (sku, qty, name), priced 10.00 + 20% VAT a unit."""
    address = Address(
        first_name="Ann",
        last_name="Smith",
        street=("10 High Street",),
        city="Leeds",
        postcode="LS1 4AP",
        country="GB",
    )
    built = [
        OrderLine(
            line_id=str(i + 1),
            sku=sku,
            name=name,
            qty=D(qty),
            row_total=D("10.00") * D(qty),
            tax=D("2.00") * D(qty),
            tax_rate=D("20"),
        )
        for i, (sku, qty, name) in enumerate(lines)
    ]
    net = sum((ln.row_total for ln in built), D(0))
    tax = sum((ln.tax for ln in built), D(0))
    return Order(
        order_id=order_id,
        storefront_entity_id=order_id or "0",
        storefront="magento",
        status="processing",
        currency="GBP",
        created_at=at,
        updated_at=at,
        customer=Customer(email="ann@example.co.uk", first_name="Ann", last_name="Smith"),
        billing_address=address,
        shipping_address=address,
        lines=tuple(built),
        shipping=Shipping(method="flatrate_flatrate"),
        payment=Payment(method="checkmo", state=PaymentState.CAPTURED, amount_paid=net + tax),
        subtotal=net,
        tax_total=tax,
        grand_total=net + tax,
    )


class ItemsFromErp:
    """trueup's item map as the item sync would have filled it, with optional overrides (an item the
    ERP discontinued after the map was last refreshed)."""

    def __init__(self, items: Mapping[str, ErpItem]) -> None:
        self.items = dict(items)

    async def items_for(self, skus: object) -> Mapping[str, ErpItem]:
        return self.items

    async def save_items(self, items: Sequence[ErpItem]) -> int:
        return 0

    async def replan_parked(self, reasons: Sequence[str], why: str) -> int:
        return 0


class _Source:
    name = "magento"


@dataclass
class Runner:
    erp: ErpConnector
    store: Store
    clock: Clock
    items: ItemsFromErp
    policy: AckPolicy = field(
        default_factory=lambda: AckPolicy(check_every=timedelta(minutes=1), timeout=timedelta(minutes=30))
    )

    def flow(self) -> OrderFlow:
        rules = OrderRules(limits=self.erp.limits, carriers=CARRIERS)
        return OrderFlow(_Source(), self.erp, self.items, rules, self.clock, ack_policy=self.policy)  # type: ignore[arg-type]

    def enqueue(self, orders: Sequence[Order]) -> None:
        rows = [observed_work(SourceOrder(o.order_id, "v1", o), "magento") for o in orders]
        self.store.enqueue(rows, self.clock.now(), None)

    async def drain(self) -> None:
        """One pass: returns when nothing is left to do (awaiting payment or an acknowledgement aside)."""
        backend = EmbeddedBackend(self.store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=5))
        try:
            await backend.start("test-worker", self.clock.now())
            worker = LaneWorker(self.flow(), backend, RetryPolicy(0.001, 0.01, 3), self.clock, "test-worker")
            drained = asyncio.Event()
            drained.set()
            await asyncio.wait_for(worker.run(asyncio.Event(), drain_after=drained), 120)
        finally:
            backend.close()

    def rows(self) -> dict[str, dict[str, Any]]:
        with self.store.tx() as conn:
            found = conn.execute(select(work).where(work.c.kind == KIND, work.c.lane == LANE))
            return {str(r.key): dict(r._mapping) for r in found}


async def erp_items(erp: ErpConnector) -> dict[str, ErpItem]:
    return {i.sku: i for page in [p async for p in erp.items()] for i in page}
