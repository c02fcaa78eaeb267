"""Magento as a `StockSink` and a `StorefrontStock` reader: MSI source items, or the legacy stock item.

MSI: `POST /V1/inventory/source-items` with `{"sourceItems": [{sku, source_code, quantity, status}]}`, a
batch per request. It sets the *source* quantity; reservations (unshipped orders) live apart and Magento
nets them out itself, so a checkout that reserves stock during a push is never overwritten (R-STK-4).
Magento saves a batch whole or not at all: an unknown `source_code` fails it with 400, an unknown SKU
does not (magento2#38154); trueup halves a refused batch until the refused items stand alone.

Legacy (single-source stores without MSI): `PUT /V1/products/{sku}/stockItems/1` per SKU with
`{"stockItem": {"qty", "is_in_stock"}}`. Magento resolves the stock item by SKU; the item id in the path is
required by the route and is taken as 1, the default stock's (assumed, not in the schema's text).

Async bulk (`mode = "async"`): `POST /async/bulk/V1/inventory/source-items` with one operation per source
item, then `GET /V1/bulk/{uuid}/detailed-status` until no operation is open; a retriable failure is
submitted again, a failed one comes back per SKU.

Reading source items pages by key, (sku, source_code) ascending, always page 1: never an offset over a
list that a checkout or an admin can change between pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from trueup.connectors.magento.client import MagentoClient
from trueup.errors import Fatal, Unavailable
from trueup.model.stock import PushReport, SourceQty

SOURCE_ITEMS = "/V1/inventory/source-items"
ASYNC_SOURCE_ITEMS = "/async/bulk/V1/inventory/source-items"
BULK_COMPLETE, BULK_RETRIABLE, BULK_OPEN = 1, 2, 4  # 3 failed, 5 rejected


def _source_item(r: SourceQty) -> dict[str, Any]:
    return {"sku": r.sku, "source_code": r.source_code, "quantity": r.quantity, "status": int(r.in_stock)}


def source_items_after(key: tuple[str, str] | None, page_size: int) -> dict[str, str]:
    """searchCriteria for the source items after `key` = (sku, source_code), in key order.
    Groups are ANDed, filters in a group ORed: sku >= S AND (sku > S OR source_code > C)."""
    group = "searchCriteria[filterGroups]"
    params = {
        "searchCriteria[sortOrders][0][field]": "sku",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "source_code",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": "1",
    }
    if key is not None:
        sku, source = key
        params |= {
            f"{group}[0][filters][0][field]": "sku",
            f"{group}[0][filters][0][value]": sku,
            f"{group}[0][filters][0][conditionType]": "gteq",
            f"{group}[1][filters][0][field]": "sku",
            f"{group}[1][filters][0][value]": sku,
            f"{group}[1][filters][0][conditionType]": "gt",
            f"{group}[1][filters][1][field]": "source_code",
            f"{group}[1][filters][1][value]": source,
            f"{group}[1][filters][1][conditionType]": "gt",
        }
    return params


def _message(body: Any) -> str:
    if isinstance(body, dict):
        text = str(body.get("message") or body)
        params = body.get("parameters")
        if isinstance(params, list):
            for i, value in enumerate(params, 1):
                text = text.replace(f"%{i}", str(value))
        return text[:300]
    return str(body)[:300]


class MagentoStock:
    """`StockSink` and `StorefrontStock` over one Magento client."""

    def __init__(
        self,
        client: MagentoClient,
        *,
        name: str = "magento",
        mode: str = "msi",
        page_size: int = 500,
        poll_seconds: float = 1.0,
        max_polls: int = 600,
        bulk_rounds: int = 3,
    ) -> None:
        self.client = client
        self.http = client.http
        self.name = name
        self.mode = mode
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.max_polls = max_polls
        self.bulk_rounds = bulk_rounds

    async def push_stock_batch(self, rows: Sequence[SourceQty]) -> PushReport:
        if self.mode == "legacy":
            return await self._push_legacy(rows)
        if self.mode == "async":
            return await self._push_async(rows)
        return await self._push_msi(rows)

    async def _push_msi(self, rows: Sequence[SourceQty]) -> PushReport:
        """One POST for the batch. Magento saves a batch whole or not at all, and its 400 does not say which
        item it could not save, so a refused batch is halved until the refused items stand alone: the rest
        is saved, and each refused item comes back in `rejected` (log2(batch) extra calls, only then)."""
        resp = await self.http.request(
            "POST", SOURCE_ITEMS, body={"sourceItems": [_source_item(r) for r in rows]}
        )
        if resp.status == 200:
            return PushReport(api_calls=1)
        if resp.status != 400:
            raise Fatal(f"Magento POST {SOURCE_ITEMS} answered {resp.status}: {_message(resp.body)}")
        if len(rows) == 1:
            return PushReport(api_calls=1, rejected={(rows[0].sku, rows[0].source_code): _message(resp.body)})
        half = len(rows) // 2
        first, second = await self._push_msi(rows[:half]), await self._push_msi(rows[half:])
        return PushReport(1 + first.api_calls + second.api_calls, {**first.rejected, **second.rejected})

    async def _push_legacy(self, rows: Sequence[SourceQty]) -> PushReport:
        rejected: dict[tuple[str, str], str] = {}
        for r in rows:
            path = f"/V1/products/{quote(r.sku, safe='')}/stockItems/1"
            body = {"stockItem": {"qty": r.quantity, "is_in_stock": r.in_stock}}
            resp = await self.http.request("PUT", path, body=body)
            if resp.status in (400, 404):
                rejected[(r.sku, r.source_code)] = _message(resp.body)
            elif resp.status != 200:
                raise Fatal(f"Magento PUT {path} answered {resp.status}: {_message(resp.body)}")
        return PushReport(api_calls=len(rows), rejected=rejected)

    async def _push_async(self, rows: Sequence[SourceQty]) -> PushReport:
        """One bulk request per batch, one operation per source item (so a failure is per SKU), polled until
        no operation is open. Retriable failures (status 2) are submitted again, up to `bulk_rounds`
        rounds; failed and rejected ones (3, 5) come back in `rejected`."""
        calls, pending, rejected = 0, list(rows), dict[tuple[str, str], str]()
        for _ in range(self.bulk_rounds):
            body = [{"sourceItems": [_source_item(r)]} for r in pending]
            resp = await self.http.request("POST", ASYNC_SOURCE_ITEMS, body=body)
            calls += 1
            if resp.status != 202 or not isinstance(resp.body, dict):
                raise Fatal(
                    f"Magento POST {ASYNC_SOURCE_ITEMS} answered {resp.status}: {_message(resp.body)}"
                )
            ops, polls = await self._operations(str(resp.body["bulk_uuid"]))
            calls += polls
            retry: list[SourceQty] = []
            # Operations are created in request order, so sorted by id they line up with the rows (assumed).
            for row, op in zip(pending, sorted(ops, key=lambda o: int(o["id"])), strict=True):
                status = int(op["status"])
                if status == BULK_RETRIABLE:
                    retry.append(row)
                elif status != BULK_COMPLETE:
                    why = str(op.get("result_message") or f"bulk operation status {status}")
                    rejected[(row.sku, row.source_code)] = why
            pending = retry
            if not pending:
                break
        for row in pending:
            rejected[(row.sku, row.source_code)] = f"still failing after {self.bulk_rounds} bulk rounds"
        return PushReport(api_calls=calls, rejected=rejected)

    async def _operations(self, bulk_uuid: str) -> tuple[list[dict[str, Any]], int]:
        """Poll the bulk's detailed status until no operation is open; the summary is not trusted while
        any is (contracts/magento/README.md)."""
        path = f"/V1/bulk/{bulk_uuid}/detailed-status"
        for polls in range(1, self.max_polls + 1):
            resp = await self.http.request("GET", path)
            if resp.status != 200 or not isinstance(resp.body, dict):
                raise Fatal(f"Magento GET {path} answered {resp.status}: {_message(resp.body)}")
            ops: list[dict[str, Any]] = list(resp.body.get("operations_list") or [])
            if all(int(op["status"]) != BULK_OPEN for op in ops):
                return ops, polls
            await asyncio.sleep(self.poll_seconds)
        raise Unavailable(
            f"Magento bulk {bulk_uuid} still has open operations after {self.max_polls} polls: its consumers "
            "may not be running. Resolution: check that the async.operations.all consumer runs (cron or "
            "supervisor); the batch is pushed again later."
        )

    async def source_items(self) -> AsyncIterator[Sequence[SourceQty]]:
        """Every source item, in (sku, source_code) order, a page at a time."""
        async for items in self.client.pages_by_key(
            SOURCE_ITEMS,
            lambda key: source_items_after(key, self.page_size),
            lambda item: (str(item["sku"]), str(item["source_code"])),
            what="source items",
        ):
            yield [
                SourceQty(str(i["sku"]), str(i["source_code"]), int(Decimal(str(i["quantity"]))))
                for i in items
            ]

    async def salable_qty(self, sku: str, stock_id: int) -> Decimal:
        path = f"/V1/inventory/get-product-salable-quantity/{quote(sku, safe='')}/{stock_id}"
        resp = await self.http.request("GET", path)
        if resp.status != 200:
            raise Fatal(f"Magento GET {path} answered {resp.status}: {_message(resp.body)}")
        return Decimal(str(resp.body))
