"""The sandbox Magento's products: `GET /V1/products` (searchCriteria: `sku` eq / in, paged),
`GET /V1/products/{sku}`, `POST /V1/products` and `PUT /V1/products/{sku}`, shaped as Adobe's published
schema says (`catalog-data-product-interface`; the tests validate every request and answer against it).

A save changes only the attributes the request names, as Magento's product repository does: custom
attributes merge by `attribute_code`, so a merchandiser's description survives an integration's update.
Magento refuses a SKU over 64 characters and a negative weight with 400 and a message; so does this.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.magento_prices import _json

SKU_TOO_LONG = "SKU length should be %1 characters or less."
BAD_WEIGHT = 'The "%1" attribute value is invalid. Enter a number 0 or greater in this field.'
NOT_FOUND = "The product that was requested doesn't exist. Verify the product and try again."


@dataclass
class CatalogState:
    """Products by SKU, as the store holds them; `on_create` hears of each new SKU (the price store)."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_create: Callable[[str], None] | None = None
    calls: int = 0
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seed(self, skus: set[str]) -> None:
        for sku in sorted(skus):
            self.save({"sku": sku, "name": sku, "status": 1, "type_id": "simple"})

    def save(self, product: dict[str, Any], sku: str | None = None) -> tuple[int, Any]:
        sku = str(product.get("sku") or sku or "")
        if not sku:
            return 400, {"message": '"%fieldName" is required. Enter and try again.',
                         "parameters": {"fieldName": "sku"}}  # fmt: skip
        if len(sku) > 64:
            return 400, {"message": SKU_TOO_LONG, "parameters": ["64"]}
        weight = product.get("weight")
        if weight is not None and Decimal(str(weight)) < 0:
            return 400, {"message": BAD_WEIGHT, "parameters": ["weight"]}
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        with self.lock:
            self.calls += 1
            stored = self.products.get(sku)
            if stored is None:
                stored = {
                    "id": self.next_id,
                    "sku": sku,
                    "attribute_set_id": 4,
                    "type_id": "simple",
                    "visibility": 4,
                    "created_at": now,
                    "custom_attributes": [],
                }
                self.next_id += 1
                self.products[sku] = stored
                if self.on_create is not None:
                    self.on_create(sku)
            for key, value in product.items():
                if key == "custom_attributes" and isinstance(value, list):
                    merged = {a["attribute_code"]: a for a in stored["custom_attributes"]}
                    merged |= {str(a["attribute_code"]): a for a in value if isinstance(a, dict)}
                    stored["custom_attributes"] = list(merged.values())
                elif key not in ("id", "created_at"):
                    stored[key] = value
            stored["updated_at"] = now
            return 200, dict(stored)

    def attribute(self, sku: str, code: str) -> Any:
        attrs = self.products[sku].get("custom_attributes") or []
        return next((a["value"] for a in attrs if a["attribute_code"] == code), None)

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        group = "searchCriteria[filter_groups][0][filters][0]"
        field_name, value = params.get(f"{group}[field]"), params.get(f"{group}[value]", "")
        condition = params.get(f"{group}[condition_type]", "eq")
        with self.lock:
            found = sorted(self.products.values(), key=lambda p: int(p["id"]))
        filters: list[dict[str, Any]] = []
        if field_name == "sku":
            wanted = set(value.split(",")) if condition == "in" else {value}
            found = [p for p in found if p["sku"] in wanted]
            filters = [{"filters": [{"field": "sku", "value": value, "condition_type": condition}]}]
        size = int(params.get("searchCriteria[pageSize]", "20") or 20)
        page = int(params.get("searchCriteria[currentPage]", "1") or 1)
        return {
            "items": found[(page - 1) * size : page * size],
            "search_criteria": {"filter_groups": filters, "page_size": size, "current_page": page},
            "total_count": len(found),
        }


def catalog_routes(state: CatalogState, refused: Callable[[Request], Response | None]) -> list[Route]:
    async def search(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        return _json(200, state.search(dict(request.query_params)))

    async def one(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        sku = unquote(request.path_params["sku"])
        if request.method == "GET":
            with state.lock:
                product = state.products.get(sku)
            return _json(200, product) if product else _json(404, {"message": NOT_FOUND})
        return await _save(request, sku)

    async def create(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        return await _save(request, None)

    async def _save(request: Request, sku: str | None) -> Response:
        body = json.loads(await request.body(), parse_float=Decimal)
        product = body.get("product") if isinstance(body, dict) else None
        if not isinstance(product, dict):
            return _json(400, {"message": '"%fieldName" is required. Enter and try again.',
                               "parameters": {"fieldName": "product"}})  # fmt: skip
        status, answer = state.save(product, sku)
        return _json(status, answer)

    routes: list[Route] = []
    for prefix in ("/rest", "/rest/{store_code}"):
        routes += [
            Route(prefix + "/V1/products", search, methods=["GET"]),
            Route(prefix + "/V1/products", create, methods=["POST"]),
            Route(prefix + "/V1/products/{sku}", one, methods=["GET", "PUT"]),
        ]
    return routes
