"""The generic REST ERP as an `ErpConnector`: every ERP-side port over the documented JSON contract."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any

from trueup.connectors.http import JsonClient, error_message, retry_in_place
from trueup.connectors.keepalive import KeepAlivePool
from trueup.connectors.rest.mapping import (
    credit_note_body,
    sales_order_body,
    to_despatch,
    to_item,
    to_ledger_entry,
    to_posted_order,
    to_price,
    to_stock_level,
)
from trueup.errors import Fatal, NotReady, Rejected, Skippable, Unavailable
from trueup.model.erp import CreditNote, DespatchPage, ItemPrice, LedgerEntry, StockSnapshot
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import ErpSalesOrder
from trueup.model.shadow import PostedOrder
from trueup.model.stock import SellableFormula
from trueup.model.work import InputRejection


class RestErp:
    # R-REF-2: the REST contract books a credit note line flagged `restock` back on hand itself.
    restock_on_credit_note = True
    # R-STK-1: the REST contract reports on hand, allocated and quarantined per location.
    sellable_formula = SellableFormula(("allocated", "quarantined", "reserved"), use_erp_sellable=False)

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        name: str = "erp",
        limits: FieldLimits | None = None,
        concurrency: int = 32,
        page_size: int = 500,
        tls: ssl.SSLContext | bool = True,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.name = name
        self.limits = limits or FieldLimits()
        self.page_size = page_size
        # Its own kept-alive connections rather than the deployment's aiohttp session: one POST per order
        # is the engine's hottest path, and this transport costs a third of the CPU (keepalive.py).
        self.pool = KeepAlivePool(base_url, limit=concurrency, tls=tls, timeout_seconds=timeout_seconds)
        self.http = JsonClient(
            None,
            base_url,
            pool=self.pool,
            system=f"ERP {name}",
            headers={"Authorization": f"Bearer {token}"},
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
                    f"ERP {self.name} answered {resp.status} without a sales_order_id: {error_message(body)}"
                )
            return str(ref)
        if resp.status in (400, 422):
            field = str(body.get("field") or "")
            raise Rejected(
                f"the ERP rejected the sales order: {body.get('message') or body.get('error')}"
                + (f" (field {field})" if field else ""),
                field=field,
            )
        raise Fatal(f"ERP {self.name} POST /sales-orders answered {resp.status}: {error_message(body)}")

    def _lookup_refused(self, what: str, status: int, body: object) -> Rejected | None:
        """A 400/422 to a look-up by one record's id is about that id (empty, malformed): park that
        record, never stop the flow for every other one."""
        if status not in (400, 422):
            return None
        detail = body if isinstance(body, dict) else {}
        field = str(detail.get("field") or "external_id")
        message = detail.get("message") or detail.get("error") or f"HTTP {status}"
        return Rejected(f"the ERP refused the {what}: {message} (field {field})", field=field)

    async def find_sales_order(self, external_id: str) -> str | None:
        resp = await self.http.request("GET", "/sales-orders", params={"external_id": external_id})
        if refused := self._lookup_refused(f"look-up of sales order {external_id!r}", resp.status, resp.body):
            raise refused
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"ERP {self.name} lookup of {external_id} answered {resp.status}")
        found = resp.body.get("sales_orders") or []
        return str(found[0]["sales_order_id"]) if found else None

    async def posted_order(self, external_id: str) -> PostedOrder | None:
        """The sales order the ERP holds under this storefront order id (shadow mode: the incumbent's)."""
        resp = await self.http.request("GET", "/sales-orders", params={"external_id": external_id})
        if refused := self._lookup_refused(f"look-up of sales order {external_id!r}", resp.status, resp.body):
            raise refused
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"ERP {self.name} lookup of {external_id} answered {resp.status}")
        found = resp.body.get("sales_orders") or []
        return to_posted_order(found[0]) if found else None

    async def _pages(
        self, path: str, key: str, params: dict[str, str] | None = None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], Mapping[str, str]]]:
        """Every page of a `{<key>: [...], total}` list; stops at page * per_page >= total."""
        page = 1
        while True:
            query = {**(params or {}), "page": str(page), "per_page": str(self.page_size)}
            resp = await retry_in_place(partial(self.http.request, "GET", path, params=query))
            if resp.status != 200 or not isinstance(resp.body, dict):
                raise Fatal(f"ERP {self.name} GET {path} answered {resp.status}: {error_message(resp.body)}")
            rows = resp.body.get(key) or []
            if rows:
                yield rows, resp.headers
            if not rows or page * self.page_size >= int(resp.body.get("total") or 0):
                return
            page += 1

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        async for rows, _ in self._pages("/items", "items"):
            yield [to_item(raw) for raw in rows]

    async def stock(self) -> AsyncIterator[StockSnapshot]:
        async for rows, headers in self._pages("/stock", "stock"):
            taken = headers.get("X-Snapshot-Taken-At")
            levels = tuple(to_stock_level(raw) for raw in rows)
            taken_at = (
                to_stock_level({**rows[0], "counted_at": taken}).as_of
                if taken
                else max(lv.as_of for lv in levels)
            )
            yield StockSnapshot(levels=levels, taken_at=taken_at)

    async def prices(self) -> AsyncIterator[Sequence[ItemPrice]]:
        async for rows, _ in self._pages("/prices", "prices"):
            yield [to_price(raw) for raw in rows]

    async def despatches_since(self, cursor: str | None) -> AsyncIterator[DespatchPage]:
        after = cursor or "0"
        while True:
            resp = await self.http.request("GET", "/despatches", params={"after": after, "limit": "200"})
            if resp.status != 200 or not isinstance(resp.body, dict):
                said = error_message(resp.body)
                raise Fatal(f"ERP {self.name} GET /despatches answered {resp.status}: {said}")
            rows = resp.body.get("despatches") or []
            if not rows:
                return
            after = str(resp.body.get("next_after") or rows[-1]["sequence"])
            yield DespatchPage(despatches=tuple(to_despatch(raw) for raw in rows), cursor=after)

    async def post_credit_note(self, note: CreditNote) -> str:
        resp = await self.http.request(
            "POST",
            "/credit-notes",
            body=credit_note_body(note),
            headers={"Idempotency-Key": note.external_id},
        )
        body = resp.body if isinstance(resp.body, dict) else {}
        if resp.status in (200, 201) or (resp.status == 409 and body.get("error") == "duplicate_external_id"):
            return str(body["credit_note_id"])
        if resp.status == 422 and body.get("error") == "order_not_found":
            # The refund's order is not in the ERP yet: wait for it, do not park (R-REF-1).
            raise NotReady(f"credit note {note.external_id}: order {note.order_id} is not in the ERP yet")
        if resp.status in (400, 422):
            raise Rejected(
                f"the ERP rejected the credit note: {body.get('message')}", field=str(body.get("field") or "")
            )
        raise Fatal(f"ERP {self.name} POST /credit-notes answered {resp.status}: {error_message(body)}")

    async def find_credit_note(self, external_id: str) -> str | None:
        resp = await self.http.request("GET", "/credit-notes", params={"external_id": external_id})
        if refused := self._lookup_refused(f"look-up of credit note {external_id!r}", resp.status, resp.body):
            raise refused
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"ERP {self.name} credit note lookup answered {resp.status}")
        found = resp.body.get("credit_notes") or []
        return str(found[0]["credit_note_id"]) if found else None

    async def ledger(self, start: date, end: date) -> AsyncIterator[Sequence[LedgerEntry]]:
        params = {"from": start.isoformat(), "to": end.isoformat()}
        async for rows, _ in self._pages("/ledger", "entries", params):
            yield [to_ledger_entry(raw) for raw in rows]

    async def cancel_sales_order(self, external_id: str, erp_ref: str) -> None:
        """`ports.OrderCanceller`: `POST /sales-orders/{id}/cancel`. Cancelling a cancelled order is no error;
        a despatched one is refused (409 `already_despatched`), which the flow parks for the warehouse."""
        ref = erp_ref or await self.find_sales_order(external_id)
        if not ref:
            return  # the ERP has no such order: nothing to cancel there
        path = f"/sales-orders/{ref}/cancel"
        resp = await self.http.request("POST", path, body={"external_id": external_id})
        if resp.status == 200:
            return
        body = resp.body if isinstance(resp.body, dict) else {}
        if resp.status in (404, 409, 422):
            raise Skippable(
                Reason.CANCELLED_AFTER_POST,
                f"POST {path} answered {resp.status} {body.get('error')}: {error_message(resp.body)}",
            )
        raise Unavailable(f"ERP {self.name} POST {path} answered {resp.status}: {error_message(resp.body)}")

    def take_rejections(self) -> list[InputRejection]:
        """A JSON API refuses per request; nothing is ever refused out of sight."""
        return []

    async def aclose(self) -> None:
        """Close the kept-alive connections."""
        await self.pool.close()
