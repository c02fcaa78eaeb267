"""Magento as a `CancellationSource`: orders cancelled in the store, read by key after a cursor
(`<updated_at>|<entity_id>`, state = canceled), never by offset. Only the header is read: the increment id
(the order flow's key), the grand total and currency (the money at risk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.creditmemos import MemoKey, memo_key
from trueup.model.money import to_decimal
from trueup.model.refunds import Cancellation, CancellationPage

FIELDS = "items[entity_id,increment_id,state,updated_at,grand_total,order_currency_code],total_count"


def cancelled_after(key: MemoKey, page_size: int) -> dict[str, str]:
    """state = canceled AND updated_at >= T AND (updated_at > T OR entity_id > E), in key order."""
    group = "searchCriteria[filter_groups]"
    return {
        f"{group}[0][filters][0][field]": "state",
        f"{group}[0][filters][0][value]": "canceled",
        f"{group}[0][filters][0][condition_type]": "eq",
        f"{group}[1][filters][0][field]": "updated_at",
        f"{group}[1][filters][0][value]": key.updated_at,
        f"{group}[1][filters][0][condition_type]": "gteq",
        f"{group}[2][filters][0][field]": "updated_at",
        f"{group}[2][filters][0][value]": key.updated_at,
        f"{group}[2][filters][0][condition_type]": "gt",
        f"{group}[2][filters][1][field]": "entity_id",
        f"{group}[2][filters][1][value]": str(key.entity_id),
        f"{group}[2][filters][1][condition_type]": "gt",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": "1",
        "fields": FIELDS,
    }


class MagentoCancellations:
    def __init__(self, client: MagentoClient, *, name: str = "magento", page_size: int = 100) -> None:
        self.client = client
        self.name = name
        self.page_size = page_size

    async def cancellations_since(self, cursor: str | None) -> AsyncIterator[CancellationPage]:
        first = MemoKey.parse(cursor)
        async for items in self.client.pages_by_key(
            "/V1/orders",
            lambda key: cancelled_after(key or first, self.page_size),
            memo_key,
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
            yield CancellationPage(cancellations=found, cursor=memo_key(items[-1]).cursor())
