"""The price flow end to end in one process: a hand-fed ERP price list, the real engine and store, and the
sandbox Magento's price API over HTTP. Only changed prices are pushed; a row Magento refuses (200 with
errors) parks once, and only the rows it took reach pushed_prices, with the batch's outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from decimal import Decimal

import aiohttp
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.prices import MagentoPrices
from trueup.flows.prices import PriceFlow
from trueup.model.erp import ItemPrice, PriceKind
from trueup.model.prices import ALL_GROUPS, PRICE_KIND
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.stock_state import StoreStockState
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_prices import PriceState
from trueup.sandbox.serve import ServerThread
from trueup.store import Store
from trueup.store.schema import work
from trueup.store.stock import pushed_price_rows

D = Decimal


class PriceList:
    name = "erp"

    def __init__(self) -> None:
        self.listing: list[ItemPrice] = []

    async def prices(self) -> AsyncIterator[Sequence[ItemPrice]]:
        yield list(self.listing)


@pytest.fixture
async def rig(
    db_url: str, clock: FakeClock
) -> AsyncIterator[tuple[PriceFlow, PriceList, PriceState, Store, Engine]]:
    state = PriceState(products={f"SKU{i}" for i in range(5)})
    server = ServerThread(create_app(MagentoState(), token="t", prices=state))
    server.start()
    store = Store(db_url)
    backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
    async with aiohttp.ClientSession() as session:
        erp = PriceList()
        flow = PriceFlow(
            erp,
            MagentoPrices(MagentoClient(session, f"{server.url}/rest/default", "t")),
            StoreStockState(backend, clock),
            StoreExceptionQueue(backend, clock),
            currency="GBP",
            batch_size=2,
            storefront=MagentoPrices(MagentoClient(session, f"{server.url}/rest/default", "t")),
        )
        engine = Engine(backend, clock, RetryPolicy(0.01, 0.05, 5), Settings(batch_size=4))
        yield flow, erp, state, store, engine
    backend.close()
    store.close()
    server.stop()


async def test_changed_prices_only_and_a_refused_row_parks_once(
    rig: tuple[PriceFlow, PriceList, PriceState, Store, Engine], clock: FakeClock
) -> None:
    flow, erp, magento, store, engine = rig
    erp.listing = [ItemPrice(sku=f"SKU{i}", currency="GBP", price=D(f"{10 + i}.50")) for i in range(5)]
    erp.listing += [
        ItemPrice(sku="GHOST", currency="GBP", price=D("3.00")),  # not in the store's catalogue
        ItemPrice(sku="SKU1", currency="GBP", price=D("9.99"), kind=PriceKind.SPECIAL),
        ItemPrice(sku="SKU0", currency="EUR", price=D("12.00")),
    ]
    schedule = Schedule(flow, "erp", 60)
    await engine.drain(schedule)
    assert magento.base == {f"SKU{i}": D(f"{10 + i}.50") for i in range(5)}
    assert magento.special == {"SKU1": D("9.99")}
    assert (flow.pushed, flow.rejected) == (6, 1)
    assert store.counts_by_reason() == {"price_rejected": 1}
    with store.tx() as conn:
        pushed = {r[0] for r in pushed_price_rows(conn) if r[1] == "base"}
    assert pushed == {f"SKU{i}" for i in range(5)}  # not GHOST

    erp.listing[2] = ItemPrice(sku="SKU2", currency="GBP", price=D("99.00"))
    clock.advance(60)
    calls = magento.calls
    await engine.drain(schedule)
    assert magento.base["SKU2"] == D("99.00")
    assert flow.pushed == 7  # SKU2 only; GHOST is offered again and refused again
    assert flow.last_plan is not None and flow.last_plan.changed == 2  # SKU2 and GHOST, nothing else
    assert magento.calls == calls + flow.last_plan.batches
    assert store.counts_by_reason() == {"price_rejected": 1}
    assert set(store.counts(PRICE_KIND)) == {"done"}
    with store.tx() as conn:
        assert ("GHOST", "base", ALL_GROUPS, 1) not in {r[:4] for r in pushed_price_rows(conn)}


async def test_a_price_changed_in_the_storefront_is_drift_unless_a_push_is_in_flight(
    rig: tuple[PriceFlow, PriceList, PriceState, Store, Engine], clock: FakeClock
) -> None:
    flow, erp, magento, store, engine = rig
    erp.listing = [ItemPrice(sku=f"SKU{i}", currency="GBP", price=D("10.00")) for i in range(3)]
    await engine.drain(Schedule(flow, "erp", 60))
    assert (await flow.check_drift()).findings == 0

    magento.base["SKU0"] = D("1.00")  # an admin's typo
    drift = await flow.check_drift()
    assert (drift.findings, drift.parked) == (1, 1)
    with store.tx() as conn:
        row = conn.execute(select(work).where(work.c.reason == "price_drift")).one()
    assert row.owner == "ecommerce" and "9.00 GBP a unit at risk" in row.detail

    # SKU1's new price is planned but not pushed yet: the storefront is behind, which is not drift.
    erp.listing[1] = ItemPrice(sku="SKU1", currency="GBP", price=D("12.00"))
    clock.advance(60)
    async for rows, cursor in flow.observe(None, clock.now()):
        await engine.backend.enqueue(rows, clock.now(), ("prices", "erp", cursor))
    magento.base["SKU1"] = D("11.00")
    assert (await flow.check_drift()).findings == 1  # SKU0 only
