"""The ERP item master → trueup's SKU map, which order validation reads.

Level-triggered: each pass reads the whole item master and upserts it; the unique (erp, sku) key makes a
re-run a no-op. (Fanning items out to the storefront is the catalogue flow, R-CAT-1.)
"""

from __future__ import annotations

from dataclasses import dataclass

from trueup.ports import CatalogSource, ItemMap


@dataclass(frozen=True, slots=True)
class ItemSyncResult:
    items: int
    inactive: int


class ItemFlow:
    name = "items"

    def __init__(self, source: CatalogSource, item_map: ItemMap) -> None:
        self.source = source
        self.item_map = item_map

    async def sync(self) -> ItemSyncResult:
        total = inactive = 0
        async for page in self.source.items():
            await self.item_map.save_items(page)
            total += len(page)
            inactive += sum(1 for item in page if not item.active)
        return ItemSyncResult(total, inactive)
