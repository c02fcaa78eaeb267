"""The Prima emulator's state and back office, and `PrimaSandbox` (an `ErpSandbox`).

The state is what a Prima company holds in memory: items, stock per warehouse, prices, sales orders,
despatches (each raising an invoice, as Prima invoices on despatch), credit notes and the sales ledger.
The back office methods act as Prima's own users (the warehouse despatching, a stock count). The wire side
lives in `prima_app`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from trueup.sandbox.faults import Faults
from trueup.sandbox.serve import ServerThread

CENT = Decimal("0.01")
ZERO = Decimal(0)
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
DEFAULT_WAREHOUSE = "WEB"

# Canonical request kind -> the RequestType name this Prima instance answers to.
REQUEST_TYPES = {
    "order": "NewOrder",
    "order_enquiry": "OrderEnquiry",
    "items": "ItemEnquiry",
    "stock": "StockEnquiry",
    "prices": "PriceEnquiry",
    "despatches": "DespatchEnquiry",
    "credit_note": "NewCreditNote",
    "credit_note_enquiry": "CreditNoteEnquiry",
    "ledger": "LedgerEnquiry",
}


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass
class OrderLine:
    line_no: int
    item_code: str
    sku: str
    qty: int
    net: Decimal  # after discount
    tax: Decimal
    rate: Decimal
    despatched: int = 0

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass
class SalesOrder:
    number: str
    web_ref: str
    currency: str
    lines: list[OrderLine]
    shipping_net: Decimal
    shipping_tax: Decimal
    tax_total: Decimal
    grand_total: Decimal
    tax_mode: str
    attrs: dict[str, str]
    invoiced_net: Decimal = ZERO
    invoiced_tax: Decimal = ZERO
    invoices: int = 0


@dataclass
class PrimaState:
    """One Prima company, in memory. `tax_rounding`/`tax_rounding_mode` are how it calculates tax when an
    order asks it to (TaxMode="Calculate"); `enforce_unique` makes a repeated WebOrderRef an error."""

    company_id: str = ""
    enforce_unique: bool = True
    tax_rounding: str = "line"
    tax_rounding_mode: str = "half_up"
    currencies: frozenset[str] = frozenset({"GBP", "EUR", "USD"})
    request_types: dict[str, str] = field(default_factory=lambda: dict(REQUEST_TYPES))
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    orders: dict[str, SalesOrder] = field(default_factory=dict)
    orders_by_ref: dict[str, list[str]] = field(default_factory=dict)
    despatches: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes_by_ref: dict[str, list[str]] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def next_number(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:06d}"

    def round_tax(self, amount: Decimal) -> Decimal:
        return amount.quantize(CENT, rounding=ROUNDING[self.tax_rounding_mode])

    def calculate_tax(self, taxed: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
        """Prima's own tax calculation over (taxable, rate %) pairs: per line, or once per rate."""
        if self.tax_rounding == "line":
            return sum((self.round_tax(net * rate / 100) for net, rate in taxed), ZERO)
        by_rate: dict[Decimal, Decimal] = {}
        for net, rate in taxed:
            by_rate[rate] = by_rate.get(rate, ZERO) + net
        return sum((self.round_tax(net * rate / 100) for rate, net in by_rate.items()), ZERO)

    def item_by_sku(self, sku: str) -> dict[str, Any]:
        for item in self.items.values():
            if item["SKU"] == sku:
                return item
        raise KeyError(f"no item with SKU {sku!r}")

    def post_document(
        self, kind: str, number: str, web_ref: str, currency: str, net: Decimal, tax: Decimal
    ) -> None:
        self.documents.append(
            {
                "Type": kind,
                "DocumentNumber": number,
                "WebOrderRef": web_ref,
                "PostedDate": now().date(),
                "Currency": currency,
                "Net": net,
                "Tax": tax,
                "Gross": net + tax,
            }
        )

    # --- back office --------------------------------------------------------------------------------------

    def add_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        with self.lock:
            for raw in items:
                code = str(raw["item_id"])
                self.items[code] = {
                    "ItemCode": code,
                    "SKU": str(raw["sku"]),
                    "Barcode": str(raw.get("barcode") or ""),
                    "Description": str(raw.get("name") or ""),
                    "Status": "Active" if raw.get("active", True) else "Inactive",
                    "LastModified": now().isoformat(),
                }

    def set_stock(self, sku: str, warehouse: str, *, on_hand: int, allocated: int, quarantined: int) -> None:
        with self.lock:
            self.item_by_sku(sku)
            self.stock[(sku, warehouse)] = {
                "OnHand": on_hand,
                "Allocated": allocated,
                "Quarantined": quarantined,
            }

    def despatch(
        self,
        web_ref: str,
        *,
        carrier: str,
        service: str,
        tracking: str,
        lines: Sequence[tuple[str, int]],
        closes_order: bool = False,
    ) -> str:
        """Despatch (part of) the newest order for `web_ref`, and raise its invoice. The despatch carries
        the order's status as it left it (ASSUMED `OrderStatus`): "Complete" once all is despatched or the
        warehouse closes it short (`closes_order`), else "Part Despatched"."""
        with self.lock:
            numbers = self.orders_by_ref.get(web_ref)
            if not numbers:
                raise KeyError(f"no sales order for web order {web_ref!r}")
            order = self.orders[numbers[-1]]
            wanted = dict(lines) if lines else {ln.sku: ln.qty - ln.despatched for ln in order.lines}
            shipped: list[tuple[OrderLine, int]] = []
            for line in order.lines:
                qty = min(wanted.pop(line.sku, 0), line.qty - line.despatched)
                if qty > 0:
                    shipped.append((line, qty))
            if wanted:
                raise KeyError(f"order {order.number} has no open line for {sorted(wanted)}")
            if not shipped:
                raise ValueError(f"order {order.number} has nothing left to despatch")
            for line, qty in shipped:
                line.despatched += qty
            sequence = len(self.despatches) + 1
            number = self.next_number("DN")
            self.despatches.append(
                {
                    "Sequence": sequence,
                    "DespatchNumber": number,
                    "OrderNumber": order.number,
                    "WebOrderRef": web_ref,
                    "DespatchDate": now().isoformat(),
                    "Carrier": carrier,
                    "Service": service,
                    "Tracking": [tracking] if tracking else [],
                    "Lines": [(line.item_code, line.sku, qty) for line, qty in shipped],
                    "OrderStatus": "Complete"
                    if closes_order or all(ln.despatched >= ln.qty for ln in order.lines)
                    else "Part Despatched",
                }
            )
            self._invoice(order, shipped)
            return number

    def _invoice(self, order: SalesOrder, shipped: list[tuple[OrderLine, int]]) -> None:
        """Prima invoices on despatch. A partial despatch is invoiced pro rata (delivery on the first
        invoice); the one that completes the order takes the remainder, so the invoices add up exactly."""
        if all(line.despatched == line.qty for line in order.lines):
            net = order.grand_total - order.tax_total - order.invoiced_net
            tax = order.tax_total - order.invoiced_tax
        else:
            net = sum((line.net * qty / line.qty for line, qty in shipped), ZERO).quantize(CENT)
            tax = sum((line.tax * qty / line.qty for line, qty in shipped), ZERO).quantize(CENT)
            if order.invoices == 0:
                net, tax = net + order.shipping_net, tax + order.shipping_tax
        order.invoiced_net += net
        order.invoiced_tax += tax
        order.invoices += 1
        self.post_document("Invoice", self.next_number("INV"), order.web_ref, order.currency, net, tax)


def documents_between(state: PrimaState, start: date, end: date) -> list[dict[str, Any]]:
    return [d for d in state.documents if start <= d["PostedDate"] <= end]


class PrimaSandbox:
    """Prima's handler on loopback (`<base>/wsomhandler` and `<base>/comwsomhandler`)."""

    kind = "prima"

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: Faults | None = None,
        enforce_unique: bool = True,
        company_id: str = "01",
        tax_rounding: str = "line",
        tax_rounding_mode: str = "half_up",
    ) -> None:
        self.faults = faults or Faults(seed=seed)
        self.state = PrimaState(
            company_id=company_id,
            enforce_unique=enforce_unique,
            tax_rounding=tax_rounding,
            tax_rounding_mode=tax_rounding_mode,
        )
        self._server: ServerThread | None = None

    def start(self) -> None:
        from trueup.sandbox.prima_app import create_app

        self._server = ServerThread(create_app(self.state, faults=self.faults))
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the sandbox first"
        return self._server.url

    def erp_config(self, *, tax_mode: str = "storefront") -> dict[str, Any]:
        """Prima has no API credentials (network-controlled), so there is no token_env to fill."""
        return {
            "kind": "prima",
            "name": "prima",
            "base_url": self.url,
            "prima": {
                "company_id": self.state.company_id,
                "tax_mode": tax_mode,
                "tax_rounding": self.state.tax_rounding,
                "tax_rounding_mode": self.state.tax_rounding_mode,
            },
        }

    def env(self) -> dict[str, str]:
        return {}

    def load_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.state.add_items(items)

    def set_stock(
        self, sku: str, location: str, *, on_hand: int, allocated: int = 0, quarantined: int = 0
    ) -> None:
        self.state.set_stock(sku, location, on_hand=on_hand, allocated=allocated, quarantined=quarantined)

    def set_price(self, sku: str, currency: str, price: str) -> None:
        with self.state.lock:
            self.state.item_by_sku(sku)
            self.state.prices[(sku, currency)] = Decimal(price)

    def despatch(
        self,
        external_id: str,
        *,
        carrier: str,
        service: str,
        tracking: str,
        lines: Sequence[tuple[str, int]] = (),
        closes_order: bool = False,
    ) -> str:
        return self.state.despatch(
            external_id,
            carrier=carrier,
            service=service,
            tracking=tracking,
            lines=lines,
            closes_order=closes_order,
        )

    def sales_order_counts(self) -> dict[str, int]:
        with self.state.lock:
            return {ref: len(numbers) for ref, numbers in self.state.orders_by_ref.items()}

    def credit_note_counts(self) -> dict[str, int]:
        with self.state.lock:
            return {ref: len(numbers) for ref, numbers in self.state.credit_notes_by_ref.items()}
