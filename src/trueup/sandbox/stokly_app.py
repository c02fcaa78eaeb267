"""The emulated Stokly account: its state and the rules it enforces, with no HTTP (`stokly.py` serves it).

Wire shapes follow contracts/erps.md; where that is silent the shapes are the ones docs/connectors/stokly.md
lists as ASSUMED (a sale order's `locationId`, shipments, refunds, the `allocated` field, `salePrice`).
Rule violations raise `WireError(status, message, field)`, which the app turns into the answer.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

UNASSIGNED = "UNASSIGNED"
MAX_ADJUSTMENT_ITEMS = 500
_CENT = Decimal("0.01")


class WireError(Exception):
    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- money on the wire -------------------------------------------------------------------------------------


def number(body: Mapping[str, Any], key: str, path: str) -> Decimal:
    """A JSON number (Stokly's money is numeric); a string or a boolean is refused."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise WireError(422, f"{path} must be a number", path)
    return Decimal(value)


def count(body: Mapping[str, Any], key: str, path: str, *, positive: bool = True) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0):
        raise WireError(422, f"{path} must be a {'positive ' if positive else ''}whole number", path)
    return value


def text(body: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise WireError(422, f"{path} is required", path)
    return value


# --- the account -------------------------------------------------------------------------------------------


@dataclass
class StoklyState:
    """One Stokly account in memory. `now` is injectable so tests can expire tokens and roll the rate
    window without sleeping."""

    account_key: str
    client_id: str
    secret: str
    seed: int = 0
    enforce_unique: bool = True
    currency: str = "GBP"
    token_lifetime: timedelta = timedelta(hours=1)
    rate_limit: int = 60_000  # calls per minute window; tests set a low one to exercise pacing
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    locations: dict[str, str] = field(default_factory=dict)  # locationId -> name
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    sale_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # sourceReferenceId -> sale order ids, so a look-up stays cheap however long the day gets
    orders_by_reference: dict[str, list[str]] = field(default_factory=dict)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    last_shipped: dict[str, datetime] = field(default_factory=dict)  # saleOrderId -> newest createdAt
    invoices: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, datetime] = field(default_factory=dict)
    grants: int = 0
    window: tuple[datetime, int] | None = None
    _nice: int = 1000

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def nice_id(self) -> int:
        self._nice += 1
        return self._nice

    # --- auth and rate limit --------------------------------------------------------------------------

    def grant(self, body: Mapping[str, Any]) -> dict[str, Any]:
        expected = hmac.new(self.secret.encode(), self.client_id.encode(), hashlib.sha256).hexdigest()
        if (
            body.get("accountkey") != self.account_key
            or body.get("clientId") != self.client_id
            or not hmac.compare_digest(str(body.get("signature") or ""), expected)
        ):
            raise WireError(401, "The account key, client id or signature is not valid.")
        token = self.new_id().replace("-", "")
        expiry = self.now() + self.token_lifetime
        self.tokens[token] = expiry
        self.grants += 1
        return {"data": {"authenticationResult": {"accessToken": token, "expiry": iso(expiry)}}}

    def authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        expiry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expiry is not None and self.now() < expiry

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def take_call(self) -> tuple[int, float]:
        """Count one call in the minute window: (remaining, seconds until the window resets)."""
        now = self.now()
        start, used = self.window or (now, 0)
        if now - start >= timedelta(minutes=1):
            start, used = now, 0
        self.window = (start, used + 1)
        reset = (start + timedelta(minutes=1) - now).total_seconds()
        return self.rate_limit - used - 1, max(reset, 0.0)

    # --- items, locations, stock -----------------------------------------------------------------------

    def location(self, id_or_name: str) -> str:
        """A location's id from its id or name; an unknown one is created (a new warehouse)."""
        if id_or_name in self.locations:
            return id_or_name
        for loc_id, name in self.locations.items():
            if name == id_or_name:
                return loc_id
        loc_id = self.new_id()
        self.locations[loc_id] = id_or_name
        return loc_id

    def item_by_sku(self, sku: str) -> dict[str, Any]:
        for item in self.items.values():
            if item["sku"] == sku:
                return item
        raise KeyError(f"no Stokly item with SKU {sku!r}")

    def record(self, item_id: str, location_id: str, bin_id: str = UNASSIGNED) -> dict[str, Any]:
        key = (item_id, location_id, bin_id)
        if key not in self.records:
            self.records[key] = {"onHand": 0, "quarantined": 0, "onOrder": 0, "manualAllocated": 0}
        return self.records[key]

    def open_allocations(self) -> dict[tuple[str, str], int]:
        """Units on sale orders not yet collected, per (item, location): Stokly's allocation (ASSUMED)."""
        allocated: dict[tuple[str, str], int] = {}
        for order in self.sale_orders.values():
            for line in order["items"]:
                key = (line["referenceId"], order["locationId"])
                allocated[key] = allocated.get(key, 0) + line["quantity"] - line["collected"]
        return allocated

    def inventory_records(self) -> list[dict[str, Any]]:
        allocated = self.open_allocations()
        rows = []
        for (item_id, loc_id, bin_id), rec in self.records.items():
            # Allocation is a location-level figure, so it sits on the UNASSIGNED record only.
            on_orders = allocated.get((item_id, loc_id), 0) if bin_id == UNASSIGNED else 0
            rows.append(
                {
                    "itemId": item_id,
                    "itemSku": self.items[item_id]["sku"],
                    "locationId": loc_id,
                    "locationName": self.locations[loc_id],
                    "binId": bin_id,
                    "onHand": rec["onHand"],
                    "quarantined": rec["quarantined"],
                    "onOrder": rec["onOrder"],
                    "allocated": rec["manualAllocated"] + on_orders,
                }
            )
        return rows

    def adjust(self, body: Mapping[str, Any]) -> dict[str, Any]:
        loc_id = text(body, "locationId", "locationId")
        if loc_id not in self.locations:
            raise WireError(422, f"unknown location {loc_id!r}", "locationId")
        bin_id = text(body, "binId", "binId")
        reason = text(body, "reason", "reason")
        rows = body.get("items")
        if not isinstance(rows, list) or not rows:
            raise WireError(422, "items must be a non-empty list", "items")
        if len(rows) > MAX_ADJUSTMENT_ITEMS:
            raise WireError(422, f"at most {MAX_ADJUSTMENT_ITEMS} items per adjustment", "items")
        changes = []
        for i, row in enumerate(rows):
            item_id = text(row, "itemId", f"items[{i}].itemId")
            if item_id not in self.items:
                raise WireError(422, f"unknown item {item_id!r}", f"items[{i}].itemId")
            changes.append((item_id, count(row, "quantity", f"items[{i}].quantity", positive=False)))
        for item_id, delta in changes:
            self.record(item_id, loc_id, bin_id)["onHand"] += delta
        adjustment = {
            "adjustmentId": self.new_id(),
            "locationId": loc_id,
            "binId": bin_id,
            "reason": reason,
            "items": [{"itemId": i, "quantity": q} for i, q in changes],
            "createdAt": iso(self.now()),
        }
        self.adjustments.append(adjustment)
        return adjustment

    # --- sale orders ----------------------------------------------------------------------------------

    def find_orders(self, source_reference_id: str) -> list[dict[str, Any]]:
        return [self.sale_orders[i] for i in self.orders_by_reference.get(source_reference_id, [])]

    def create_sale_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if body.get("stage") != "order":
            raise WireError(422, 'stage must be "order"', "stage")
        reference = text(body, "sourceReferenceId", "sourceReferenceId")
        loc_id = text(body, "locationId", "locationId", required=False)
        if not loc_id:
            raise WireError(422, "the sale order names no location to allocate stock from", "locationId")
        if loc_id not in self.locations:
            raise WireError(422, f"unknown location {loc_id!r}", "locationId")
        if self.enforce_unique and self.find_orders(reference):
            raise WireError(409, f"a sale order with sourceReferenceId {reference!r} already exists")
        currency = text(body, "currency", "currency")
        shipping = body.get("shipping")
        if not isinstance(shipping, dict) or not isinstance(shipping.get("address"), dict):
            raise WireError(422, "shipping.address is required", "shipping.address")
        for key in ("line1", "city", "postcode"):
            text(shipping["address"], key, f"shipping.address.{key}")
        country = text(shipping["address"], "country", "shipping.address.country")
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise WireError(422, f"{country!r} is not an ISO country code", "shipping.address.country")
        cost, tax = number(shipping, "cost", "shipping.cost"), number(shipping, "tax", "shipping.tax")
        if not isinstance(body.get("payments"), list):
            raise WireError(422, "payments must be a list", "payments")
        rows = body.get("items")
        if not isinstance(rows, list) or not rows:
            raise WireError(422, "items must be a non-empty list", "items")
        lines = [self._line(row, f"items[{i}]") for i, row in enumerate(rows)]
        order: dict[str, Any] = {
            **{
                k: body.get(k)
                for k in ("sourceType", "sourceId", "customerReference", "customer", "payments")
            },
            "saleOrderId": self.new_id(),
            "niceId": self.nice_id(),
            "stage": "order",
            "status": "order",
            "sourceReferenceId": reference,
            "currency": currency,
            "locationId": loc_id,
            "shipping": shipping,
            "items": lines,
            "total": sum((ln["displayLineTotal"] for ln in lines), cost),
            "tax": sum((ln["displayTax"] for ln in lines), tax),
            "createdAt": iso(self.now()),
        }
        self.sale_orders[order["saleOrderId"]] = order
        self.orders_by_reference.setdefault(reference, []).append(order["saleOrderId"])
        return order

    def _line(self, row: Any, path: str) -> dict[str, Any]:
        if not isinstance(row, dict) or row.get("type") != "item":
            raise WireError(422, f'{path} must be an object with type "item"', path)
        item_id = text(row, "referenceId", f"{path}.referenceId")
        item = self.items.get(item_id)
        if item is None:
            raise WireError(422, f"unknown item {item_id!r}", f"{path}.referenceId")
        if item["status"] != "active":
            raise WireError(422, f"item {item_id!r} is {item['status']}", f"{path}.referenceId")
        qty = count(row, "quantity", f"{path}.quantity")
        money = {k: number(row, k, f"{path}.{k}") for k in ("displayPrice", "displayTax", "displayDiscount")}
        total = number(row, "displayLineTotal", f"{path}.displayLineTotal")
        expected = money["displayPrice"] * qty - money["displayDiscount"] + money["displayTax"]
        if abs(expected - total) > _CENT + _CENT * qty / 2:
            raise WireError(422, f"displayLineTotal {total} is not {expected}", f"{path}.displayLineTotal")
        return {
            **money,
            "lineId": self.new_id(),
            "type": "item",
            "referenceId": item_id,
            "sku": item["sku"],
            "name": item["name"],
            "quantity": qty,
            "collected": 0,
            "displayLineTotal": total,
            "fulfilmentType": row.get("fulfilmentType") or "delivery",
            "status": "awaiting",
        }

    def collect(self, order: dict[str, Any], body: Mapping[str, Any]) -> list[tuple[dict[str, Any], int]]:
        """The warehouse collects line quantities: stock leaves the location (it may go negative, as Stokly
        allows when selling from stock not yet booked in) and the allocation falls with it."""
        loc_id = text(body, "locationId", "locationId")
        if loc_id not in self.locations:
            raise WireError(422, f"unknown location {loc_id!r}", "locationId")
        lines = {ln["lineId"]: ln for ln in order["items"]}
        taken = []
        for i, row in enumerate(body.get("items") or []):
            line = lines.get(str(row.get("lineId")))
            if line is None:
                raise WireError(422, f"no line {row.get('lineId')!r} on this order", f"items[{i}].lineId")
            qty = count(row, "quantity", f"items[{i}].quantity")
            if qty > line["quantity"] - line["collected"]:
                raise WireError(422, "more than is left to collect", f"items[{i}].quantity")
            taken.append((line, qty))
        if not taken:
            raise WireError(422, "items must be a non-empty list", "items")
        for line, qty in taken:
            line["collected"] += qty
            line["status"] = "collected" if line["collected"] == line["quantity"] else "part_collected"
            self.record(line["referenceId"], loc_id)["onHand"] -= qty
        if all(ln["collected"] == ln["quantity"] for ln in order["items"]):
            order["status"] = "collected"
        return taken

    def invoice(self, order: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """An invoice for line quantities; the first invoice of an order also carries its shipping."""
        lines = {ln["lineId"]: ln for ln in order["items"]}
        total = tax = Decimal(0)
        rows = []
        for i, row in enumerate(body.get("items") or []):
            line = lines.get(str(row.get("lineId")))
            if line is None:
                raise WireError(422, f"no line {row.get('lineId')!r} on this order", f"items[{i}].lineId")
            qty = count(row, "quantity", f"items[{i}].quantity")
            share = Decimal(qty) / line["quantity"]
            amount = (line["displayLineTotal"] * share).quantize(_CENT)
            line_tax = (line["displayTax"] * share).quantize(_CENT)
            rows.append({"lineId": line["lineId"], "quantity": qty, "amount": amount, "tax": line_tax})
            total, tax = total + amount, tax + line_tax
        if not any(inv["saleOrderId"] == order["saleOrderId"] for inv in self.invoices):
            total += number(order["shipping"], "cost", "shipping.cost")
            tax += number(order["shipping"], "tax", "shipping.tax")
        invoice = {
            "invoiceId": self.new_id(),
            "niceId": self.nice_id(),
            "saleOrderId": order["saleOrderId"],
            "currency": order["currency"],
            "subtotal": total - tax,
            "tax": tax,
            "total": total,
            "items": rows,
            "createdAt": iso(self.now()),
        }
        self.invoices.append(invoice)
        return invoice

    def ship(self, order: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """An (ASSUMED) shipment record: what was sent, by which carrier, with which tracking numbers."""
        tracking = body.get("trackingNumbers") or []
        if not isinstance(tracking, list):
            raise WireError(422, "trackingNumbers must be a list", "trackingNumbers")
        lines = {ln["lineId"]: ln for ln in order["items"]}
        rows = []
        for i, row in enumerate(body.get("items") or []):
            line = lines.get(str(row.get("lineId")))
            if line is None:
                raise WireError(422, f"no line {row.get('lineId')!r} on this order", f"items[{i}].lineId")
            rows.append(
                {
                    "lineId": line["lineId"],
                    "itemId": line["referenceId"],
                    "quantity": count(row, "quantity", f"items[{i}].quantity"),
                }
            )
        moment = parse_iso(iso(self.now()))  # to the millisecond, as Stokly writes it
        last = self.last_shipped.get(order["saleOrderId"])
        if last is not None and moment <= last:  # one order's shipments are never in the same millisecond
            moment = last + timedelta(milliseconds=1)
        self.last_shipped[order["saleOrderId"]] = moment
        shipment = {
            "shipmentId": self.new_id(),
            "saleOrderId": order["saleOrderId"],
            "carrier": text(body, "carrier", "carrier"),
            "service": text(body, "service", "service", required=False),
            "trackingNumbers": [str(t) for t in tracking],
            "items": rows,
            "createdAt": iso(moment),
        }
        self.shipments.append(shipment)
        return shipment

    def refund(self, order: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """An (ASSUMED) refund against a sale order, unique on `referenceId` when uniqueness is enforced."""
        reference = text(body, "referenceId", "referenceId")
        if self.enforce_unique and any(r["referenceId"] == reference for r in self.refunds):
            raise WireError(409, f"a refund with referenceId {reference!r} already exists")
        on_order = {ln["referenceId"] for ln in order["items"]}
        amount = tax = Decimal(0)
        for i, row in enumerate(body.get("items") or []):
            if row.get("itemId") not in on_order:
                raise WireError(422, f"item {row.get('itemId')!r} is not on this order", f"items[{i}].itemId")
            count(row, "quantity", f"items[{i}].quantity")
            amount += number(row, "amount", f"items[{i}].amount")
            tax += number(row, "tax", f"items[{i}].tax")
        shipping = body.get("shipping") or {}
        amount += number(shipping, "amount", "shipping.amount") if "amount" in shipping else 0
        tax += number(shipping, "tax", "shipping.tax") if "tax" in shipping else 0
        amount += number(body, "adjustment", "adjustment") if "adjustment" in body else 0
        total = number(body, "total", "total")
        if abs(total - amount) > _CENT:
            raise WireError(422, f"total {total} is not the sum of the refund's parts, {amount}", "total")
        refund = {
            "refundId": self.new_id(),
            "niceId": self.nice_id(),
            "saleOrderId": order["saleOrderId"],
            "referenceId": reference,
            "currency": order["currency"],
            "reason": body.get("reason") or "",
            "items": body.get("items") or [],
            "subtotal": total - tax,
            "tax": tax,
            "total": total,
            "createdAt": iso(self.now()),
        }
        self.refunds.append(refund)
        return refund
