"""The `FulfilmentLedger` port over the store, on the backend's database thread."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from trueup.ports import Clock
from trueup.runtime.backend import EmbeddedBackend
from trueup.store import fulfilment


class StoreFulfilmentLedger:
    def __init__(self, backend: EmbeddedBackend, storefront: str, clock: Clock) -> None:
        self.backend = backend
        self.storefront = storefront
        self.clock = clock

    async def posted_orders(self, order_ids: Iterable[str]) -> Mapping[str, str]:
        ids = list(order_ids)
        return await self.backend.call(fulfilment.posted_orders, self.backend.store, self.storefront, ids)

    async def linked_shipments(self, shipment_ids: Iterable[str]) -> Mapping[str, str]:
        ids = list(shipment_ids)
        return await self.backend.call(fulfilment.linked_shipments, self.backend.store, self.storefront, ids)

    async def wake_waiting(self) -> int:
        store = self.backend.store
        return await self.backend.call(fulfilment.wake_waiting, store, self.storefront, self.clock.now())
