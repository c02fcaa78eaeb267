"""Magento as an `OfflineRefunder`: offline credit memos for units the ERP short-shipped.

Confirmed from the vendored 2.4.8 schema: `POST /V1/order/{orderId}/refund` (items by `order_item_id`,
`notify`, `appendComment`, `comment`, `arguments.shipping_amount`) answering the new credit memo's id, and
`GET /V1/creditmemos` with searchCriteria. A refund is not idempotent: the memo's comment carries trueup's
marker, and the order's memos are read for it first. Nothing goes back to stock (the units never left the
warehouse) and no shipping is refunded (`shipping_amount` 0: the order did ship).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trueup.connectors.magento.client import MagentoClient
from trueup.errors import Skippable, Unavailable
from trueup.model.exceptions import Reason
from trueup.model.shipments import ShipmentItem


def _by_order(entity_id: str) -> dict[str, str]:
    group = "searchCriteria[filter_groups][0][filters][0]"
    return {f"{group}[field]": "order_id", f"{group}[value]": entity_id, f"{group}[condition_type]": "eq"}


class MagentoOfflineRefunds:
    def __init__(self, client: MagentoClient, *, name: str = "magento") -> None:
        self.http = client.http
        self.name = name

    async def find_refund(self, entity_id: str, marker: str) -> str | None:
        resp = await self.http.request("GET", "/V1/creditmemos", params=_by_order(entity_id))
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Magento GET /V1/creditmemos answered {resp.status}: {resp.body!r:.300}")
        for memo in resp.body.get("items") or []:
            if any(marker in str(c.get("comment") or "") for c in memo.get("comments") or []):
                return str(memo["entity_id"])
        return None

    async def refund_offline(
        self, entity_id: str, items: Sequence[ShipmentItem], comment: str, *, notify: bool
    ) -> str:
        body: dict[str, Any] = {
            "items": [{"order_item_id": int(i.line_id), "qty": i.qty} for i in items],
            "notify": notify,
            "appendComment": True,
            "comment": {"comment": comment, "is_visible_on_front": 0},
            "arguments": {"shipping_amount": 0, "adjustment_positive": 0, "adjustment_negative": 0},
        }
        path = f"/V1/order/{entity_id}/refund"
        resp = await self.http.request("POST", path, body=body)
        if resp.status == 200 and isinstance(resp.body, int | str) and str(resp.body).isdigit():
            return str(resp.body)
        if resp.status >= 500 or resp.status == 429:
            raise Unavailable(f"Magento POST {path} answered {resp.status}")
        message = resp.body.get("message") if isinstance(resp.body, dict) else resp.body
        raise Skippable(
            Reason.SHORT_SHIPMENT_REFUND_REFUSED,
            f"Magento POST {path} answered {resp.status}: {message!s:.300}.",
        )
