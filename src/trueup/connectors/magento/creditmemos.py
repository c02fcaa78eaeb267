"""Magento as a `CreditMemoSource`: credit memos since a key cursor, read by key (`pages_by_key`), never by
offset over `updated_at` (a memo gains a comment or an e-mail flag and moves).

Confirmed from the vendored 2.4.8 schema: `GET /V1/creditmemos` with searchCriteria answering
`sales-data-creditmemo-search-result-interface`; a memo names its order by entity id only, so the order's
increment id (the key the order was posted under) is read once per page from `GET /V1/orders` with an `in`
filter. A line's back-to-stock flag is read from the item's `extension_attributes.back_to_stock` (assumed:
Magento 2.4 does not keep it on the item without a small module; see docs/refunds.md). A memo that cannot be
read is refused with its reason (`take_rejections`) and paging goes on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from trueup.connectors.magento.client import MAGENTO_TIME, MagentoClient, OrderKey, after_key, key_of
from trueup.errors import Unavailable
from trueup.model.money import to_decimal
from trueup.model.refunds import CreditMemo, CreditMemoLine, CreditMemoPage
from trueup.model.work import InputRejection


def memos_after(key: OrderKey, page_size: int) -> dict[str, str]:
    """Page 1 of the memos after `key` in (updated_at, entity_id) order: updated_at >= T AND
    (updated_at > T OR entity_id > E), as the orders are read (`client.orders_after`)."""
    return after_key([("updated_at", key.updated_at, "gteq")], key.updated_at, key.entity_id, page_size)


def memo_key(raw: dict[str, Any]) -> OrderKey:
    """The (updated_at, entity_id) paging key of a credit memo; Fatal without one."""
    return key_of(raw, "/V1/creditmemos")


def _qty(value: Any) -> int:
    amount = to_decimal(value)
    if amount != amount.to_integral_value():
        raise ValueError(f"quantity {amount} is not a whole number")
    return int(amount)


def to_credit_memo(raw: dict[str, Any], order_id: str) -> CreditMemo:
    """One Magento credit memo; raises ValueError/KeyError/TypeError when a field cannot be read."""
    lines = []
    items = raw.get("items") or []
    # A configurable's parent line carries the money under its child's SKU; the child's own zero line is the
    # same units again. A zero line under a SKU no money line has (a free gift) is a line of its own.
    priced = {str(i.get("sku")) for i in items if to_decimal(i.get("row_total_incl_tax"))}
    for item in items:
        qty = _qty(item.get("qty"))
        incl = to_decimal(item.get("row_total_incl_tax"))
        gross = incl - abs(to_decimal(item.get("discount_amount")))
        if qty <= 0 or (not incl and str(item.get("sku")) in priced):
            continue
        tax = to_decimal(item.get("tax_amount"))
        net = gross - tax
        rate = (tax * 100 / net).quantize(Decimal("0.01")) if net else Decimal(0)
        extension = item.get("extension_attributes") or {}
        lines.append(
            CreditMemoLine(
                line_id=str(item["order_item_id"]),
                sku=str(item["sku"]),
                qty=qty,
                gross=gross,
                tax=tax,
                tax_rate=rate,
                back_to_stock=bool(extension.get("back_to_stock")),
            )
        )
    ship_incl = to_decimal(raw.get("shipping_incl_tax"))
    ship_tax = to_decimal(raw.get("shipping_tax_amount"))
    if not ship_incl and raw.get("shipping_amount") is not None:
        ship_incl = to_decimal(raw.get("shipping_amount")) + ship_tax
    return CreditMemo(
        memo_id=str(raw["entity_id"]),
        increment_id=str(raw.get("increment_id") or ""),
        order_id=order_id,
        order_entity_id=str(raw["order_id"]),
        created_at=datetime.strptime(str(raw.get("created_at") or raw["updated_at"]), MAGENTO_TIME),
        currency=str(raw.get("order_currency_code") or raw.get("base_currency_code") or ""),
        lines=tuple(lines),
        shipping_gross=ship_incl,
        shipping_tax=ship_tax,
        adjustment=to_decimal(raw.get("adjustment_positive")) - to_decimal(raw.get("adjustment_negative")),
        grand_total=to_decimal(raw.get("grand_total")),
    )


class MagentoCreditMemos:
    def __init__(self, client: MagentoClient, *, name: str = "magento", page_size: int = 100) -> None:
        self.client = client
        self.name = name
        self.page_size = page_size
        self._rejections: list[InputRejection] = []

    def take_rejections(self) -> list[InputRejection]:
        taken, self._rejections = self._rejections, []
        return taken

    async def increment_ids(self, entity_ids: set[str]) -> dict[str, str]:
        """Order entity id -> increment id, for the orders a page of memos names (one request)."""
        if not entity_ids:
            return {}
        group = "searchCriteria[filter_groups][0][filters][0]"
        params = {
            f"{group}[field]": "entity_id",
            f"{group}[value]": ",".join(sorted(entity_ids, key=int)),
            f"{group}[condition_type]": "in",
            "searchCriteria[pageSize]": str(len(entity_ids)),
            "fields": "items[entity_id,increment_id]",
        }
        resp = await self.client.http.request("GET", "/V1/orders", params=params)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Magento GET /V1/orders answered {resp.status}")
        return {str(o["entity_id"]): str(o["increment_id"]) for o in resp.body.get("items") or []}

    async def credit_memos_since(self, cursor: str | None) -> AsyncIterator[CreditMemoPage]:
        first = OrderKey.parse(cursor)
        async for items in self.client.pages_by_key(
            "/V1/creditmemos",
            lambda key: memos_after(key or first, self.page_size),
            memo_key,
            first=first,
            what="credit memos",
        ):
            orders = await self.increment_ids({str(m.get("order_id")) for m in items})
            memos = []
            for raw in items:
                order_id = orders.get(str(raw.get("order_id")))
                try:
                    if order_id is None:
                        raise KeyError(f"order entity {raw.get('order_id')!r} is not in the store")
                    memos.append(to_credit_memo(raw, order_id))
                except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                    self._rejections.append(
                        InputRejection(
                            source=self.name,
                            key=f"creditmemo:{raw.get('entity_id')}",
                            message=f"Credit memo {raw.get('entity_id')}: cannot be read ({exc}). "
                            "Resolution: read the credit memo in the Magento admin and post its credit "
                            "note by hand, or fix the extension that changed its fields.",
                        )
                    )
            yield CreditMemoPage(memos=tuple(memos), cursor=memo_key(items[-1]).cursor())
