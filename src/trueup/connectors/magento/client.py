"""The Magento REST wire: authentication (OAuth 1.0a or bearer, see `auth.py`) and searchCriteria key paging.

Orders are read by key, never by offset: every request asks for the orders after the last
(updated_at, entity_id) seen, always page 1. Offset paging over `updated_at`, a key that moves, skips one
order each time an order already read is updated during the pass (it leaves its place, and every later
order shifts one place towards the front), and no overlap brings the skipped one back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import aiohttp

from trueup.connectors.http import JsonClient
from trueup.connectors.magento.auth import BearerAuth, MagentoAuth
from trueup.errors import Fatal, Unavailable


class _Key(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Key)  # a paging key: (updated_at, entity_id), (sku, source_code), entity_id

MAGENTO_TIME = "%Y-%m-%d %H:%M:%S"

_ADDRESS = "firstname,lastname,company,street,city,region,postcode,country_id,telephone,email"
_LINE = (
    "item_id,parent_item_id,sku,name,product_type,qty_ordered,price,price_incl_tax,row_total,"
    "row_total_incl_tax,discount_amount,discount_tax_compensation_amount,tax_amount,tax_percent"
)
# Magento's `fields` filter: only what `mapping.to_order` reads. An order is about 8 KB in full and a third
# of that trimmed, so pages come back faster and cost less to parse, on both sides.
ORDER_FIELDS = (
    "items[increment_id,entity_id,state,status,order_currency_code,created_at,updated_at,customer_email,"
    "customer_firstname,customer_lastname,customer_id,customer_is_guest,customer_group_id,"
    f"billing_address[{_ADDRESS}],items[{_LINE}],"
    f"extension_attributes[shipping_assignments[shipping[address[{_ADDRESS}],method]]],"
    "shipping_method,shipping_description,shipping_amount,shipping_tax_amount,shipping_discount_amount,"
    "shipping_incl_tax,payment[method,amount_paid,last_trans_id],total_paid,subtotal,discount_amount,"
    "tax_amount,grand_total],total_count"
)


EPOCH = "1970-01-01 00:00:00"


@dataclass(frozen=True, slots=True, order=True)
class OrderKey:
    """Where a pass has read up to: the last record's `updated_at` (as Magento writes it) and entity id.
    Orders, credit memos and cancelled orders are all read by this key; as a cursor, `<updated_at>|<id>`."""

    updated_at: str
    entity_id: int

    def cursor(self) -> str:
        return f"{self.updated_at}|{self.entity_id}"

    @classmethod
    def parse(cls, cursor: str | None) -> OrderKey:
        if not cursor:
            return cls(EPOCH, 0)
        when, _, entity = cursor.rpartition("|")
        return cls(when, int(entity))


def after_key(
    filters: Sequence[tuple[str, str, str]],
    updated_at: str,
    entity_id: int,
    page_size: int,
    *,
    fields: str | None = None,
) -> dict[str, str]:
    """searchCriteria for page 1 of what comes after (updated_at, entity_id), in that key order.

    Each of `filters` (field, value, condition_type) is a filter group of its own, ANDed in the order
    given; then one group breaks ties within one second (`updated_at` has one-second resolution, and a
    busy store updates many records in one second): updated_at > T OR entity_id > E. The callers put
    updated_at >= T among `filters` so that Magento can use its updated_at index."""
    group = "searchCriteria[filter_groups]"
    params: dict[str, str] = {}
    for n, (field, value, condition) in enumerate(filters):
        params[f"{group}[{n}][filters][0][field]"] = field
        params[f"{group}[{n}][filters][0][value]"] = value
        params[f"{group}[{n}][filters][0][condition_type]"] = condition
    tie = f"{group}[{len(filters)}][filters]"
    params |= {
        f"{tie}[0][field]": "updated_at",
        f"{tie}[0][value]": updated_at,
        f"{tie}[0][condition_type]": "gt",
        f"{tie}[1][field]": "entity_id",
        f"{tie}[1][value]": str(entity_id),
        f"{tie}[1][condition_type]": "gt",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": "1",
    }
    if fields is not None:
        params["fields"] = fields
    return params


def orders_after(key: OrderKey, until: datetime, page_size: int) -> dict[str, str]:
    """searchCriteria for the first page of orders after `key` with updated_at <= until, in key order.

    Filter groups are ANDed and the filters inside one group are ORed, so the three groups say:
    updated_at >= T  AND  updated_at <= until  AND  (updated_at > T  OR  entity_id > E)."""
    filters = [("updated_at", key.updated_at, "gteq"), ("updated_at", until.strftime(MAGENTO_TIME), "lteq")]
    return after_key(filters, key.updated_at, key.entity_id, page_size, fields=ORDER_FIELDS)


def key_of(raw: dict[str, Any], path: str = "/V1/orders") -> OrderKey:
    """The paging key of one record as Magento returned it; Fatal if Magento left a key field out."""
    try:
        return OrderKey(str(raw["updated_at"]), int(raw["entity_id"]))
    except (KeyError, TypeError, ValueError):
        raise Fatal(
            f"Magento GET {path} returned a record without a usable updated_at and entity_id, so paging by "
            "key cannot go on. Resolution: check that no extension strips these fields from the list (they "
            "are in Magento's own schema)."
        ) from None


class MagentoClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        auth: MagentoAuth | str,
        *,
        concurrency: int = 4,
        timeout_seconds: float | None = None,
    ) -> None:
        """`auth` signs each request (a plain string is taken as a bearer token)."""
        self.http = JsonClient(
            session,
            base_url,
            system="Magento",
            headers={"Accept": "application/json"},
            concurrency=concurrency,
            auth=BearerAuth(auth) if isinstance(auth, str) else auth,
            timeout_seconds=timeout_seconds,
            decimals_as_numbers=True,  # Magento's schema types money as a JSON number
        )

    async def order_pages(
        self, since: datetime, until: datetime, page_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of orders with since <= updated_at <= until, in (updated_at, entity_id) order.

        An order updated during the pass moves past `until` and is read by the next pass; nothing between
        the last key read and `until` can be skipped. The pass ends on an empty page or when a page holds
        everything that was left (`total_count` counts what matches after the key); a page that does not
        move the key forward means the server ignored the key filter, and paging stops with an error
        rather than loop (Magento 2.3 re-serves its last page past the end)."""
        first = OrderKey(since.strftime(MAGENTO_TIME), 0)
        async for items in self.pages_by_key(
            "/V1/orders",
            lambda key: orders_after(key or first, until, page_size),
            key_of,
            first=first,
            what="orders",
        ):
            yield items

    async def pages_by_key(
        self,
        path: str,
        params_after: Callable[[K | None], dict[str, str]],
        key_of: Callable[[dict[str, Any]], K],
        *,
        first: K | None = None,
        what: str,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a Magento search, read by key: each request asks for page 1 of what comes after
        the last key seen (`params_after`), never for page n. The pass ends on an empty page or when a
        page holds everything that was left (`total_count`, when asked for, counts what matches after the
        key). A page
        whose last key is not after the key asked for means the server ignored the filter: an error, not
        a loop. Errors quote Magento's message only, never a page (an order page holds personal data)."""
        key = first
        while True:
            resp = await self.http.request("GET", path, params=params_after(key))
            if resp.status == 200 and not isinstance(resp.body, dict):
                # JSON, but not a search result (a proxy's or an extension's answer): try again later
                raise Unavailable(f"Magento GET {path} answered 200 with {type(resp.body).__name__}")
            if resp.status != 200 or not isinstance(resp.body, dict):
                message = resp.body.get("message") if isinstance(resp.body, dict) else None
                raise Fatal(f"Magento GET {path} answered {resp.status}: {str(message or '')[:300]}")
            items = resp.body.get("items") or []
            if not items:
                return
            last = key_of(items[-1])
            if key is not None and not key < last:
                raise Fatal(
                    f"Magento GET {path} answered {what} at or before the key asked for ({key}): it ignored "
                    "the paging filter. Resolution: check for an extension that rewrites searchCriteria; "
                    f"trueup reads {what} by key and cannot page safely without it."
                )
            yield items
            total = resp.body.get("total_count")  # left out by a `fields` filter: read to an empty page
            if total is not None and len(items) >= int(total):
                return
            key = last
