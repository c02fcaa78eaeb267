"""Magento as a `PriceSink`: the bulk price endpoints, base, special and tier.

`POST /V1/products/base-prices` `{"prices": [{price, store_id, sku}]}`, `POST /V1/products/special-price`
(`price_from`/`price_to` too) and `POST /V1/products/tier-prices` (`price_type`, `website_id`,
`customer_group`, `quantity`). Each answers 200 with `[]` when all was saved, or 200 with a list of
`{message, parameters}` for the rows it refused while saving the others (contracts/magento/README.md): a
200 is not a success until its list is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from trueup.connectors.magento.client import MagentoClient
from trueup.errors import Fatal
from trueup.model.prices import ALL_GROUPS, PriceReport, PriceRow

ENDPOINTS = {
    "base": "/V1/products/base-prices",
    "special": "/V1/products/special-price",
    "tier": "/V1/products/tier-prices",
}
# The ERP's price list carries no special price dates: a special price holds from now on (assumed window).
SPECIAL_FROM, SPECIAL_TO = "1970-01-01 00:00:00", "2099-12-31 23:59:59"


def price_body(row: PriceRow) -> dict[str, Any]:
    # Magento's schema wants a JSON number: the Magento client writes a Decimal as one, digit for digit.
    price = Decimal(row.price)
    if row.kind == "tier":
        return {
            "price": price,
            "price_type": "fixed",
            "website_id": 0,
            "sku": row.sku,
            "customer_group": row.customer_group,
            "quantity": row.min_qty,
        }
    body: dict[str, Any] = {"price": price, "store_id": 0, "sku": row.sku}
    if row.kind == "special":
        body |= {"price_from": SPECIAL_FROM, "price_to": SPECIAL_TO}
    return body


def _refused_sku(error: dict[str, Any], skus: set[str]) -> str | None:
    """The SKU a per-row error names: Magento puts it among the message's parameters."""
    params = error.get("parameters")
    values = params.values() if isinstance(params, dict) else params if isinstance(params, list) else []
    return next((str(v) for v in values if str(v) in skus), None)


class MagentoPrices:
    def __init__(self, client: MagentoClient, *, name: str = "magento") -> None:
        self.http = client.http
        self.name = name

    async def base_prices(self, skus: Sequence[str]) -> dict[str, Decimal]:
        return await base_prices_of(self, skus)

    async def shown_prices(self, skus: Sequence[str]) -> dict[tuple[str, str, str, int], Decimal]:
        """Every price trueup sets that the store shows for `skus`: base and special at global scope (store
        0), tier prices of website 0, keyed as `PriceRow.key`. Three requests."""
        shown = {(s, "base", ALL_GROUPS, 1): p for s, p in (await base_prices_of(self, skus)).items()}
        for row in await self._read("/V1/products/special-price-information", skus):
            if int(row.get("store_id") or 0) == 0:
                shown[(str(row["sku"]), "special", ALL_GROUPS, 1)] = Decimal(str(row["price"]))
        for row in await self._read("/V1/products/tier-prices-information", skus):
            if int(row.get("website_id") or 0) == 0:
                key = (
                    str(row["sku"]),
                    "tier",
                    str(row.get("customer_group")),
                    int(Decimal(str(row["quantity"]))),
                )
                shown[key] = Decimal(str(row["price"]))
        return shown

    async def _read(self, path: str, skus: Sequence[str]) -> list[dict[str, Any]]:
        resp = await self.http.request("POST", path, body={"skus": list(skus)})
        if resp.status != 200 or not isinstance(resp.body, list):
            raise Fatal(f"Magento POST {path} answered {resp.status}: {str(resp.body)[:300]}")
        return [row for row in resp.body if isinstance(row, dict)]

    async def push_price_batch(self, rows: Sequence[PriceRow]) -> PriceReport:
        calls, rejected = 0, dict[tuple[str, str, str, int], str]()
        for kind, path in ENDPOINTS.items():
            group = [r for r in rows if r.kind == kind]
            if not group:
                continue
            resp = await self.http.request("POST", path, body={"prices": [price_body(r) for r in group]})
            calls += 1
            if resp.status != 200 or not isinstance(resp.body, list):
                raise Fatal(f"Magento POST {path} answered {resp.status}: {str(resp.body)[:300]}")
            skus = {r.sku for r in group}
            for error in resp.body:
                sku = _refused_sku(error, skus) if isinstance(error, dict) else None
                message = _fill(error)
                for r in group if sku is None else [r for r in group if r.sku == sku]:
                    rejected[r.key] = message
        return PriceReport(api_calls=calls, rejected=rejected)


def _fill(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)[:300]
    text = str(error.get("message") or "")
    params = error.get("parameters")
    if isinstance(params, list):
        for i, value in enumerate(params, 1):
            text = text.replace(f"%{i}", str(value))
    return text[:300]


async def base_prices_of(prices: MagentoPrices, skus: Sequence[str]) -> dict[str, Decimal]:
    """`POST /V1/products/base-prices-information`: the global-scope (store 0) base price of each SKU."""
    path = "/V1/products/base-prices-information"
    resp = await prices.http.request("POST", path, body={"skus": list(skus)})
    if resp.status != 200 or not isinstance(resp.body, list):
        raise Fatal(f"Magento POST {path} answered {resp.status}: {str(resp.body)[:300]}")
    return {
        str(row["sku"]): Decimal(str(row["price"]))
        for row in resp.body
        if isinstance(row, dict) and int(row.get("store_id") or 0) == 0
    }
