"""Canonical sales order ⇄ the REST ERP contract's JSON. Money goes out as strings with two decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trueup.model.items import ErpItem
from trueup.model.money import round_money
from trueup.model.orders import ErpAddress, ErpSalesOrder


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
