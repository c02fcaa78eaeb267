"""Storefront shipments as the fulfilment flow sees them: the order's shippable lines with what is already
shipped, the shipments it has, and the shipment trueup asks for. Quantities are integers (whole units)."""

from __future__ import annotations

from trueup.model.orders import Record


class ShipLine(Record):
    """One line the storefront ships by: a simple product, a configurable's parent line (under its child's
    SKU, the one the ERP booked) or a bundle's child. `line_id` is the storefront order item id."""

    line_id: str
    sku: str
    qty_ordered: int
    qty_shipped: int = 0
    qty_cancelled: int = 0
    unit_minor: int = 0  # what one unit cost the customer (tax included, after discount), minor units

    @property
    def left(self) -> int:
        return max(0, self.qty_ordered - self.qty_shipped - self.qty_cancelled)


class Track(Record):
    number: str
    carrier_code: str
    title: str = ""


class ShipmentItem(Record):
    line_id: str
    qty: int


class Shipment(Record):
    """A shipment the storefront has, made by trueup or by a person. `comments` carry trueup's own note (the
    despatch id), which is how a shipment trueup made before a crash is known again."""

    shipment_id: str
    items: tuple[ShipmentItem, ...]
    tracks: tuple[Track, ...] = ()
    comments: tuple[str, ...] = ()


class ShippableOrder(Record):
    """A storefront order as far as shipping goes. `entity_id` is the storefront's internal id."""

    order_id: str
    entity_id: str
    state: str
    status: str
    currency: str = ""
    grand_total_minor: int = 0
    lines: tuple[ShipLine, ...]
    shipments: tuple[Shipment, ...] = ()

    @property
    def shipped_any(self) -> bool:
        return any(line.qty_shipped for line in self.lines)


class ShipmentRequest(Record):
    """What to ship: the storefront order, its items by line id, the tracking, and a comment that names the
    despatch (its id and true despatch time)."""

    entity_id: str
    items: tuple[ShipmentItem, ...]
    tracks: tuple[Track, ...]
    comment: str
    notify: bool = True
    source_code: str = ""
