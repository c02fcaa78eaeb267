"""Magento as a `CancellationSource`: orders cancelled in the store, read by key after a cursor
(`<updated_at>|<entity_id>`, state = canceled), never by offset. Only the header is read: the increment id
(the order flow's key), the grand total and currency (the money at risk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from trueup.connectors.magento.client import MagentoClient, OrderKey, after_key, key_of
from trueup.model.money import to_decimal
from trueup.model.refunds import Cancellation, CancellationPage

FIELDS = "items[entity_id,increment_id,state,updated_at,grand_total,order_currency_code],total_count"


def cancelled_after(key: OrderKey, page_size: int) -> dict[str, str]:
    """state = canceled AND updated_at >= T AND (updated_at > T OR entity_id > E), in key order."""
    filters = [("state", "canceled", "eq"), ("updated_at", key.updated_at, "gteq")]
    return after_key(filters, key.updated_at, key.entity_id, page_size, fields=FIELDS)


class MagentoCancellations:
    def __init__(self, client: MagentoClient, *, name: str = "magento", page_size: int = 100) -> None:
        self.client = client
        self.name = name
        self.page_size = page_size

    async def cancellations_since(self, cursor: str | None) -> AsyncIterator[CancellationPage]:
        first = OrderKey.parse(cursor)
        async for items in self.client.pages_by_key(
            "/V1/orders",
            lambda key: cancelled_after(key or first, self.page_size),
            key_of,
            first=first,
            what="cancelled orders",
        ):
            found = tuple(
                Cancellation(
                    order_id=str(raw["increment_id"]),
                    grand_total=to_decimal(raw.get("grand_total")) if raw.get("grand_total") else Decimal(0),
                    currency=str(raw.get("order_currency_code") or ""),
                    cancelled_at=str(raw.get("updated_at") or ""),
                )
                for raw in items
                if raw.get("increment_id")
            )
            yield CancellationPage(cancellations=found, cursor=key_of(items[-1]).cursor())
