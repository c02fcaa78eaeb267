"""A stock flow wired to a real store (SQLite), the real engine, and the sandbox Magento over HTTP, with a
hand-fed ERP stock source: shared by the stock flow and lane tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from tests.conftest import FakeClock
from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.stock import MagentoStock
from trueup.flows.stock import StockFlow
from trueup.model.erp import StockLevel, StockSnapshot
from trueup.model.stock import StockRules
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.stock_state import StoreStockState
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.magento_inventory import InventoryState
from trueup.sandbox.serve import ServerThread
from trueup.store import Store

TOKEN = "stock-rig-token"


@dataclass
class ErpStock:
    """The ERP's stock position, as a `StockSource`: (sku, location) -> level parts."""

    name: str = "erp"
    levels: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    taken_at: datetime = datetime(2026, 11, 23, 9)
    page_size: int = 100

    def set(self, sku: str, on_hand: int, location: str = "WEB", **parts: int) -> None:
        self.levels[(sku, location)] = {"on_hand": on_hand, **parts}
        self.taken_at += timedelta(seconds=1)

    async def stock(self) -> AsyncIterator[StockSnapshot]:
        rows = [
            StockLevel(sku=s, erp_item_id=f"I-{s}", location=loc, as_of=self.taken_at, **parts)
            for (s, loc), parts in sorted(self.levels.items())
        ]
        for start in range(0, len(rows), self.page_size):
            yield StockSnapshot(levels=tuple(rows[start : start + self.page_size]), taken_at=self.taken_at)


@dataclass
class Rig:
    store: Store
    backend: EmbeddedBackend
    engine: Engine
    flow: StockFlow
    erp: ErpStock
    inventory: InventoryState
    clock: FakeClock

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.flow, self.erp.name, 60)

    async def sync(self) -> dict[str, int]:
        return dict(await self.engine.drain(self.schedule))

    def pushed(self) -> dict[tuple[str, str], int]:
        with self.store.tx() as conn:
            from trueup.store.stock import pushed_rows

            return {(s, c): q for s, c, q in pushed_rows(conn)}


class RigFactory:
    def __init__(self, db_url: str, clock: FakeClock) -> None:
        self.db_url = db_url
        self.clock = clock
        self.servers: list[ServerThread] = []
        self.sessions: list[aiohttp.ClientSession] = []
        self.stores: list[tuple[Store, EmbeddedBackend]] = []

    async def build(self, rules: StockRules | None = None, **flow: Any) -> Rig:
        inventory = InventoryState(sources={"default", "web", "shops"})
        server = ServerThread(create_app(MagentoState(), token=TOKEN, inventory=inventory))
        server.start()
        self.servers.append(server)
        session = aiohttp.ClientSession()
        self.sessions.append(session)
        store = Store(self.db_url)
        backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
        self.stores.append((store, backend))
        magento = MagentoStock(MagentoClient(session, f"{server.url}/rest/default", TOKEN))
        erp = ErpStock()
        stock_flow = StockFlow(
            erp,
            magento,
            StoreStockState(backend, self.clock),
            StoreExceptionQueue(backend, self.clock),
            rules or StockRules(),
            self.clock,
            storefront=magento,
            **{"batch_size": 3, **flow},
        )
        engine = Engine(backend, self.clock, RetryPolicy(0.01, 0.05, 5), Settings(batch_size=4))
        return Rig(store, backend, engine, stock_flow, erp, inventory, self.clock)

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()
        for store, backend in self.stores:
            backend.close()
            store.close()
        for server in self.servers:
            server.stop()
