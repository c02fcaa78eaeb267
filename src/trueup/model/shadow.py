"""A sales order as the ERP holds it, in the terms shadow mode compares: lines (item, quantity, gross),
tax, totals, where it ships and with whom. Built from what trueup would post (`posted_view`) and read back
from what the incumbent integration posted (an ERP connector's `posted_order`)."""

from __future__ import annotations

from decimal import Decimal

from trueup.model.orders import ErpSalesOrder, Record


class PostedLine(Record):
    sku: str
    qty: Decimal
    gross: Decimal


class PostedOrder(Record):
    external_id: str
    currency: str
    lines: tuple[PostedLine, ...]
    tax_total: Decimal
    shipping_gross: Decimal
    grand_total: Decimal
    ship_name: str = ""
    ship_lines: tuple[str, ...] = ()
    ship_postcode: str = ""
    ship_country: str = ""
    carrier: str = ""
    service: str = ""


def posted_view(order: ErpSalesOrder) -> PostedOrder:
    return PostedOrder(
        external_id=order.external_id,
        currency=order.currency,
        lines=tuple(PostedLine(sku=ln.sku, qty=ln.qty, gross=ln.gross) for ln in order.lines),
        tax_total=order.tax_total,
        shipping_gross=order.shipping_net + order.shipping_tax,
        grand_total=order.grand_total,
        ship_name=order.ship_to.name,
        ship_lines=order.ship_to.lines,
        ship_postcode=order.ship_to.postcode,
        ship_country=order.ship_to.country,
        carrier=order.carrier,
        service=order.service,
    )
