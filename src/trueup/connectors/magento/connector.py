"""Magento as an `OrderSource`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.mapping import to_source_order
from trueup.ports import OrderPage


class MagentoOrders:
    def __init__(self, client: MagentoClient, *, name: str = "magento", page_size: int = 200) -> None:
        self.client = client
        self.name = name
        self.page_size = page_size

    async def orders_updated(self, since: datetime, until: datetime) -> AsyncIterator[OrderPage]:
        async for items in self.client.order_pages(since, until, self.page_size):
            orders = [to_source_order(raw, self.name) for raw in items]
            high_water = max(str(raw.get("updated_at") or "") for raw in items)
            yield OrderPage(orders, _iso(high_water))


def _iso(magento_time: str) -> str:
    """Cursor values are ISO 8601, so they compare and parse the same for every source."""
    return magento_time.replace(" ", "T")
