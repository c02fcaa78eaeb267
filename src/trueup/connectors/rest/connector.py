"""The generic REST ERP as `OrderSink` and `CatalogSource`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import aiohttp

from trueup.connectors.http import JsonClient
from trueup.connectors.rest.mapping import sales_order_body, to_item
from trueup.errors import Fatal, Rejected, Unavailable
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import ErpSalesOrder


class RestErp:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        name: str = "erp",
        limits: FieldLimits | None = None,
        concurrency: int = 32,
        page_size: int = 500,
    ) -> None:
        self.name = name
        self.limits = limits or FieldLimits()
        self.page_size = page_size
        self.http = JsonClient(
            session,
            base_url,
            system=f"ERP {name}",
            headers={"Authorization": f"Bearer {token}"},
            concurrency=concurrency,
        )

    async def post_sales_order(self, order: ErpSalesOrder) -> str:
        resp = await self.http.request(
            "POST",
            "/sales-orders",
            body=sales_order_body(order),
            headers={"Idempotency-Key": order.external_id},
        )
        body = resp.body if isinstance(resp.body, dict) else {}
        if resp.status in (200, 201) or (resp.status == 409 and body.get("error") == "duplicate_external_id"):
            ref = body.get("sales_order_id")
            if not ref:
                raise Unavailable(
                    f"ERP {self.name} answered {resp.status} without a sales_order_id: {body!r:.200}"
                )
            return str(ref)
        if resp.status in (400, 422):
            field = str(body.get("field") or "")
            raise Rejected(
                f"the ERP rejected the sales order: {body.get('message') or body.get('error')}"
                + (f" (field {field})" if field else ""),
                field=field,
            )
        raise Fatal(f"ERP {self.name} POST /sales-orders answered {resp.status}: {body!r:.300}")

    async def find_sales_order(self, external_id: str) -> str | None:
        resp = await self.http.request("GET", "/sales-orders", params={"external_id": external_id})
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"ERP {self.name} lookup of {external_id} answered {resp.status}")
        found = resp.body.get("sales_orders") or []
        return str(found[0]["sales_order_id"]) if found else None

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        page = 1
        while True:
            resp = await self.http.request(
                "GET", "/items", params={"page": str(page), "per_page": str(self.page_size)}
            )
            if resp.status != 200 or not isinstance(resp.body, dict):
                raise Fatal(f"ERP {self.name} GET /items answered {resp.status}: {resp.body!r:.300}")
            raw_items = resp.body.get("items") or []
            if raw_items:
                yield [to_item(raw) for raw in raw_items]
            if not raw_items or page * self.page_size >= int(resp.body.get("total") or 0):
                return
            page += 1
