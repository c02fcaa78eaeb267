"""Which Magento order items a despatch ships by: a configurable by its parent line under its child's SKU,
a bundle by its children, a simple product by itself; and a shipment read back from Magento's JSON."""

from __future__ import annotations

from decimal import Decimal

from trueup.connectors.magento.shipments import ship_lines, to_shipment
from trueup.model.shipments import ShipLine, Track


def item(item_id: int, sku: str, kind: str, qty: str, parent: int | None = None, shipped: str = "0") -> dict:
    return {
        "item_id": item_id,
        "parent_item_id": parent,
        "sku": sku,
        "product_type": kind,
        "qty_ordered": Decimal(qty),
        "qty_shipped": Decimal(shipped),
        "qty_canceled": Decimal(0),
    }


def test_configurables_ship_by_the_parent_under_the_childs_sku_and_bundles_by_their_children() -> None:
    items = [
        item(1, "TEE-M", "configurable", "2.0000", shipped="1.0000"),
        item(2, "TEE-M", "simple", "2.0000", parent=1),  # the configurable's child: qty_shipped stays 0
        item(3, "SET-MUG-CUP", "bundle", "1.0000"),
        item(4, "MUG", "simple", "1.0000", parent=3),
        item(5, "CUP", "simple", "2.0000", parent=3),
        item(6, "SOCKS", "simple", "3.0000"),
    ]
    assert ship_lines(items) == (
        ShipLine(line_id="1", sku="TEE-M", qty_ordered=2, qty_shipped=1),
        ShipLine(line_id="4", sku="MUG", qty_ordered=1),
        ShipLine(line_id="5", sku="CUP", qty_ordered=2),
        ShipLine(line_id="6", sku="SOCKS", qty_ordered=3),
    )


def test_a_shipment_is_read_with_its_items_tracks_and_comments() -> None:
    raw = {
        "entity_id": 12,
        "order_id": 7,
        "items": [{"order_item_id": 1, "qty": Decimal("2.0000")}],
        "tracks": [{"track_number": "T1", "carrier_code": "ups", "title": "UPS GROUND"}],
        "comments": [{"comment": "Despatched ... [erp:DN-1]"}],
    }
    shipment = to_shipment(raw)
    assert shipment.shipment_id == "12" and [(i.line_id, i.qty) for i in shipment.items] == [("1", 2)]
    assert shipment.tracks == (Track(number="T1", carrier_code="ups", title="UPS GROUND"),)
    assert shipment.comments == ("Despatched ... [erp:DN-1]",)
