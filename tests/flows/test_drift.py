"""Drift findings as exceptions (R-MON-2): stock and every kind of price trueup sets (base, special, tier),
in `trueup exceptions list`'s queue; a drift that goes away clears itself, one that comes back is reopened
even after a person resolved it, and a drift that a push in flight is about to fix is not an exception."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import aiohttp
import pytest

from tests.conftest import FakeClock
from tests.flows.stock_rig import RigFactory
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.prices import MagentoPrices
from trueup.flows.prices import PriceFlow
from trueup.model.erp import ItemPrice, PriceKind
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue
from trueup.runtime.drift_findings import StoreDriftFindings
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.stock_state import StoreStockState
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_prices import PriceState
from trueup.sandbox.serve import ServerThread
from trueup.store import Store
from trueup.store.exceptions import ExceptionRow, act, list_exceptions

D = Decimal


@pytest.fixture
async def rigs(db_url: str, clock: FakeClock) -> AsyncIterator[RigFactory]:
    factory = RigFactory(db_url, clock)
    yield factory
    await factory.close()


def open_drift(store: Store, reason: str) -> list[ExceptionRow]:
    with store.tx() as conn:
        return list_exceptions(conn, reason=reason)


def status_of(store: Store, reason: str) -> dict[str, tuple[str, str | None]]:
    from sqlalchemy import select

    from trueup.store.schema import work

    with store.tx() as conn:
        rows = conn.execute(select(work.c.key, work.c.status, work.c.result).where(work.c.reason == reason))
        return {str(k): (str(s), r) for k, s, r in rows}


async def test_stock_drift_clears_when_gone_and_reopens_when_back(rigs: RigFactory, clock: FakeClock) -> None:
    rig = await rigs.build(drift_age=timedelta(0))
    rig.flow.findings = StoreDriftFindings(rig.backend, clock)
    rig.erp.set("A", 5)
    rig.erp.set("B", 8)
    await rig.sync()

    rig.inventory.set_quantity("A", "default", 9)
    assert (await rig.flow.check_drift()).parked == 1
    [row] = open_drift(rig.store, "stock_drift")  # what `trueup exceptions list` shows
    assert row.key.endswith("stock:A@default") and row.owner == "warehouse"

    # A person resolves it while the drift is still there: their decision stands, no nagging.
    with rig.store.tx() as conn:
        assert act(conn, "resolve", row, actor="ops", note="looking into it", now=clock.now())
    await rig.flow.check_drift()
    assert open_drift(rig.store, "stock_drift") == []

    rig.inventory.set_quantity("A", "default", 5)  # put right
    assert (await rig.flow.check_drift()).findings == 0
    assert set(status_of(rig.store, "stock_drift").values()) == {("resolved", "cleared")}

    rig.inventory.set_quantity("A", "default", 1)  # and wrong again: reopened
    await rig.flow.check_drift()
    assert [r.status for r in open_drift(rig.store, "stock_drift")] == ["parked"]

    # B changes in the ERP and A is put right; B's batch is planned, not pushed: Magento is behind on B, but
    # that is not drift, and A's finding clears by itself.
    rig.inventory.set_quantity("A", "default", 5)
    rig.erp.set("B", 2)
    async for rows, cursor in rig.flow.observe(None, clock.now()):
        await rig.backend.enqueue(rows, clock.now(), ("stock", "erp", cursor))
    assert (await rig.flow.check_drift()).findings == 0
    assert open_drift(rig.store, "stock_drift") == []


class PriceList:
    name = "erp"

    def __init__(self) -> None:
        self.listing: list[ItemPrice] = []

    async def prices(self) -> AsyncIterator[Sequence[ItemPrice]]:
        yield list(self.listing)


@dataclass
class PriceRig:
    flow: PriceFlow
    erp: PriceList
    magento: PriceState
    store: Store
    engine: Engine


@pytest.fixture
async def prices(db_url: str, clock: FakeClock) -> AsyncIterator[PriceRig]:
    state = PriceState(products={"A", "B"})
    server = ServerThread(create_app(MagentoState(), token="t", prices=state))
    server.start()
    store = Store(db_url)
    backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
    async with aiohttp.ClientSession() as session:
        magento = MagentoPrices(MagentoClient(session, f"{server.url}/rest/default", "t"))
        erp = PriceList()
        flow = PriceFlow(
            erp,
            magento,
            StoreStockState(backend, clock),
            StoreExceptionQueue(backend, clock),
            currency="GBP",
            storefront=magento,
            findings=StoreDriftFindings(backend, clock),
        )
        engine = Engine(backend, clock, RetryPolicy(0.01, 0.05, 5), Settings(batch_size=4))
        yield PriceRig(flow, erp, state, store, engine)
    backend.close()
    store.close()
    server.stop()


async def test_special_and_tier_price_drift_are_found(prices: PriceRig, clock: FakeClock) -> None:
    prices.erp.listing = [
        ItemPrice(sku="A", currency="GBP", price=D("10.00")),
        ItemPrice(sku="A", currency="GBP", price=D("8.00"), kind=PriceKind.SPECIAL),
        ItemPrice(sku="B", currency="GBP", price=D("20.00")),
        ItemPrice(
            sku="B", currency="GBP", price=D("18.00"), kind=PriceKind.TIER, customer_group="1", min_qty=5
        ),
    ]
    await prices.engine.drain(Schedule(prices.flow, "erp", 60))
    assert (await prices.flow.check_drift()).findings == 0

    prices.magento.special["A"] = D("6.50")  # a merchandiser's "quick sale" in the admin
    prices.magento.tier[("B", "1", 5)] = D("15.00")
    assert (await prices.flow.check_drift()).findings == 2
    rows = {r.key: r for r in open_drift(prices.store, "price_drift")}
    special, tier = rows["magento:price:A:special:drift"], rows["magento:price:B:tier:1:5:drift"]
    assert "6.50 GBP as its special price" in (special.detail or "")
    assert "1.50 GBP a unit at risk" in (special.detail or "")
    assert "tier price for 1 from 5" in (tier.detail or "") and "3.00 GBP a unit at risk" in (
        tier.detail or ""
    )

    # A's special price changes in the ERP and its batch is in flight: not drift; it clears.
    prices.erp.listing[1] = ItemPrice(sku="A", currency="GBP", price=D("7.00"), kind=PriceKind.SPECIAL)
    clock.advance(60)
    async for rows_, cursor in prices.flow.observe(None, clock.now()):
        await prices.engine.backend.enqueue(rows_, clock.now(), ("prices", "erp", cursor))
    assert (await prices.flow.check_drift()).findings == 1
    assert [r.key for r in open_drift(prices.store, "price_drift")] == ["magento:price:B:tier:1:5:drift"]
