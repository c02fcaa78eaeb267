"""Magento as an `OrderIndexSource`: every order of a trailing window as a cheap header, by entity id.

The orphan sweep lists a week of orders on every pass, so each request asks only for the fields a header
needs (Magento's `fields` filter: a few hundred bytes an order instead of 8 KB) and pages by key:
`entity_id > E`, sorted by entity_id, always page 1, up to the newest entity id when the pass began.
entity_id never changes, so an order updated during the pass can neither shift another out of sight
(offset paging's flaw) nor be read twice. The window has no upper bound on updated_at for the same
reason: an order updated mid-pass stays in it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from trueup.connectors.magento.client import MAGENTO_TIME, MagentoClient
from trueup.connectors.magento.mapping import _payment_state, _time, to_source_order
from trueup.errors import Fatal, Unavailable
from trueup.model.money import to_decimal
from trueup.ports import OrderHeader, SourceOrder

# What `_payment_state` reads, and what a finding shows: id, increment id, state, status, payment, money.
HEADER_FIELDS = (
    "items[entity_id,increment_id,state,status,created_at,updated_at,grand_total,order_currency_code,"
    "total_paid,payment[amount_paid]]"
)


def index_after(since: datetime, entity_id: int, last: int, page_size: int) -> dict[str, str]:
    """searchCriteria for the first page of orders with updated_at >= since and `entity_id` < id <= `last`."""
    group = "searchCriteria[filter_groups]"
    return {
        f"{group}[0][filters][0][field]": "updated_at",
        f"{group}[0][filters][0][value]": since.strftime(MAGENTO_TIME),
        f"{group}[0][filters][0][condition_type]": "gteq",
        f"{group}[1][filters][0][field]": "entity_id",
        f"{group}[1][filters][0][value]": str(entity_id),
        f"{group}[1][filters][0][condition_type]": "gt",
        f"{group}[2][filters][0][field]": "entity_id",
        f"{group}[2][filters][0][value]": str(last),
        f"{group}[2][filters][0][condition_type]": "lteq",
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": "1",
        "fields": HEADER_FIELDS,
    }


def to_header(raw: dict[str, Any]) -> OrderHeader:
    """One listed order as a header; the payment state is derived exactly as for a full order."""
    return OrderHeader(
        key=str(raw.get("increment_id") or raw["entity_id"]),
        entity_id=int(raw["entity_id"]),
        state=str(raw.get("state") or ""),
        status=str(raw.get("status") or ""),
        payment=_payment_state(raw),
        grand_total=to_decimal(raw.get("grand_total")),
        currency=str(raw.get("order_currency_code") or ""),
        created_at=_time(raw["created_at"]),
        updated_at=_time(raw["updated_at"]),
        version=str(raw["updated_at"]),
    )


def _header_or_none(raw: dict[str, Any]) -> OrderHeader | None:
    try:
        return to_header(raw)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


class MagentoOrderIndex:
    def __init__(self, client: MagentoClient, *, name: str = "magento", page_size: int = 300) -> None:
        self.client = client
        self.name = name
        self.page_size = page_size

    async def order_index(self, since: datetime) -> AsyncIterator[list[OrderHeader]]:
        # The pass ends at the newest order when it starts: orders placed during it are observation's,
        # and a store taking orders faster than the pages come would otherwise keep it going for ever.
        last = await self._newest_entity_id()
        async for items in self.client.pages_by_key(
            "/V1/orders",
            lambda after: index_after(since, after or 0, last, self.page_size),
            _entity_id,
            what="orders",
        ):
            # An order too broken to list (no grand_total, a bad date) is left out here: observation reads
            # the same order and parks it as malformed_record, where a person sees it.
            headers = [h for h in map(_header_or_none, items) if h is not None]
            if headers:
                yield headers

    async def _newest_entity_id(self) -> int:
        params = {
            "searchCriteria[sortOrders][0][field]": "entity_id",
            "searchCriteria[sortOrders][0][direction]": "DESC",
            "searchCriteria[pageSize]": "1",
            "searchCriteria[currentPage]": "1",
            "fields": "items[entity_id]",
        }
        resp = await self.client.http.request("GET", "/V1/orders", params=params)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Fatal(f"Magento GET /V1/orders answered {resp.status}: {resp.body!r:.300}")
        items = resp.body.get("items") or []
        return int(items[0]["entity_id"]) if items else 0

    async def fetch_order(self, entity_id: int) -> SourceOrder | None:
        resp = await self.client.http.request("GET", f"/V1/orders/{entity_id}")
        if resp.status == 404:
            return None
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Unavailable(
                f"Magento GET /V1/orders/{entity_id} answered {resp.status}: {resp.body!r:.300}"
            )
        return to_source_order(resp.body, self.name)


def _entity_id(raw: dict[str, Any]) -> int:
    """The order index's paging key; Fatal if Magento left it out."""
    try:
        return int(raw["entity_id"])
    except (KeyError, TypeError, ValueError):
        raise Fatal(
            "Magento GET /V1/orders returned an order without a usable entity_id, so the orphan sweep "
            "cannot list orders by key. Resolution: check that no extension strips entity_id from the "
            "order list (it is in Magento's own schema)."
        ) from None
