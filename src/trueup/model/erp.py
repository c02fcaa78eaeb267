"""Records an ERP gives back or receives beyond sales orders: stock, prices, despatches, credit notes and
the sales/credit ledger. Every amount is Decimal with its currency; quantities are integers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from trueup.model.orders import Record


class StockLevel(Record):
    """One item's stock at one ERP location, as the ERP reports it.

    `sellable` is the ERP's own sellable figure when it has one (Prima's "Available to Sell"); otherwise
    None, and trueup's stock formula derives it from the parts. A figure that includes internal allocations
    (Prima's plain "Available") is never put in `sellable`.
    """

    sku: str
    erp_item_id: str
    location: str
    on_hand: int
    allocated: int = 0
    quarantined: int = 0
    on_order: int = 0
    sellable: int | None = None
    as_of: datetime


class StockSnapshot(Record):
    """A page of stock levels, all taken at `taken_at` (batch ERPs send snapshots hours apart)."""

    levels: tuple[StockLevel, ...]
    taken_at: datetime


class StockAdjustment(Record):
    """A stock change to book in the ERP, as a delta (a restock of returned goods is positive)."""

    sku: str
    erp_item_id: str
    location: str
    delta: int
    reason: str
    reference: str  # idempotency: the storefront refund or return id


class PriceKind(StrEnum):
    BASE = "base"
    SPECIAL = "special"
    TIER = "tier"


class ItemPrice(Record):
    sku: str
    currency: str
    price: Decimal
    kind: PriceKind = PriceKind.BASE
    customer_group: str | None = None
    min_qty: int = 1


class DespatchLine(Record):
    sku: str
    qty: int


class Despatch(Record):
    """A despatch the ERP made. `order_id` is the storefront order id: the persistent key back to the order.
    Each partial despatch is its own record with its own `despatch_id`."""

    despatch_id: str
    order_id: str
    erp_order_ref: str = ""
    despatched_at: datetime
    carrier: str
    service: str = ""
    tracking_numbers: tuple[str, ...] = ()
    lines: tuple[DespatchLine, ...]
    # The ERP says this despatch closes its sales order: nothing more will ship, whatever is still open was
    # short-shipped (each connector reads it from the ERP's own signal; docs/fulfilment.md).
    closes_order: bool = False


class DespatchPage(Record):
    despatches: tuple[Despatch, ...]
    cursor: str  # where the next read starts; committed with the work the page creates


class CreditNoteLine(Record):
    sku: str
    erp_item_id: str
    qty: int
    net: Decimal
    tax: Decimal
    tax_rate: Decimal
    gross: Decimal
    restock: bool = False


class CreditNote(Record):
    """A storefront refund as the ERP books it. `external_id` (the storefront refund/credit memo id) is the
    idempotency key; `order_id` the storefront order it refunds."""

    external_id: str
    order_id: str
    erp_order_ref: str = ""
    created_at: datetime
    currency: str
    lines: tuple[CreditNoteLine, ...]
    shipping_net: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    adjustment: Decimal = Decimal(0)
    total: Decimal
    reason: str = ""


class LedgerKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class LedgerEntry(Record):
    """One posted financial document in the ERP's sales/credit ledger."""

    kind: LedgerKind
    document_id: str
    order_id: str  # the storefront order id, where the ERP keeps it
    posted_on: date
    currency: str
    net: Decimal
    tax: Decimal
    gross: Decimal
