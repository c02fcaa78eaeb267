"""Stock that moves during a trading day, played into any ERP sandbox as its own warehouse staff would:
a morning count with allocations and quarantine, then goods in, picks and a few lines put on hold."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trueup.sandbox.erps import ErpSandbox

LOCATION = "WEB"  # every ERP sandbox knows this location


@dataclass
class StockDay:
    erp: ErpSandbox
    skus: list[str]
    seed: int = 0
    # (sku, location) -> (on_hand, allocated, quarantined), as last set in the ERP
    levels: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def morning_count(self) -> None:
        for sku in self.skus:
            on_hand = self.rng.randint(0, 40)
            allocated = self.rng.randint(0, on_hand // 3)
            quarantined = self.rng.choice((0, 0, 0, 1, 2))
            self._set(sku, on_hand, allocated, quarantined)

    def moves(self, share: float = 0.1) -> int:
        """Goods in, picks and holds on a share of the SKUs; returns how many SKUs moved."""
        moved = self.rng.sample(self.skus, max(1, int(len(self.skus) * share)))
        for sku in moved:
            on_hand, allocated, quarantined = self.levels[(sku, LOCATION)]
            on_hand = max(0, on_hand + self.rng.choice((-3, -1, 5, 12)))
            allocated = min(on_hand, allocated + self.rng.choice((0, 1, 2)))
            self._set(sku, on_hand, allocated, quarantined)
        return len(moved)

    def _set(self, sku: str, on_hand: int, allocated: int, quarantined: int) -> None:
        self.levels[(sku, LOCATION)] = (on_hand, allocated, quarantined)
        self.erp.set_stock(sku, LOCATION, on_hand=on_hand, allocated=allocated, quarantined=quarantined)

    def sellable(self) -> dict[str, int]:
        """What the storefront should show per SKU (default formula, every location into one source)."""
        return {sku: max(0, oh - al - qu) for (sku, _), (oh, al, qu) in self.levels.items()}


def active_skus(items: Sequence[Mapping[str, Any]], limit: int) -> list[str]:
    return [str(i["sku"]) for i in items if i.get("active", True)][:limit]
