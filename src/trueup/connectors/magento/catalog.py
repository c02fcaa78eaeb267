"""Magento as a `CatalogSink`: products created or updated with technical attributes only (R-OWN-2).

One `GET /V1/products` (searchCriteria `sku in …`, `fields=items[sku]`) tells which SKUs of a batch the
store has; each new one is created with `POST /V1/products`, each known one updated with
`PUT /V1/products/{sku}`. A PUT carries only the attributes trueup owns (name, status, weight, the barcode
and configured attributes as custom attributes): Magento's product save changes only the attributes a
request names, so a merchandiser's description, images, URL key and meta data stay as they are. Magento
refuses a product with 400 and a message; that product is reported as refused, the rest of the batch goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.prices import _fill
from trueup.errors import Fatal
from trueup.model.catalog import ItemReport, ItemRow

ENABLED, DISABLED = 1, 2  # Magento's product status
DEFAULT_ATTRIBUTE_SET = 4  # "Default" in every Magento install
VISIBLE_EVERYWHERE = 4  # catalog, search
# Attributes trueup never sends: the storefront's people own them (R-OWN-2). Checked by a test.
NEVER_SENT = frozenset(
    {"description", "short_description", "meta_title", "meta_keyword", "meta_description", "url_key",
     "image", "small_image", "thumbnail", "media_gallery_entries", "media_gallery"}
)  # fmt: skip


def product_body(row: ItemRow, *, new: bool) -> dict[str, Any]:
    product: dict[str, Any] = {
        "sku": row.sku,
        "name": row.name,
        "status": ENABLED if row.enabled else DISABLED,
        "custom_attributes": [{"attribute_code": c, "value": v} for c, v in row.attributes],
    }
    if row.weight:
        product["weight"] = Decimal(row.weight)  # a JSON number, digit for digit
    if new:
        # What Magento needs to create a product; never sent again, so a merchandiser may change them.
        product |= {
            "attribute_set_id": DEFAULT_ATTRIBUTE_SET,
            "type_id": "simple",
            "visibility": VISIBLE_EVERYWHERE,
        }
    return {"product": product}


class MagentoCatalog:
    def __init__(self, client: MagentoClient, *, name: str = "magento") -> None:
        self.http = client.http
        self.name = name

    async def existing(self, skus: Sequence[str]) -> set[str]:
        """Which of `skus` the store has: one request for the batch."""
        group = "searchCriteria[filter_groups][0][filters][0]"
        params = {
            f"{group}[field]": "sku",
            f"{group}[value]": ",".join(skus),
            f"{group}[condition_type]": "in",
            "searchCriteria[pageSize]": str(len(skus)),
            "searchCriteria[currentPage]": "1",
            "fields": "items[sku],total_count",
        }
        resp = await self.http.request("GET", "/V1/products", params=params)
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise Fatal(f"Magento GET /V1/products answered {resp.status}: {str(resp.body)[:300]}")
        return {str(p.get("sku")) for p in resp.body.get("items") or [] if isinstance(p, dict)}

    async def push_item_batch(self, rows: Sequence[ItemRow]) -> ItemReport:
        if not rows:
            return ItemReport(api_calls=0)
        # A SKU with a comma cannot be asked for in an `in` filter; it is treated as new (POST), and
        # Magento's answer says whether it was.
        have = await self.existing([r.sku for r in rows if "," not in r.sku])
        answers = await asyncio.gather(*(self._save(r, r.sku not in have) for r in rows))
        rejected = {sku: why for sku, why in answers if why is not None}
        created = sum(1 for r in rows if r.sku not in have and r.sku not in rejected)
        return ItemReport(api_calls=1 + len(rows), created=created, rejected=rejected)

    async def _save(self, row: ItemRow, new: bool) -> tuple[str, str | None]:
        if new:
            resp = await self.http.request("POST", "/V1/products", body=product_body(row, new=True))
        else:
            path = f"/V1/products/{quote(row.sku, safe='')}"
            resp = await self.http.request("PUT", path, body=product_body(row, new=False))
        if resp.status == 200:
            return row.sku, None
        if 400 <= resp.status < 500:
            return row.sku, f"{resp.status} {_fill(resp.body)}"
        raise Fatal(f"Magento {'POST' if new else 'PUT'} product {row.sku} answered {resp.status}")
