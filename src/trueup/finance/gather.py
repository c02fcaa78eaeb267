"""Read one period's books from the two systems through their ports (the only I/O of the close)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from trueup.checks import reconcile as r
from trueup.checks.reconcile_books import ledger_books, storefront_books
from trueup.model.erp import LedgerEntry
from trueup.model.orders import Order
from trueup.ports import LedgerSource, OrderSource

NO_REFUNDS = (
    "Storefront credit memos are not read yet: the ERP's credit notes are left out, so refunds are not "
    "reconciled in this report (settlement files still show refunds paid out)."
)


async def gather(
    source: OrderSource,
    ledger: LedgerSource,
    period: r.Period,
    now: datetime,
    orders_from: date | None = None,
) -> tuple[r.Books, r.Books, list[str]]:
    """The storefront's orders placed in the period (every order updated since it began, filtered on when
    it was placed) and the ERP's invoices posted in it. Unparseable orders are counted in a note; they are
    the order flow's exceptions already."""
    first = orders_from or period.start  # an ERP may invoice in the period an order placed before it
    start = datetime.combine(first, time.min, UTC)
    orders: list[Order] = []
    unread = 0
    async for page in source.orders_updated(start, now):
        for observed in page.orders:
            if observed.order is None:
                unread += 1
            elif first <= observed.order.created_at.date() <= period.end:
                orders.append(observed.order)
    entries: list[LedgerEntry] = []
    async for batch in ledger.ledger(period.start, period.end):
        entries.extend(e for e in batch if e.kind.value == r.INVOICE)
    notes = [NO_REFUNDS]
    if unread:
        notes.append(f"{unread} storefront orders could not be read and are not in the storefront's totals.")
    seen: dict[str, Order] = {}
    for order in orders:  # an order updated twice in the window is listed twice: the newest stands
        seen[order.order_id] = order
    return storefront_books(seen.values()), ledger_books(entries), notes
