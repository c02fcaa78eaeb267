"""The Magento REST wire: bearer auth and searchCriteria paging.

Paging stops at `currentPage * pageSize >= total_count`, because Magento 2.3 answers a page past the end
with the last page again rather than an empty one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp

from trueup.connectors.http import JsonClient
from trueup.errors import Fatal

MAGENTO_TIME = "%Y-%m-%d %H:%M:%S"


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
    }


class MagentoClient:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str, *, concurrency: int = 4
    ) -> None:
        self.http = JsonClient(
            session,
            base_url,
            system="Magento",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            concurrency=concurrency,
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
