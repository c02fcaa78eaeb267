"""The ERP item master → trueup's SKU map, which order validation reads.

Level-triggered: each pass reads the whole item master and upserts it; the unique (erp, sku) key makes a
re-run a no-op. When the item master changed, orders parked for an unknown or inactive SKU are planned
again, because their cause may be gone. (Fanning items out to the storefront is the catalogue flow, R-CAT-1.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trueup.model.exceptions import Reason
from trueup.ports import CatalogSource, ExceptionQueue, ItemMap, RejectionSource


class ItemSource(CatalogSource, RejectionSource, Protocol):
    pass


SKU_REASONS = (Reason.UNKNOWN_SKU, Reason.INACTIVE_SKU)


@dataclass(frozen=True, slots=True)
class ItemSyncResult:
    items: int
    inactive: int
    changed: int
    replanned: int


class ItemFlow:
    name = "items"
    # Orders are judged against the item map, so `trueup run` syncs it before any order is worked.
    runs_first = True

    def __init__(self, source: ItemSource, item_map: ItemMap, exceptions: ExceptionQueue) -> None:
        self.source = source
        self.item_map = item_map
        self.exceptions = exceptions

    async def sync(self) -> ItemSyncResult:
        total = inactive = changed = 0
        async for page in self.source.items():
            changed += await self.item_map.save_items(page)
            total += len(page)
            inactive += sum(1 for item in page if not item.active)
        # A malformed export or a bad row the connector refused is an exception, not a silent gap.
        await self.exceptions.park_rejections(self.source.take_rejections())
        replanned = 0
        if changed:
            replanned = await self.item_map.replan_parked(
                [str(r) for r in SKU_REASONS], f"the ERP item master changed ({changed} items)"
            )
        return ItemSyncResult(total, inactive, changed, replanned)
