"""Canonical sales order ⇄ the REST ERP contract's JSON. Money goes out as strings with two decimals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from trueup.connectors.shape import shaped
from trueup.model.erp import (
    CreditNote,
    Despatch,
    DespatchLine,
    ItemPrice,
    LedgerEntry,
    LedgerKind,
    PriceKind,
    StockLevel,
)
from trueup.model.items import ErpItem
from trueup.model.money import round_money
from trueup.model.orders import ErpAddress, ErpSalesOrder
from trueup.model.shadow import PostedLine, PostedOrder


def _m(value: Decimal) -> str:
    return str(round_money(value))


def _address(a: ErpAddress) -> dict[str, Any]:
    return {
        "name": a.name,
        "company": a.company,
        "lines": list(a.lines),
        "city": a.city,
        "region": a.region,
        "postcode": a.postcode,
        "country": a.country,
        "phone": a.phone,
        "email": a.email,
    }


def sales_order_body(order: ErpSalesOrder) -> dict[str, Any]:
    return {
        "external_id": order.external_id,
        "order_date": order.order_date.isoformat() + "Z",
        "currency": order.currency,
        "customer": {"email": order.customer_email, "name": order.customer_name},
        "bill_to": _address(order.bill_to),
        "ship_to": _address(order.ship_to),
        "carrier": order.carrier,
        "service": order.service,
        "lines": [
            {
                "line_no": line.line_no,
                "item_id": line.erp_item_id,
                "sku": line.sku,
                "description": line.description,
                "qty": f"{line.qty.normalize():f}",
                "unit_price": _m(line.unit_price),
                "net": _m(line.net),
                "discount": _m(line.discount),
                "tax": _m(line.tax),
                "tax_rate": _m(line.tax_rate),
                "gross": _m(line.gross),
            }
            for line in order.lines
        ],
        "shipping": {"net": _m(order.shipping_net), "tax": _m(order.shipping_tax)},
        "discount_total": _m(order.discount_total),
        "tax_total": _m(order.tax_total),
        "grand_total": _m(order.grand_total),
        "payment": {"method": order.payment_method, "reference": order.payment_reference},
        "tax_mode": order.tax_mode,
    }


@shaped("REST ERP", "item")
def to_item(raw: dict[str, Any]) -> ErpItem:
    return ErpItem(
        sku=str(raw["sku"]),
        erp_item_id=str(raw["item_id"]),
        barcode=raw.get("barcode") or None,
        pid=raw.get("pid") or None,
        active=bool(raw.get("active", True)),
        name=str(raw.get("name") or ""),
        source_version=str(raw.get("updated_at") or ""),
    )


def credit_note_body(note: CreditNote) -> dict[str, Any]:
    return {
        "external_id": note.external_id,
        "order_external_id": note.order_id,
        "created_at": note.created_at.isoformat() + "Z",
        "currency": note.currency,
        "lines": [
            {
                "item_id": line.erp_item_id,
                "sku": line.sku,
                "qty": str(line.qty),
                "net": _m(line.net),
                "tax": _m(line.tax),
                "tax_rate": _m(line.tax_rate),
                "gross": _m(line.gross),
                "restock": line.restock,
            }
            for line in note.lines
        ],
        "shipping": {"net": _m(note.shipping_net), "tax": _m(note.shipping_tax)},
        "adjustment": _m(note.adjustment),
        "total": _m(note.total),
        "reason": note.reason,
    }


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


@shaped("REST ERP", "stock level")
def to_stock_level(raw: dict[str, Any]) -> StockLevel:
    return StockLevel(
        sku=str(raw["sku"]),
        erp_item_id=str(raw["item_id"]),
        location=str(raw["location"]),
        on_hand=int(raw["on_hand"]),
        allocated=int(raw.get("allocated") or 0),
        quarantined=int(raw.get("quarantined") or 0),
        on_order=int(raw.get("on_order") or 0),
        as_of=_utc(str(raw["counted_at"])),
    )


@shaped("REST ERP", "price")
def to_price(raw: dict[str, Any]) -> ItemPrice:
    return ItemPrice(
        sku=str(raw["sku"]),
        currency=str(raw["currency"]),
        price=Decimal(str(raw["price"])),
        kind=PriceKind(raw.get("kind") or "base"),
        customer_group=raw.get("customer_group"),
        min_qty=int(raw.get("min_qty") or 1),
    )


# Sales order statuses a despatch leaves behind that mean nothing more ships (docs/connectors/rest-erp.md).
CLOSED_STATUSES = frozenset({"complete", "closed"})


@shaped("REST ERP", "despatch")
def to_despatch(raw: dict[str, Any]) -> Despatch:
    return Despatch(
        despatch_id=str(raw["despatch_id"]),
        order_id=str(raw["external_id"]),
        erp_order_ref=str(raw.get("sales_order_id") or ""),
        despatched_at=_utc(str(raw["despatched_at"])),
        carrier=str(raw["carrier"]),
        service=str(raw.get("service") or ""),
        tracking_numbers=tuple(str(t) for t in raw.get("tracking_numbers") or ()),
        lines=tuple(DespatchLine(sku=str(ln["sku"]), qty=int(ln["qty"])) for ln in raw.get("lines") or ()),
        closes_order=str(raw.get("order_status") or "") in CLOSED_STATUSES,
    )


@shaped("REST ERP", "ledger entry")
def to_ledger_entry(raw: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        kind=LedgerKind(raw["kind"]),
        document_id=str(raw["document_id"]),
        order_id=str(raw.get("external_id") or ""),
        posted_on=date.fromisoformat(str(raw["posted_on"])),
        currency=str(raw["currency"]),
        net=Decimal(str(raw["net"])),
        tax=Decimal(str(raw["tax"])),
        gross=Decimal(str(raw["gross"])),
    )


def to_posted_order(raw: dict[str, Any]) -> PostedOrder:
    """A sales order as the REST ERP holds it (the body it was posted with), for shadow mode."""
    ship = raw.get("ship_to") or {}
    shipping = raw.get("shipping") or {}
    return PostedOrder(
        external_id=str(raw["external_id"]),
        currency=str(raw.get("currency") or ""),
        lines=tuple(
            PostedLine(sku=str(ln["sku"]), qty=Decimal(str(ln["qty"])), gross=Decimal(str(ln["gross"])))
            for ln in raw.get("lines") or []
        ),
        tax_total=Decimal(str(raw.get("tax_total") or "0")),
        shipping_gross=Decimal(str(shipping.get("net") or "0")) + Decimal(str(shipping.get("tax") or "0")),
        grand_total=Decimal(str(raw.get("grand_total") or "0")),
        ship_name=str(ship.get("name") or ""),
        ship_lines=tuple(str(x) for x in ship.get("lines") or ()),
        ship_postcode=str(ship.get("postcode") or ""),
        ship_country=str(ship.get("country") or ""),
        carrier=str(raw.get("carrier") or ""),
        service=str(raw.get("service") or ""),
    )
