"""Stock as trueup pushes it to the storefront: one sellable quantity per SKU and storefront source.

The storefront keeps reservations (unshipped orders) apart from source quantities, so trueup pushes the
*source* quantity only and never a salable figure: a reservation made during a push is never overwritten
(R-STK-4).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

# The parts of an ERP stock level that a formula may subtract from `on_hand`.
FORMULA_TERMS = ("allocated", "quarantined", "on_order", "reserved")


@dataclass(frozen=True, slots=True)
class SellableFormula:
    """How an ERP's stock level becomes the sellable figure (R-STK-1). Each ERP connector declares one.

    `subtract`: the parts taken off `on_hand` ("reserved" is what config holds back for other channels).
    `use_erp_sellable`: the ERP states its own sellable figure (Prima's Available to Sell); when a level
    carries one it replaces on_hand − allocated − quarantined, and "reserved" is still taken off.
    """

    subtract: tuple[str, ...] = ("allocated", "quarantined", "reserved")
    use_erp_sellable: bool = True

    def __post_init__(self) -> None:
        unknown = [t for t in self.subtract if t not in FORMULA_TERMS]
        if unknown:
            raise ValueError(f"unknown stock formula terms {unknown}; expected some of {FORMULA_TERMS}")

    def describe(self) -> str:
        base = "on_hand − " + " − ".join(self.subtract) if self.subtract else "on_hand"
        return f"{base} (or the ERP's own sellable figure)" if self.use_erp_sellable else base


DEFAULT_FORMULA = SellableFormula()


@dataclass(frozen=True, slots=True)
class StockRules:
    """Everything the stock planner needs besides the data: formula, buffers and the location map."""

    formula: SellableFormula = DEFAULT_FORMULA
    # ERP location -> storefront source code. Empty: every location adds up into `default_source`.
    locations: dict[str, str] = field(default_factory=dict)
    default_source: str = "default"
    buffer: int = 0  # global: held back from every SKU × source
    sku_buffers: dict[str, int] = field(default_factory=dict)
    category_buffers: dict[str, int] = field(default_factory=dict)
    # SKU prefix -> category, for category buffers (the longest matching prefix wins).
    categories: dict[str, str] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)  # per SKU, held back for other channels


@dataclass(frozen=True, slots=True)
class SourceQty:
    """One storefront source item: the quantity at one source, as pushed or as the storefront shows it."""

    sku: str
    source_code: str
    quantity: int

    @property
    def in_stock(self) -> bool:
        return self.quantity > 0


@dataclass(frozen=True, slots=True)
class PushReport:
    """What one push of a batch cost and refused. `rejected`: (sku, source_code) -> the storefront's
    message; every other row of the batch was saved."""

    api_calls: int
    rejected: dict[tuple[str, str], str] = field(default_factory=dict)


# The ledger unit of the stock flow: one `work` row per batch of source items, not one per SKU, so that a
# full push of 1M SKU × source rows is ~2,000 ledger rows at the default batch size.
PUSH_KIND = "stock.push"
DRIFT_KIND = "stock.drift"
STOCK_LANE = "stock"


def batch_payload(rows: Sequence[tuple[str, str, int]]) -> str:
    return json.dumps({"rows": [list(r) for r in rows]}, separators=(",", ":"))


def batch_rows(payload: str) -> list[SourceQty]:
    return [SourceQty(str(s), str(c), int(q)) for s, c, q in json.loads(payload)["rows"]]
