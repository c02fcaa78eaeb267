"""Products as trueup sends them to the storefront: technical attributes only (R-CAT-1, R-OWN-2).

The ERP masters an item's SKU, name, status, barcode, weight and configured attributes; the storefront's
merchandisers own its descriptions, images and SEO, so those are never part of a row and never sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

ITEM_KIND = "item.push"
ITEM_LANE = "items"  # a lane of its own: a worker serves one flow, and prices hold the `catalog` lane
BARCODE_ATTRIBUTE = "ean"  # the storefront custom attribute the ERP's barcode goes to (configurable)


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One product as trueup sends it. `weight` is a canonical decimal string ("" when the ERP has none);
    `attributes` are (code, value) pairs, sorted, the barcode among them under its attribute code."""

    sku: str
    name: str
    enabled: bool
    weight: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    erp_item_id: str = ""
    barcode: str = ""

    def digest(self) -> str:
        """What the storefront should show, hashed: the planner compares this with the last push."""
        # Unit and record separators cannot occur in an ERP's codes or names in any way that matters here:
        # a collision needs a value holding them, and the worst it does is skip one update.
        attrs = "\x1e".join(f"{c}\x1f{v}" for c, v in self.attributes)
        wire = "\x1d".join((self.sku, self.name, "1" if self.enabled else "0", self.weight, attrs))
        return hashlib.blake2b(wire.encode(), digest_size=16).hexdigest()

    def as_list(self) -> list[object]:
        return [
            self.sku,
            self.name,
            self.enabled,
            self.weight,
            [list(a) for a in self.attributes],
            self.erp_item_id,
            self.barcode,
        ]


@dataclass(frozen=True, slots=True)
class Pushed:
    """The last confirmed push of one SKU (`pushed_items`)."""

    digest: str
    erp_item_id: str
    barcode: str


@dataclass(frozen=True, slots=True)
class ItemReport:
    """What one push cost and refused: SKU -> the storefront's message (the rest was saved)."""

    api_calls: int
    created: int = 0
    rejected: dict[str, str] = field(default_factory=dict)


def item_payload(rows: Sequence[ItemRow]) -> str:
    return json.dumps({"rows": [r.as_list() for r in rows]}, separators=(",", ":"))


def item_rows(payload: str) -> list[ItemRow]:
    return [
        ItemRow(
            str(sku),
            str(name),
            bool(enabled),
            str(weight),
            tuple((str(c), str(v)) for c, v in attrs),
            str(item_id),
            str(barcode),
        )
        for sku, name, enabled, weight, attrs, item_id, barcode in json.loads(payload)["rows"]
    ]
