"""Books for the reconciliation from trueup's records: storefront orders and refunds, the ERP's ledger.

Money becomes integer minor units here (`to_minor`, half up), once; the engine never sees a Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from trueup.checks.reconcile import CREDIT, DOC_SCHEMA, INVOICE, LINE_SCHEMA, Books
from trueup.model.erp import LedgerEntry, LedgerKind
from trueup.model.money import ZERO, to_minor
from trueup.model.orders import Order


@dataclass(frozen=True, slots=True)
class StorefrontRefund:
    """A storefront credit memo, as finance sees it: what was refunded, net and tax."""

    memo_id: str
    order_id: str
    created_on: date
    currency: str
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def rate_hundredths(rate_percent: Decimal) -> int:
    """A tax rate in hundredths of a percent (20% → 2000), exact for rates with up to two decimals."""
    scaled = rate_percent * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"tax rate {rate_percent}% has more than two decimals")
    return int(scaled)


def storefront_books(orders: Iterable[Order], refunds: Iterable[StorefrontRefund] = ()) -> Books:
    """Each order is one invoice (the storefront's invoiced order), its money lines the invoice lines."""
    docs: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    for order in orders:
        goods = sum((line.taxable for line in order.money_lines), ZERO)
        net = goods + order.shipping.amount - order.shipping.discount
        docs.append(
            {
                "order_id": order.order_id,
                "kind": INVOICE,
                "posted_on": order.created_at.date(),
                "currency": order.currency,
                "net": to_minor(net),
                "tax": to_minor(order.tax_total),
                "shipping": to_minor(order.shipping.amount),
                "discount": to_minor(abs(order.discount_total)),
                "gross": to_minor(order.grand_total),
            }
        )
        for no, line in enumerate(order.money_lines):
            lines.append(
                {
                    "order_id": order.order_id,
                    "line_no": no,
                    "sku": line.sku,
                    "qty": int(line.qty),
                    "net": to_minor(line.taxable),
                    "tax": to_minor(line.tax),
                    "rate": rate_hundredths(line.tax_rate),
                }
            )
    for refund in refunds:
        docs.append(
            {
                "order_id": refund.order_id,
                "kind": CREDIT,
                "posted_on": refund.created_on,
                "currency": refund.currency,
                "net": to_minor(refund.net),
                "tax": to_minor(refund.tax),
                "shipping": None,
                "discount": None,
                "gross": to_minor(refund.gross),
            }
        )
    return Books(pl.DataFrame(docs, schema=DOC_SCHEMA), pl.DataFrame(lines, schema=LINE_SCHEMA))


def ledger_books(entries: Iterable[LedgerEntry]) -> Books:
    """The ERP's posted documents. A ledger reports no lines, shipping or discount: those are not compared."""
    docs = [
        {
            "order_id": e.order_id,
            "kind": INVOICE if e.kind is LedgerKind.INVOICE else CREDIT,
            "posted_on": e.posted_on,
            "currency": e.currency,
            "net": to_minor(abs(e.net)),
            "tax": to_minor(abs(e.tax)),
            "shipping": None,
            "discount": None,
            "gross": to_minor(abs(e.gross)),
        }
        for e in entries
    ]
    return Books(pl.DataFrame(docs, schema=DOC_SCHEMA), None)
