"""Read one period's books from the two systems through their ports (the only I/O of the close)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal

from trueup.checks import reconcile as r
from trueup.checks.reconcile_books import StorefrontRefund, ledger_books, storefront_books
from trueup.model.erp import LedgerEntry
from trueup.model.orders import Order
from trueup.model.refunds import CreditMemo
from trueup.ports import CreditMemoSource, LedgerSource, OrderSource

NO_REFUNDS = (
    "Storefront credit memos were not read (no refund source configured): the ERP's credit notes are left "
    "out, so refunds are not reconciled in this report (settlement files still show refunds paid out)."
)
MAGENTO_TIME = "%Y-%m-%d %H:%M:%S"


def memo_refund(memo: CreditMemo) -> StorefrontRefund:
    """A credit memo as finance sees it: tax is its lines' and its shipping's, net the rest of the grand
    total (adjustments carry no tax), as the refund flow books the ERP's credit note."""
    tax = sum((line.tax for line in memo.lines), Decimal(0)) + memo.shipping_tax
    return StorefrontRefund(
        memo_id=memo.memo_id,
        order_id=memo.order_id,
        created_on=memo.created_at.date(),
        currency=memo.currency,
        net=memo.grand_total - tax,
        tax=tax,
    )


async def read_refunds(memos: CreditMemoSource, first: date, last: date) -> list[StorefrontRefund]:
    """The storefront's credit memos created from `first` to `last`, read by key from every memo updated
    since `first` began (a memo is never updated before it is created). The newest read of a memo stands."""
    cursor = f"{datetime.combine(first, time.min):{MAGENTO_TIME}}|0"
    seen: dict[str, StorefrontRefund] = {}
    async for page in memos.credit_memos_since(cursor):
        for memo in page.memos:
            if first <= memo.created_at.date() <= last:
                seen[memo.memo_id] = memo_refund(memo)
    return list(seen.values())


def _unique(orders: Iterable[Order]) -> list[Order]:
    seen: dict[str, Order] = {}
    for order in orders:  # an order updated twice in the window is listed twice: the newest stands
        seen[order.order_id] = order
    return list(seen.values())


async def gather(
    source: OrderSource,
    ledger: LedgerSource,
    period: r.Period,
    now: datetime,
    orders_from: date | None = None,
    memos: CreditMemoSource | None = None,
) -> tuple[r.Books, r.Books, list[str]]:
    """The storefront's orders placed in the period (every order updated since it began, filtered on when
    it was placed), its credit memos created in it, and the ERP's invoices and credit notes posted in it.
    Without a memo source the ERP's credit notes are left out too, and a note says so. Unparseable orders
    are counted in a note; they are the order flow's exceptions already."""
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
    refunds = await read_refunds(memos, first, period.end) if memos is not None else []
    kinds = {r.INVOICE, r.CREDIT} if memos is not None else {r.INVOICE}
    entries: list[LedgerEntry] = []
    async for batch in ledger.ledger(period.start, period.end):
        entries.extend(e for e in batch if e.kind.value in kinds)
    notes = [] if memos is not None else [NO_REFUNDS]
    if unread:
        notes.append(f"{unread} storefront orders could not be read and are not in the storefront's totals.")
    rejected = getattr(memos, "take_rejections", None)
    if rejected is not None and (count := len(rejected())):
        notes.append(f"{count} storefront credit memos could not be read and are not in the refunds.")
    return storefront_books(_unique(orders), refunds), ledger_books(entries), notes
