"""Canonical records ⇄ Stokly's JSON. Pure functions: no I/O, so each shape is unit-tested on its own.

Shapes marked ASSUMED in docs/connectors/stokly.md (the location on a sale order, shipments, refunds, the
allocated field, prices) are isolated here so that confirming them with a customer touches one module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    StockAdjustment,
    StockLevel,
)
from trueup.model.items import ErpItem
from trueup.model.money import round_money, to_decimal
from trueup.model.orders import ErpSalesOrder

UNASSIGNED_BIN = "UNASSIGNED"
ACTIVE = "active"
ADJUSTMENT_TAG = "trueup:"


@shaped("Stokly", "item")
def to_item(raw: Mapping[str, Any]) -> ErpItem:
    """An item of `/v0/items`. Only status "active" may be sold; "discontinued" and the rest may not."""
    barcodes = [_barcode(b) for b in raw.get("barcodes") or []]
    return ErpItem(
        sku=str(raw["sku"]),
        erp_item_id=str(raw["itemId"]),
        barcode=next((b for b in barcodes if b), None),
        active=str(raw.get("status") or "").lower() == ACTIVE,
        name=str(raw.get("name") or ""),
        source_version=str(raw.get("updatedAt") or raw.get("modifiedAt") or ""),
    )


def _barcode(value: Any) -> str:
    # Public scripts show barcodes as plain strings; an object with a `barcode` key is accepted too.
    if isinstance(value, Mapping):
        return str(value.get("barcode") or "")
    return str(value or "")


@shaped("Stokly", "price")
def to_price(raw: Mapping[str, Any], *, field: str, currency: str) -> ItemPrice | None:
    """The item's base price from `field` (ASSUMED `salePrice`), in the account's single currency."""
    value = raw.get(field)
    if value is None or value == "":
        return None
    return ItemPrice(sku=str(raw["sku"]), currency=currency, price=to_decimal(value))


def naive_utc(moment: datetime) -> datetime:
    """trueup's records carry naive UTC times."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def parse_time(value: Any) -> datetime:
    return naive_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def format_time(moment: datetime) -> str:
    return naive_utc(moment).isoformat(timespec="milliseconds") + "Z"


# --- stock -------------------------------------------------------------------------------------------------


@shaped("Stokly", "inventory record")
def stock_levels(
    records: Iterable[Mapping[str, Any]], *, allocated_field: str, bin_id: str, as_of: datetime
) -> list[StockLevel]:
    """Inventory records → one level per item and location.

    With `bin_id` empty every bin's record is summed (ASSUMED: bins partition a location's stock and
    `UNASSIGNED` holds what is in no bin); with `bin_id` set only that bin's record counts.
    """
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in records:
        if bin_id and str(raw.get("binId") or UNASSIGNED_BIN) != bin_id:
            continue
        key = (str(raw["itemId"]), str(raw["locationId"]))
        level = totals.setdefault(
            key,
            {
                "sku": str(raw.get("itemSku") or ""),
                "on_hand": 0,
                "allocated": 0,
                "quarantined": 0,
                "on_order": 0,
            },
        )
        level["on_hand"] += _qty(raw.get("onHand"))
        level["allocated"] += _qty(raw.get(allocated_field)) if allocated_field else 0
        level["quarantined"] += _qty(raw.get("quarantined"))
        level["on_order"] += _qty(raw.get("onOrder"))
    return [
        StockLevel(erp_item_id=item_id, location=location, as_of=as_of, **figures)
        for (item_id, location), figures in totals.items()
    ]


def _qty(value: Any) -> int:
    return int(to_decimal(value)) if value is not None else 0


def adjustment_reason(reason: str, reference: str, part: int) -> str:
    """The reason written on an adjustment: the human reason plus a tag that makes a retry findable.

    Stokly's adjustments have no idempotency key, so the tag `[trueup:<reference>#<part>]` in `reason` is
    it: before posting, trueup looks for an adjustment with exactly this reason.
    """
    text = f"{reason} [{ADJUSTMENT_TAG}{reference}#{part}]".strip()
    # Stokly's filter literal ends at the first "}", so braces could never be looked up again.
    return text.replace("{", "(").replace("}", ")")


def adjustment_body(
    location_id: str, bin_id: str, reason: str, adjustments: Iterable[StockAdjustment]
) -> dict[str, Any]:
    return {
        "locationId": location_id,
        "binId": bin_id,
        "reason": reason,
        "items": [{"itemId": a.erp_item_id, "quantity": a.delta} for a in adjustments],
    }


# --- sale orders -------------------------------------------------------------------------------------------


def _m(value: Decimal) -> Decimal:
    return round_money(value)


def sale_order_body(
    order: ErpSalesOrder, *, location_id: str, source_type: str, source_id: str
) -> dict[str, Any]:
    """A `/v2/saleorders` create. Display figures are tax-exclusive with the tax beside them (ASSUMED), so
    displayLineTotal = displayPrice × quantity − displayDiscount + displayTax, the line's gross."""
    ship = order.ship_to
    return {
        "stage": "order",
        "sourceType": source_type,
        "sourceId": source_id,
        "sourceReferenceId": order.external_id,
        "customerReference": order.external_id,
        "currency": order.currency,
        "locationId": location_id,
        "orderDate": format_time(order.order_date),
        "customer": {"name": order.customer_name, "email": order.customer_email, "phone": ship.phone},
        "shipping": {
            "name": ship.name,
            "address": {
                "line1": ship.lines[0] if ship.lines else "",
                "line2": ", ".join(ship.lines[1:]),
                "city": ship.city,
                "postcode": ship.postcode,
                "country": ship.country,
                "region": ship.region,
            },
            "option": f"{order.carrier}/{order.service}" if order.service else order.carrier,
            "cost": _m(order.shipping_net + order.shipping_tax),
            "tax": _m(order.shipping_tax),
        },
        "payments": [
            {
                "method": order.payment_method,
                "amount": _m(order.grand_total),
                "reference": order.payment_reference,
            }
        ],
        "items": [
            {
                "type": "item",
                "referenceId": line.erp_item_id,
                "quantity": int(line.qty),
                "displayPrice": _m(line.unit_price),
                "displayTax": _m(line.tax),
                "displayDiscount": _m(line.discount),
                "displayLineTotal": _m(line.gross),
                "fulfilmentType": "delivery",
            }
            for line in order.lines
        ],
    }


@shaped("Stokly", "shipment")
def to_despatch(shipment: Mapping[str, Any], order_id: str, skus: Mapping[str, str]) -> Despatch:
    """An (ASSUMED) shipment record → a despatch keyed by the storefront order id. `skus` maps the sale
    order's lineId to the item's SKU, for lines whose shipment row does not repeat it."""
    lines = []
    for row in shipment.get("items") or []:
        sku = str(row.get("sku") or skus.get(str(row.get("lineId")), ""))
        lines.append(DespatchLine(sku=sku, qty=_qty(row.get("quantity"))))
    tracking = shipment.get("trackingNumbers") or []
    if not tracking and shipment.get("trackingNumber"):
        tracking = [shipment["trackingNumber"]]
    return Despatch(
        despatch_id=str(shipment["shipmentId"]),
        order_id=order_id,
        erp_order_ref=str(shipment.get("saleOrderId") or ""),
        despatched_at=parse_time(shipment["createdAt"]),
        carrier=str(shipment.get("carrier") or ""),
        service=str(shipment.get("service") or ""),
        tracking_numbers=tuple(str(t) for t in tracking),
        lines=tuple(lines),
    )


def shipment_cursor(shipment: Mapping[str, Any]) -> str:
    """`<createdAt>|<shipmentId>`: a shipment is after the cursor when this pair sorts after it."""
    return f"{format_time(parse_time(shipment['createdAt']))}|{shipment['shipmentId']}"


def split_cursor(cursor: str) -> tuple[str, str]:
    moment, _, last_id = cursor.partition("|")
    return format_time(parse_time(moment)), last_id


# --- refunds (credit notes) and the ledger ------------------------------------------------------------------


def refund_body(note: CreditNote, lines_by_item: Mapping[str, str]) -> dict[str, Any]:
    """An (ASSUMED) `/v2/saleorders/{id}/refunds` create, keyed by the storefront refund id."""
    return {
        "referenceId": note.external_id,
        "currency": note.currency,
        "reason": note.reason,
        "refundDate": format_time(note.created_at),
        "items": [
            {
                "lineId": lines_by_item.get(line.erp_item_id, ""),
                "itemId": line.erp_item_id,
                "quantity": line.qty,
                "amount": _m(line.gross),
                "tax": _m(line.tax),
                "restock": line.restock,
            }
            for line in note.lines
        ],
        "shipping": {"amount": _m(note.shipping_net + note.shipping_tax), "tax": _m(note.shipping_tax)},
        "adjustment": _m(note.adjustment),
        "total": _m(note.total),
    }


@shaped("Stokly", "invoice or refund")
def to_ledger_entry(
    raw: Mapping[str, Any], kind: LedgerKind, *, id_field: str, date_field: str, order_id: str
) -> LedgerEntry:
    """An invoice of `/v0/invoices` or an (ASSUMED) refund → a ledger entry. `total` is gross, `tax` its
    tax; net is what is left."""
    gross = to_decimal(raw.get("total"))
    tax = to_decimal(raw.get("tax"))
    return LedgerEntry(
        kind=kind,
        document_id=str(raw[id_field]),
        order_id=order_id,
        posted_on=posted_on(raw[date_field]),
        currency=str(raw.get("currency") or ""),
        net=to_decimal(raw.get("subtotal")) if raw.get("subtotal") is not None else gross - tax,
        tax=tax,
        gross=gross,
    )


def posted_on(value: Any) -> date:
    text = str(value)
    return date.fromisoformat(text) if len(text) == 10 else parse_time(text).date()
