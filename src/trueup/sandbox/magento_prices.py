"""The sandbox Magento's catalogue prices: products, and base, special and tier prices through Magento's
bulk price endpoints, with their 200-with-errors answers.

`POST /V1/products/base-prices`, `special-price` and `tier-prices` save the valid rows and answer 200 with
a list of `{message, parameters}` for the refused ones (an empty list when all were saved), as Magento
2.4's price storage does: a SKU with no product, or a negative price, is refused with its SKU among the
parameters. `POST /V1/products/base-prices-information`, `special-price-information` and
`tier-prices-information` read them back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import simplejson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

NO_PRODUCT = "Requested product doesn't exist. Row ID: SKU = %1, Store ID: %2."
BAD_PRICE = "Invalid attribute %1 = %2. Row ID: SKU = %3, Store ID: %4."


@dataclass
class PriceState:
    """Products by SKU, and prices: base[sku], special[sku], tier[(sku, group, qty)] (Decimal)."""

    products: set[str] = field(default_factory=set)
    base: dict[str, Decimal] = field(default_factory=dict)
    special: dict[str, Decimal] = field(default_factory=dict)
    tier: dict[tuple[str, str, int], Decimal] = field(default_factory=dict)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def save(self, kind: str, rows: list[Any]) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        with self.lock:
            self.calls += 1
            for row in rows:
                sku = str(row.get("sku", ""))
                scope = str(row.get("website_id" if kind == "tier" else "store_id", 0))
                try:
                    price = Decimal(str(row.get("price")))
                except InvalidOperation:
                    price = Decimal(-1)
                if sku not in self.products:
                    errors.append({"message": NO_PRODUCT, "parameters": [sku, scope]})
                elif price < 0:
                    errors.append(
                        {"message": BAD_PRICE, "parameters": ["Price", str(row.get("price")), sku, scope]}
                    )
                elif kind == "base":
                    self.base[sku] = price
                elif kind == "special":
                    self.special[sku] = price
                else:
                    self.tier[
                        (sku, str(row.get("customer_group")), int(Decimal(str(row.get("quantity", 1)))))
                    ] = price
        return errors


def _json(status: int, body: Any) -> Response:
    return Response(
        simplejson.dumps(body, use_decimal=True).encode(), status_code=status, media_type="application/json"
    )


def price_routes(state: PriceState, refused: Callable[[Request], Response | None]) -> list[Route]:
    def saver(kind: str) -> Callable[[Request], Any]:
        async def save(request: Request) -> Response:
            if (refusal := refused(request)) is not None:
                return refusal
            body = json.loads(await request.body(), parse_float=Decimal)
            rows = body.get("prices") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                return _json(
                    400,
                    {
                        "message": '"%fieldName" is required. Enter and try again.',
                        "parameters": {"fieldName": "prices"},
                    },
                )
            return _json(200, state.save(kind, rows))

        return save

    async def base_information(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        body = await request.json()
        skus = body.get("skus") if isinstance(body, dict) else None
        if not isinstance(skus, list):
            return _json(
                400,
                {
                    "message": '"%fieldName" is required. Enter and try again.',
                    "parameters": {"fieldName": "skus"},
                },
            )
        found = [{"price": state.base[s], "store_id": 0, "sku": s} for s in skus if s in state.base]
        return _json(200, found)

    async def special_information(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        body = await request.json()
        skus = set(body.get("skus") or []) if isinstance(body, dict) else set()
        found = [
            {"price": p, "store_id": 0, "sku": s, "price_from": "1970-01-01 00:00:00",
             "price_to": "2099-12-31 23:59:59"}
            for s, p in sorted(state.special.items()) if s in skus
        ]  # fmt: skip
        return _json(200, found)

    async def tier_information(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        body = await request.json()
        skus = set(body.get("skus") or []) if isinstance(body, dict) else set()
        found = [
            {"price": p, "price_type": "fixed", "website_id": 0, "sku": s, "customer_group": g, "quantity": q}
            for (s, g, q), p in sorted(state.tier.items()) if s in skus
        ]  # fmt: skip
        return _json(200, found)

    paths = (
        ("/V1/products/base-prices", saver("base")),
        ("/V1/products/special-price", saver("special")),
        ("/V1/products/tier-prices", saver("tier")),
        ("/V1/products/base-prices-information", base_information),
        ("/V1/products/special-price-information", special_information),
        ("/V1/products/tier-prices-information", tier_information),
    )
    return [
        Route(prefix + path, endpoint, methods=["POST"])
        for prefix in ("/rest", "/rest/{store_code}")
        for path, endpoint in paths
    ]
