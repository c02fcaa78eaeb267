"""Invoices in the Magento emulator: `POST /V1/order/{id}/invoice` (with `capture`) and `GET /V1/invoices`
(searchCriteria on the `sales_invoice` columns), and `POST /V1/orders/{id}/cancel`, in the shapes of the
vendored 2.4.8 schema.

As Magento's InvoiceOrder does (contracts/magento/README.md): items by order item id; no items means
everything left to invoice; a quantity beyond what is left is Magento's 400 naming the item; nothing left is
a 400 too; `capture` marks the invoice paid (state 2) and adds it to the order's `total_paid`. Each invoice
is also known to the refunds (`POST /V1/invoice/{id}/refund`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.magento import NOT_FOUND, MagentoState
from trueup.sandbox.magento_refunds import refunds_of
from trueup.sandbox.magento_routes import (
    DECODING_ERROR,
    Paths,
    criteria_error,
    document_item,
    error,
    order_and_body,
    per_state,
    requested_lines,
    under_rest,
)
from trueup.sandbox.magento_shipping import parse_shipment_criteria, shippable

TIME = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")
NOTHING = "The invoice can't be created without products. Add products and try again."
TOO_MANY = 'The quantity to invoice must not be greater than the uninvoiced quantity for product "%1".'


class InvoiceRefused(ValueError):
    """Magento's 400 answer to an invoice it will not create."""


class InvoiceState:
    def __init__(self, orders: MagentoState) -> None:
        self.orders = orders
        self.invoices: dict[int, dict[str, Any]] = {}
        self.by_order: dict[int, list[int]] = {}
        self.invoice_calls = 0

    def invoice(
        self, entity_id: int, items: Sequence[Mapping[str, Any]] = (), *, capture: bool = False
    ) -> int:
        order = self.orders.get(entity_id)
        if order is None:
            raise KeyError(entity_id)
        lines = {int(i["item_id"]): dict(i) for i in order["items"]}
        requested = items or [
            {"order_item_id": i, "qty": ln["qty_ordered"] - ln["qty_invoiced"] - ln["qty_canceled"]}
            for i, ln in lines.items()
            if shippable(ln, lines)
        ]
        invoice_id = len(self.invoices) + 1
        new_items: list[dict[str, Any]] = []
        grand = tax = Decimal(0)
        for item_id, line, qty, _ in requested_lines(
            requested, lines, "qty_invoiced", InvoiceRefused, NOTHING, lambda sku: TOO_MANY.replace("%1", sku)
        ):
            share = qty / line["qty_ordered"]
            row_incl = ((line["row_total_incl_tax"] - line["discount_amount"]) * share).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
            row_tax = (line["tax_amount"] * share).quantize(CENT, rounding=ROUND_HALF_UP)
            line["qty_invoiced"] = line["qty_invoiced"] + qty
            lines[item_id] = line
            grand, tax = grand + row_incl, tax + row_tax
            item = document_item(invoice_id, len(new_items) + 1, item_id, line, qty)
            new_items.append({**item, "row_total": row_incl - row_tax, "tax_amount": row_tax})
        if not new_items:
            raise InvoiceRefused(NOTHING)
        first = not self.by_order.get(entity_id)
        ship_incl = Decimal(str(order.get("shipping_incl_tax") or 0)) if first else Decimal(0)
        grand += ship_incl
        now = datetime.now(UTC).strftime(TIME)
        invoice = {
            "entity_id": invoice_id,
            "increment_id": f"{invoice_id:09d}",
            "order_id": entity_id,
            "state": 2 if capture else 1,
            "store_id": order.get("store_id", 1),
            "order_currency_code": order.get("order_currency_code"),
            "total_qty": sum((i["qty"] for i in new_items), Decimal(0)),
            "grand_total": grand,
            "tax_amount": tax,
            "shipping_incl_tax": ship_incl,
            "created_at": now,
            "updated_at": now,
            "items": new_items,
            "comments": [],
        }
        self.invoices[invoice_id] = invoice
        self.by_order.setdefault(entity_id, []).append(invoice_id)
        refunds_of(self.orders).invoices[invoice_id] = entity_id
        changes: dict[str, Any] = {
            "items": list(lines.values()),
            "total_invoiced": Decimal(str(order.get("total_invoiced") or 0)) + grand,
        }
        if capture and Decimal(str(order.get("total_paid") or 0)) < Decimal(
            str(order.get("grand_total") or 0)
        ):
            changes["total_paid"] = Decimal(str(order.get("total_paid") or 0)) + grand
        self.orders.update_order(entity_id, changes, now)
        return invoice_id

    def cancel(self, entity_id: int) -> bool:
        """Cancel as Magento's OrderManagement::cancel: `False` (not an error) when the order is complete,
        closed, cancelled already or fully invoiced; else what is not shipped is cancelled."""
        order = self.orders.get(entity_id)
        if order is None:
            raise KeyError(entity_id)
        items = [dict(i) for i in order["items"]]
        invoiced = all(i["qty_invoiced"] >= i["qty_ordered"] for i in items if i["row_total_incl_tax"])
        if order.get("state") in ("complete", "closed", "canceled") or (
            invoiced and self.by_order.get(entity_id)
        ):
            return False
        released = {
            int(i["item_id"]): i["qty_ordered"] - i["qty_shipped"] - i["qty_canceled"]
            for i in items
            if not i.get("parent_item_id")  # a configurable ships (and cancels) by its parent line
            or next((p for p in items if p["item_id"] == i["parent_item_id"]), {}).get("product_type")
            != "configurable"
        }
        for item in items:
            item["qty_canceled"] = item["qty_ordered"] - item["qty_shipped"]
        now = datetime.now(UTC).strftime(TIME)
        self.orders.update_order(entity_id, {"items": items, "state": "canceled", "status": "canceled"}, now)
        from trueup.sandbox.magento_msi import on_release

        on_release(self.orders, order, released)  # MSI: the reservation of what never shipped is released
        return True


invoicing_of = per_state(InvoiceState)  # the one InvoiceState of an order state


def invoice_routes(
    state: MagentoState,
    refused: Callable[[Request], Response | None],
    respond: Callable[[int, Any], Response],
) -> list[Route]:
    invoicing = invoicing_of(state)

    async def create(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            entity_id, body = await order_and_body(request)
        except ValueError:
            return respond(400, DECODING_ERROR)
        invoicing.invoice_calls += 1
        try:
            invoice_id = invoicing.invoice(
                entity_id, body.get("items") or [], capture=bool(body.get("capture"))
            )
        except KeyError:
            return respond(404, NOT_FOUND)
        except InvoiceRefused as exc:
            return respond(400, error(str(exc)))
        return respond(200, invoice_id)

    async def search(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            criteria = parse_shipment_criteria(request.query_params.multi_items())
        except ValueError as exc:
            return respond(400, criteria_error(exc))
        found = [
            inv
            for inv in invoicing.invoices.values()
            if all(any(f.matches(inv.get(f.field)) for f in group) for group in criteria.filter_groups)
        ]
        return respond(200, {"items": found, "search_criteria": criteria.echo(), "total_count": len(found)})

    async def cancel(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        try:
            return respond(200, invoicing.cancel(int(request.path_params["order_id"])))
        except (KeyError, ValueError):
            return respond(404, NOT_FOUND)

    paths: Paths = [
        ("/V1/orders/{order_id}/cancel", cancel, "POST"),
        ("/V1/order/{order_id}/invoice", create, "POST"),
        ("/V1/invoices", search, "GET"),
    ]
    return under_rest(paths)
