"""The catalogue planner: pure, no I/O. The ERP's item master ⨝ `pushed_items` → the products to create or
update (only those whose technical attributes changed), and the items that must not be sent (R-CAT-3).

An item master is tens of thousands of rows, not millions: plain dicts keep this simple and fast enough
(the stock planner is columnar because stock is SKU × location and moves all day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from trueup.model.catalog import ItemRow, Pushed
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem


@dataclass(frozen=True, slots=True)
class Finding:
    """An item the planner will not send as it is, with its reason (becomes an exception)."""

    reason: Reason
    key: str  # the exception's key: stable, so a finding seen on every pass stays one exception
    sku: str
    message: str  # ends in "Resolution: ..."


@dataclass(frozen=True, slots=True)
class ItemPlan:
    listed: int
    changes: list[ItemRow]
    findings: list[Finding]


def item_row(item: ErpItem, barcode_attribute: str) -> ItemRow:
    attrs = dict(item.attributes)
    if item.barcode and barcode_attribute:
        attrs[barcode_attribute] = item.barcode
    return ItemRow(
        sku=item.sku,
        name=item.name or item.sku,
        enabled=item.active,
        weight=_weight(item.weight),
        attributes=tuple(sorted(attrs.items())),
        erp_item_id=item.erp_item_id,
        barcode=item.barcode or "",
    )


def _weight(weight: Decimal | None) -> str:
    if weight is None:
        return ""
    text = f"{weight.normalize():f}"
    return "0" if text in ("-0", "0") else text


def bundle_parts(sku: str, skus: set[str]) -> list[str] | None:
    """The other SKUs `sku` is made of, joined with '-' (a dynamic-SKU bundle), or None. Parts may hold a
    '-' themselves, so every split point is tried (a SKU has few)."""
    pieces = sku.split("-")
    if len(pieces) < 2:
        return None
    # best[i]: a way to cover pieces[:i] with master SKUs (other than `sku` itself)
    best: dict[int, list[str]] = {0: []}
    for end in range(1, len(pieces) + 1):
        for start in range(end):
            if start in best:
                part = "-".join(pieces[start:end])
                if part != sku and part in skus:
                    best[end] = [*best[start], part]
                    break
    found = best.get(len(pieces))
    return found if found is not None and len(found) >= 2 else None


def plan_items(
    items: Sequence[ErpItem],
    pushed: Mapping[str, Pushed],
    *,
    barcode_attribute: str = "ean",
    full: bool = False,
) -> ItemPlan:
    by_sku: dict[str, list[ErpItem]] = {}
    for item in items:
        by_sku.setdefault(item.sku, []).append(item)
    skus = set(by_sku)
    findings: list[Finding] = []
    changes: list[ItemRow] = []
    # Pushed SKUs the master no longer holds, by ERP item id and by barcode: where a renamed SKU came from.
    gone = {sku: p for sku, p in pushed.items() if sku not in skus}
    gone_by_id = {p.erp_item_id: sku for sku, p in gone.items() if p.erp_item_id}
    gone_by_barcode = {p.barcode: sku for sku, p in gone.items() if p.barcode}
    for sku in sorted(by_sku):
        copies = by_sku[sku]
        if len({c.erp_item_id for c in copies}) > 1:
            findings.append(_duplicate(sku, copies))
            continue
        item = copies[-1]
        parts = bundle_parts(sku, skus)
        if parts is not None:
            findings.append(_bundle(sku, parts))
            continue
        row = item_row(item, barcode_attribute)
        before = pushed.get(sku)
        if before is None:
            old = gone_by_id.get(item.erp_item_id) or (gone_by_barcode.get(item.barcode or "") or None)
            if old is not None:
                findings.append(_renamed(old, item))
        if full or before is None or before.digest != row.digest():
            changes.append(row)
    return ItemPlan(len(items), changes, findings)


def _duplicate(sku: str, copies: Sequence[ErpItem]) -> Finding:
    ids = ", ".join(sorted({c.erp_item_id for c in copies}))
    return Finding(
        Reason.DUPLICATE_SKU,
        f"item:{sku}:duplicate",
        sku,
        f"SKU {sku} is on {len(copies)} items of the ERP's item master (ERP item ids {ids}); none is sent "
        "to the storefront. Resolution: give each ERP item its own SKU, then resolve this exception.",
    )


def _bundle(sku: str, parts: Sequence[str]) -> Finding:
    return Finding(
        Reason.DYNAMIC_BUNDLE_SKU,
        f"item:{sku}:bundle",
        sku,
        f"SKU {sku} is the SKUs {', '.join(parts)} joined with '-', as a dynamic-SKU bundle is written; it "
        "is not sent to the storefront. Resolution: give a real item a SKU of its own in the ERP, or keep "
        "the bundle in the storefront and remove the row from the ERP's item master; then resolve this "
        "exception.",
    )


def _renamed(old: str, item: ErpItem) -> Finding:
    return Finding(
        Reason.SKU_RENAMED,
        f"item:{old}->{item.sku}",
        item.sku,
        f"ERP item {item.erp_item_id} was sent to the storefront as SKU {old} and is now SKU {item.sku}; "
        f"{item.sku} is sent as a product of its own and {old} is left as it is (trueup deletes nothing). "
        f"Resolution: disable or redirect {old} in the storefront and move its content to {item.sku}, "
        "then resolve this exception.",
    )
