"""Stokly as an ERP connector: every port of `ErpConnector`, plus `StockAdjustmentSink`.

Idempotency never relies on Stokly refusing a duplicate: each write looks its key up first
(`sourceReferenceId` for sale orders, `referenceId` for refunds, a tagged `reason` for adjustments), and a
409 from an account that does enforce uniqueness is read as "already there".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trueup.connectors.http import Response
from trueup.connectors.stokly.client import StoklyClient, equals
from trueup.connectors.stokly.mapping import (
    UNASSIGNED_BIN,
    adjustment_body,
    adjustment_reason,
    format_time,
    naive_utc,
    refund_body,
    sale_order_body,
    shipment_cursor,
    split_cursor,
    stock_levels,
    to_despatch,
    to_item,
    to_ledger_entry,
    to_price,
)
from trueup.errors import Conflict, Fatal, NotReady, Rejected, Unavailable
from trueup.model.erp import (
    CreditNote,
    DespatchPage,
    ItemPrice,
    LedgerEntry,
    LedgerKind,
    StockAdjustment,
    StockSnapshot,
)
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import ErpSalesOrder
from trueup.model.stock import SellableFormula
from trueup.model.work import InputRejection


class Options(BaseModel):
    """The `[erp.stokly]` table (docs/connectors/stokly.md lists each key and why)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_key: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    location_id: str = Field(min_length=1)
    bin_id: str = UNASSIGNED_BIN
    source_type: str = "trueup"
    source_id: str = "magento"
    currency: str = Field("GBP", min_length=3, max_length=3)
    price_field: str = "salePrice"
    allocated_field: str = "allocated"
    stock_bin: str = ""
    stock_location_ids: tuple[str, ...] = ()
    page_size: int = Field(1000, ge=1, le=1000)
    adjustment_batch: int = Field(500, ge=1, le=500)
    refresh_before_seconds: float = Field(60, ge=0)
    pace_below: int = Field(20, ge=0)
    rate_window_seconds: float = Field(60, gt=0)
    # Sale order statuses meaning nothing more will ship (ASSUMED values): the order's newest shipment then
    # closes it, short if units are left (docs/connectors/stokly.md).
    closed_statuses: tuple[str, ...] = ("completed", "closed")


@dataclass
class _SaleOrder:
    """What despatches, refunds and the ledger need from a sale order."""

    sale_order_id: str
    external_id: str
    ours: bool
    skus: dict[str, str]  # lineId -> SKU
    lines_by_item: dict[str, str]  # itemId -> lineId
    status: str = ""
    newest_shipment: str | None = None  # read only for a closed order


class StoklyErp:
    # R-STK-1: inventory records carry onHand, an allocation field and quarantined; no sellable figure.
    sellable_formula = SellableFormula(("allocated", "quarantined", "reserved"), use_erp_sellable=False)

    def __init__(self, client: StoklyClient, options: Options, *, name: str, limits: FieldLimits) -> None:
        self.http = client
        self.options = options
        self.name = name
        # Stokly's address has line1 and line2 only; the order rules fold longer streets into two.
        self.limits = replace(limits, address_lines=min(limits.address_lines, 2))

    def take_rejections(self) -> list[InputRejection]:
        """Every request is answered on the spot; nothing is ever refused out of sight."""
        return []

    async def aclose(self) -> None:
        """The aiohttp session belongs to the caller; nothing of ours stays open."""

    # --- paging -----------------------------------------------------------------------------------------

    async def _pages(
        self, path: str, *, filter: str = "", sort: str = ""
    ) -> AsyncIterator[list[dict[str, Any]]]:
        size = self.options.page_size
        page = 0
        while True:
            rows, count = await self.http.list_page(path, page, size, filter=filter, sort=sort)
            if rows:
                yield rows
            if not rows or (page + 1) * size >= count:
                return
            page += 1

    def _now(self) -> datetime:
        return naive_utc(self.http.now())

    # --- items and prices -------------------------------------------------------------------------------

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        async for rows in self._pages("/v0/items", sort="itemId"):
            yield [to_item(raw) for raw in rows]

    async def prices(self) -> AsyncIterator[Sequence[ItemPrice]]:
        opts = self.options
        async for rows in self._pages("/v0/items", sort="itemId"):
            found = (to_price(raw, field=opts.price_field, currency=opts.currency) for raw in rows)
            page = [p for p in found if p is not None]
            if page:
                yield page

    # --- stock ------------------------------------------------------------------------------------------

    async def stock(self) -> AsyncIterator[StockSnapshot]:
        """Inventory records sorted by item, so one item's bins arrive together; the last item of a page is
        held back until the next page, in case its bins straddle the two."""
        opts = self.options
        where = "||".join(equals("locationId", loc) for loc in opts.stock_location_ids)
        held: list[dict[str, Any]] = []
        taken_at = self._now()
        async for rows in self._pages("/v1/inventory-records", filter=where, sort="itemId"):
            taken_at = self._now()
            rows = held + rows
            last = rows[-1]["itemId"]
            held = [r for r in rows if r["itemId"] == last]
            ready = [r for r in rows if r["itemId"] != last]
            if ready:
                yield self._snapshot(ready, taken_at)
        if held:
            yield self._snapshot(held, taken_at)

    def _snapshot(self, rows: list[dict[str, Any]], taken_at: datetime) -> StockSnapshot:
        levels = stock_levels(
            rows, allocated_field=self.options.allocated_field, bin_id=self.options.stock_bin, as_of=taken_at
        )
        return StockSnapshot(levels=tuple(levels), taken_at=taken_at)

    async def adjust_stock(self, adjustments: Sequence[StockAdjustment]) -> None:
        """Post deltas per (location, reference, reason) in batches of at most `adjustment_batch` lines,
        skipping any batch whose tagged reason Stokly already holds (an earlier attempt got through)."""
        groups: dict[tuple[str, str, str], list[StockAdjustment]] = {}
        for adj in adjustments:
            if adj.delta:
                key = (adj.location or self.options.location_id, adj.reference, adj.reason)
                groups.setdefault(key, []).append(adj)
        size = self.options.adjustment_batch
        for (location, reference, reason), group in groups.items():
            for part, start in enumerate(range(0, len(group), size), start=1):
                tagged = adjustment_reason(reason, reference, part)
                rows, _ = await self.http.list_page("/v1/adjustments", 0, 1, filter=equals("reason", tagged))
                if rows:
                    continue
                body = adjustment_body(location, self.options.bin_id, tagged, group[start : start + size])
                resp = await self.http.request("POST", "/v1/adjustments", body=body)
                self._expect_created(resp, f"stock adjustment {reference!r}")

    # --- sale orders ------------------------------------------------------------------------------------

    async def find_sales_order(self, external_id: str) -> str | None:
        rows, _ = await self.http.list_page(
            "/v2/saleorders", 0, 1, filter=equals("sourceReferenceId", external_id)
        )
        return str(rows[0]["saleOrderId"]) if rows else None

    async def post_sales_order(self, order: ErpSalesOrder) -> str:
        existing = await self.find_sales_order(order.external_id)
        if existing is not None:
            return existing
        opts = self.options
        body = sale_order_body(
            order, location_id=opts.location_id, source_type=opts.source_type, source_id=opts.source_id
        )
        resp = await self.http.request("POST", "/v2/saleorders", body=body)
        if resp.status == 409:
            return await self._found_after_conflict(order.external_id)
        data = self._expect_created(resp, f"sale order {order.external_id!r}")
        return str(data["saleOrderId"])

    async def _found_after_conflict(self, external_id: str) -> str:
        found = await self.find_sales_order(external_id)
        if found is None:
            raise Conflict(f"Stokly says sale order {external_id!r} exists but the lookup cannot find it yet")
        return found

    async def _sale_order(self, sale_order_id: str, cache: dict[str, _SaleOrder]) -> _SaleOrder | None:
        if sale_order_id in cache:
            return cache[sale_order_id]
        resp = await self.http.request("GET", f"/v2/saleorders/{sale_order_id}")
        if resp.status == 404:
            return None
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(f"Stokly GET /v2/saleorders/{sale_order_id} answered {resp.status}")
        raw = resp.body.get("data") or {}
        lines = [ln for ln in raw.get("items") or [] if isinstance(ln, dict)]
        found = _SaleOrder(
            sale_order_id=sale_order_id,
            external_id=str(raw.get("sourceReferenceId") or ""),
            ours=raw.get("sourceType") == self.options.source_type
            and raw.get("sourceId") == self.options.source_id,
            skus={str(ln.get("lineId")): str(ln.get("sku") or ln.get("referenceId") or "") for ln in lines},
            lines_by_item={str(ln.get("referenceId")): str(ln.get("lineId")) for ln in lines},
            status=str(raw.get("status") or ""),
        )
        cache[sale_order_id] = found
        return found

    # --- despatches -------------------------------------------------------------------------------------

    async def despatches_since(self, cursor: str | None) -> AsyncIterator[DespatchPage]:
        """Shipments in creation order. The filter starts at the cursor's time (inclusive, so a shipment
        created in the same millisecond is not lost) and those at or before the cursor are dropped."""
        after = split_cursor(cursor) if cursor else None
        where = f"[createdAt]>={{@date;{after[0]}}}" if after else ""
        orders: dict[str, _SaleOrder] = {}
        async for rows in self._pages("/v2/shipments", filter=where, sort="createdAt"):
            despatches = []
            moved = False
            for raw in rows:
                position = shipment_cursor(raw)
                if after is not None and split_cursor(position) <= after:
                    continue
                cursor, moved = position, True
                sale_order = await self._sale_order(str(raw.get("saleOrderId")), orders)
                if sale_order is None or not sale_order.ours:
                    continue  # another channel's order (a shop till, a marketplace): not ours to ship
                despatch = to_despatch(raw, sale_order.external_id, sale_order.skus)
                if await self._closes(sale_order, raw):
                    despatch = despatch.model_copy(update={"closes_order": True})
                despatches.append(despatch)
            if moved and cursor:
                # Yielded even without despatches, so the cursor can pass other channels' shipments.
                yield DespatchPage(despatches=tuple(despatches), cursor=cursor)

    async def _closes(self, sale_order: _SaleOrder, shipment: dict[str, Any]) -> bool:
        """Stokly's shipment says nothing of the order: the order's status (as read now) closed, and this
        its newest shipment, is the rule. An earlier shipment of a closed order does not close it."""
        if sale_order.status.lower() not in {s.lower() for s in self.options.closed_statuses}:
            return False
        if sale_order.newest_shipment is None:
            where = equals("saleOrderId", sale_order.sale_order_id)
            newest = ""
            async for rows in self._pages("/v2/shipments", filter=where, sort="createdAt"):
                newest = max([newest, *(shipment_cursor(r) for r in rows)])
            sale_order.newest_shipment = newest
        return shipment_cursor(shipment) == sale_order.newest_shipment

    # --- credit notes -----------------------------------------------------------------------------------

    async def find_credit_note(self, external_id: str) -> str | None:
        rows, _ = await self.http.list_page("/v2/refunds", 0, 1, filter=equals("referenceId", external_id))
        return str(rows[0]["refundId"]) if rows else None

    async def post_credit_note(self, note: CreditNote) -> str:
        existing = await self.find_credit_note(note.external_id)
        if existing is not None:
            return existing
        sale_order_id = note.erp_order_ref or await self.find_sales_order(note.order_id)
        sale_order = await self._sale_order(sale_order_id, {}) if sale_order_id else None
        if sale_order is None:
            raise NotReady(f"refund {note.external_id!r}: order {note.order_id!r} is not in Stokly yet")
        body = refund_body(note, sale_order.lines_by_item)
        resp = await self.http.request(
            "POST", f"/v2/saleorders/{sale_order.sale_order_id}/refunds", body=body
        )
        if resp.status == 409:
            found = await self.find_credit_note(note.external_id)
            if found is None:
                raise Conflict(
                    f"Stokly says refund {note.external_id!r} exists but the lookup cannot find it"
                )
            return found
        data = self._expect_created(resp, f"refund {note.external_id!r}")
        return str(data["refundId"])

    # --- ledger -----------------------------------------------------------------------------------------

    async def ledger(self, start: date, end: date) -> AsyncIterator[Sequence[LedgerEntry]]:
        """Invoices (raised on collection) then refunds, created from `start` to `end` inclusive."""
        low = format_time(datetime.combine(start, time.min))
        high = format_time(datetime.combine(end + timedelta(days=1), time.min) - timedelta(milliseconds=1))
        where = f"[createdAt]>={{@date;{low}}}&&[createdAt]<={{@date;{high}}}"
        orders: dict[str, _SaleOrder] = {}
        sources = (
            ("/v0/invoices", LedgerKind.INVOICE, "invoiceId"),
            ("/v2/refunds", LedgerKind.CREDIT_NOTE, "refundId"),
        )
        for path, kind, id_field in sources:
            async for rows in self._pages(path, filter=where, sort="createdAt"):
                entries = []
                for raw in rows:
                    sale_order = await self._sale_order(str(raw.get("saleOrderId")), orders)
                    if sale_order is None or not sale_order.ours:
                        continue
                    entry = to_ledger_entry(
                        raw, kind, id_field=id_field, date_field="createdAt", order_id=sale_order.external_id
                    )
                    if start <= entry.posted_on <= end:
                        entries.append(entry)
                if entries:
                    yield entries

    # --- answers ----------------------------------------------------------------------------------------

    def _expect_created(self, resp: Response, what: str) -> dict[str, Any]:
        body = resp.body if isinstance(resp.body, dict) else {}
        if resp.status in (200, 201):
            data = body.get("data")
            if not isinstance(data, dict):
                raise Unavailable(f"Stokly created {what} but answered without data: {body!r:.200}")
            return data
        if resp.status in (400, 404, 422):
            field = str(body.get("field") or "")
            raise Rejected(
                f"Stokly rejected {what}: {body.get('message') or body.get('error') or resp.status}"
                + (f" (field {field})" if field else ""),
                field=field,
            )
        raise Fatal(f"Stokly answered {resp.status} for {what}: {body!r:.300}")
