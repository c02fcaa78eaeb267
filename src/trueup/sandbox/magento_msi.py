"""MSI's side of an order's life in the sandbox Magento: what shipping, cancelling and refunding do to
reservations and source quantities (Magento 2.4's inventory-sales, contracts/magento/README.md on MSI).

- Placing an order appends a negative reservation per simple SKU (`InventoryState.place_order`): salable
  quantity drops, source quantities do not.
- A shipment deducts the shipped units from the source it ships from and appends a compensating (positive)
  reservation for them: salable quantity is unchanged by the shipment, the source quantity drops.
- Cancelling appends a compensating reservation for what was not shipped: salable quantity comes back.
- A credit memo compensates the reservation of units refunded before they shipped; units refunded with
  "return to stock" go back to the default source.

A compensation never exceeds what the order still holds for the SKU, so an order placed without a
reservation (a test's bare order) leaves MSI alone. Configurable lines ship by their parent: the simple
child's SKU is the one reserved.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from trueup.sandbox.magento import MagentoState
from trueup.sandbox.magento_inventory import InventoryState

_linked: weakref.WeakKeyDictionary[MagentoState, InventoryState] = weakref.WeakKeyDictionary()


def link_inventory(state: MagentoState, inventory: InventoryState) -> None:
    """The app's order state and its inventory: shipping, cancel and refund reach MSI through this."""
    _linked[state] = inventory


def inventory_of(state: MagentoState) -> InventoryState | None:
    return _linked.get(state)


def simple_sku(items: Sequence[Mapping[str, Any]], item_id: int) -> str | None:
    """The reserved (simple) SKU behind an order line: a configurable's child, or the line's own SKU; None
    for a bundle's parent (its children are reserved and ship themselves)."""
    line = next((i for i in items if int(i["item_id"]) == item_id), None)
    if line is None or line.get("product_type") == "bundle":
        return None
    if line.get("product_type") == "configurable":
        child = next((i for i in items if int(i.get("parent_item_id") or 0) == item_id), None)
        return str(child["sku"]) if child is not None else None
    return str(line["sku"])


# What each order still holds per SKU, folded from the reservation log as it grows (reservations are only
# ever appended), so a busy day's shipments do not rescan the whole log each time.
def _held(inventory: InventoryState, order: str, sku: str) -> int:
    fold: tuple[list[int], dict[tuple[str, str], int]] | None = getattr(inventory, "_msi_fold", None)
    if fold is None:
        fold = ([0], {})
        setattr(inventory, "_msi_fold", fold)  # noqa: B010 - kept on the state it folds, gone with it
    seen, held = fold
    for s, _, q, o in inventory.reservations[seen[0] :]:
        held[(o, s)] = held.get((o, s), 0) - q
    seen[0] = len(inventory.reservations)
    return held.get((order, sku), 0)


def _compensate(inventory: InventoryState, order: str, sku: str, qty: int) -> None:
    take = min(qty, _held(inventory, order, sku))
    if take > 0:
        inventory.reservations.append((sku, 1, take, order))


def on_ship(
    state: MagentoState, order: Mapping[str, Any], shipped: Mapping[int, Decimal], source: str
) -> None:
    inventory = inventory_of(state)
    if inventory is None:
        return
    order_id = str(order["increment_id"])
    with inventory.lock:
        for item_id, qty in shipped.items():
            sku = simple_sku(order["items"], item_id)
            if sku is None:
                continue
            units = int(qty)
            item = inventory.items.get((sku, source))
            if item is not None:
                item[0] -= units
            _compensate(inventory, order_id, sku, units)


def on_release(state: MagentoState, order: Mapping[str, Any], released: Mapping[int, Decimal]) -> None:
    """Cancelled (or refunded before shipping) units: the order's reservation for them is compensated."""
    inventory = inventory_of(state)
    if inventory is None:
        return
    order_id = str(order["increment_id"])
    with inventory.lock:
        for item_id, qty in released.items():
            sku = simple_sku(order["items"], item_id)
            if sku is not None and qty > 0:
                _compensate(inventory, order_id, sku, int(qty))


def on_return(state: MagentoState, order: Mapping[str, Any], returned: Mapping[int, Decimal]) -> None:
    """Refunded units sent back to stock: they return to the default source."""
    inventory = inventory_of(state)
    if inventory is None:
        return
    with inventory.lock:
        for item_id, qty in returned.items():
            sku = simple_sku(order["items"], item_id)
            item = inventory.items.get((sku, "default")) if sku is not None else None
            if item is not None:
                item[0] += int(qty)
