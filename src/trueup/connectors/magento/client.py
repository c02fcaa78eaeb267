"""The Magento REST wire: authentication (OAuth 1.0a or bearer, see `auth.py`) and searchCriteria paging.

Paging stops at `currentPage * pageSize >= total_count`, because Magento 2.3 answers a page past the end
with the last page again rather than an empty one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp

from trueup.connectors.http import JsonClient
from trueup.connectors.magento.auth import BearerAuth, MagentoAuth
from trueup.errors import Fatal

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


def updated_between(since: datetime, until: datetime, page_size: int, page: int) -> dict[str, str]:
    """searchCriteria for orders with since <= updated_at <= until, oldest first (ties by entity_id)."""
    return {
        "searchCriteria[filter_groups][0][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][0][filters][0][value]": since.strftime(MAGENTO_TIME),
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
        "searchCriteria[filter_groups][1][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][1][filters][0][value]": until.strftime(MAGENTO_TIME),
        "searchCriteria[filter_groups][1][filters][0][condition_type]": "lteq",
        "searchCriteria[sortOrders][0][field]": "updated_at",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[sortOrders][1][field]": "entity_id",
        "searchCriteria[sortOrders][1][direction]": "ASC",
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": str(page),
        "fields": ORDER_FIELDS,
    }


class MagentoClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        auth: MagentoAuth | str,
        *,
        concurrency: int = 4,
    ) -> None:
        """`auth` signs each request (a plain string is taken as a bearer token)."""
        self.http = JsonClient(
            session,
            base_url,
            system="Magento",
            headers={"Accept": "application/json"},
            concurrency=concurrency,
            auth=BearerAuth(auth) if isinstance(auth, str) else auth,
        )

    async def order_pages(
        self, since: datetime, until: datetime, page_size: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        page = 1
        while True:
            resp = await self.http.request(
                "GET", "/V1/orders", params=updated_between(since, until, page_size, page)
            )
            if resp.status != 200 or not isinstance(resp.body, dict):
                raise Fatal(f"Magento GET /V1/orders answered {resp.status}: {resp.body!r:.300}")
            items = resp.body.get("items") or []
            if items:
                yield items
            total = int(resp.body.get("total_count") or 0)
            if not items or page * page_size >= total:
                return
            page += 1
