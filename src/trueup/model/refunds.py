"""Storefront refunds as the refund flow sees them: a credit memo with its lines (money per line, whether the
line goes back to stock), shipping refunded and adjustments. Amounts are Decimal in the order's currency;
quantities are whole units."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from trueup.model.orders import Record


class CreditMemoLine(Record):
    """One refunded line. `gross` is what the customer gets back for it (after discount, with tax)."""

    line_id: str  # the storefront order item id
    sku: str
    qty: int
    gross: Decimal
    tax: Decimal
    tax_rate: Decimal = Decimal(0)
    back_to_stock: bool = False

    @property
    def net(self) -> Decimal:
        return self.gross - self.tax


class CreditMemo(Record):
    """A storefront credit memo. `memo_id` (the storefront's entity id) is the idempotency key; `order_id` is
    the order's increment id, the key the order flow posted it under."""

    memo_id: str
    increment_id: str = ""
    order_id: str
    order_entity_id: str = ""
    created_at: datetime
    currency: str
    lines: tuple[CreditMemoLine, ...] = ()
    shipping_gross: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    adjustment: Decimal = Decimal(0)  # positive minus negative adjustment
    grand_total: Decimal

    @property
    def restock_units(self) -> int:
        return sum(line.qty for line in self.lines if line.back_to_stock)


class CreditMemoPage(Record):
    memos: tuple[CreditMemo, ...]
    cursor: str  # where the next read starts: `<updated_at>|<entity_id>` of the last memo read


class Cancellation(Record):
    """An order cancelled in the storefront: its id (the order flow's key) and the money at risk."""

    order_id: str
    grand_total: Decimal
    currency: str
    cancelled_at: str = ""  # as the storefront writes its updated_at


class CancellationPage(Record):
    cancellations: tuple[Cancellation, ...]
    cursor: str
