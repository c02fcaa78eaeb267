"""Magento as an `Invoicer`: invoice and capture what an order has shipped and not yet invoiced (R-FIN-4).

Confirmed from the vendored 2.4.8 schema: `POST /V1/order/{orderId}/invoice` (`capture`, `items` by
`order_item_id`, `notify`) answering the invoice id. Idempotent by reading first: the order's lines are read
(`qty_shipped`, `qty_invoiced`), and only what is shipped and not invoiced is asked for, so a retry after a
crash or a lost answer invoices nothing twice; nothing left is no call at all. Magento's 400 (over-invoicing,
an order that cannot be invoiced) is Skippable with Magento's words.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trueup.connectors.magento.client import MagentoClient
from trueup.errors import Skippable, Unavailable
from trueup.model.exceptions import Reason

_ITEM = "item_id,parent_item_id,product_type,qty_ordered,qty_shipped,qty_invoiced,qty_canceled"
FIELDS = f"items[entity_id,increment_id,state,items[{_ITEM}]]"


def _qty(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def to_invoice(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What is shipped and not invoiced, by the lines Magento ships by (a configurable's parent, a bundle's
    children, simple lines)."""
    by_id = {str(i["item_id"]): i for i in items}
    wanted = []
    for item in items:
        parent = by_id.get(str(item.get("parent_item_id") or ""))
        if parent is not None and parent.get("product_type") == "configurable":
            continue
        if item.get("product_type") == "bundle":
            continue
        left = min(
            _qty(item.get("qty_shipped")), _qty(item.get("qty_ordered")) - _qty(item.get("qty_canceled"))
        )
        left -= _qty(item.get("qty_invoiced"))
        if left > 0:
            wanted.append({"order_item_id": int(item["item_id"]), "qty": left})
    return wanted


class MagentoInvoices:
    def __init__(self, client: MagentoClient, *, name: str = "magento", notify: bool = False) -> None:
        self.http = client.http
        self.name = name
        self.notify = notify

    async def invoice_shipped(self, order_id: str) -> str | None:
        """Invoice and capture what order `order_id` (increment id) has shipped and not invoiced; the new
        invoice's id, or None when nothing was left to invoice."""
        params = {
            "searchCriteria[filter_groups][0][filters][0][field]": "increment_id",
            "searchCriteria[filter_groups][0][filters][0][value]": order_id,
            "fields": FIELDS,
        }
        resp = await self.http.request("GET", "/V1/orders", params=params)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Magento GET /V1/orders answered {resp.status}")
        found = resp.body.get("items") or []
        if not found:
            return None
        order = found[0]
        items = to_invoice(list(order.get("items") or []))
        if not items:
            return None
        path = f"/V1/order/{order['entity_id']}/invoice"
        body = {"capture": True, "notify": self.notify, "items": items}
        resp = await self.http.request("POST", path, body=body)
        if resp.status == 200 and str(resp.body).isdigit():
            return str(resp.body)
        message = resp.body.get("message") if isinstance(resp.body, dict) else resp.body
        raise Skippable(
            Reason.INVOICE_REFUSED, f"Magento POST {path} answered {resp.status}: {message!s:.300}."
        )
