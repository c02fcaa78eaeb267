"""Prices as trueup pushes them to the storefront: one price per SKU, kind, customer group and quantity, in
the storefront's currency. Prices travel as canonical decimal strings, never through a float."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

PRICE_KIND = "price.push"
CATALOG_LANE = "catalog"
ALL_GROUPS = "ALL GROUPS"  # Magento's tier price customer group meaning every group

# (sku, kind, customer_group, min_qty, price as a canonical decimal string)
PriceRowTuple = tuple[str, str, str, int, str]


def canonical(price: Decimal) -> str:
    """One spelling per amount (19.9, 19.90 and 19.900 are the same price), so a planner compares values."""
    return f"{price.quantize(Decimal('0.0001')):f}"


@dataclass(frozen=True, slots=True)
class PriceRow:
    sku: str
    kind: str  # base | special | tier
    customer_group: str
    min_qty: int
    price: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.sku, self.kind, self.customer_group, self.min_qty)


@dataclass(frozen=True, slots=True)
class PriceReport:
    """What one push cost and refused: row key -> the storefront's message (the rest was saved)."""

    api_calls: int
    rejected: dict[tuple[str, str, str, int], str] = field(default_factory=dict)


def price_payload(rows: Sequence[PriceRowTuple]) -> str:
    return json.dumps({"rows": [list(r) for r in rows]}, separators=(",", ":"))


def price_rows(payload: str) -> list[PriceRow]:
    return [PriceRow(str(s), str(k), str(g), int(q), str(p)) for s, k, g, q, p in json.loads(payload)["rows"]]
