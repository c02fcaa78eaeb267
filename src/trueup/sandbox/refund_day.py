"""The customer service part of the trading day: refunds in the Magento admin, with and without restock.

Of the orders posted, in a reproducible mix: some are refunded in full with every line back to stock (a
return), some in part without restock and with a goodwill deduction (an item kept, a partial refund). Each
refund is an offline credit memo made through the emulator's own refund (`RefundState.refund_by_hand`), so it
reaches trueup over Magento's `GET /V1/creditmemos`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from trueup.sandbox.magento import MagentoState
from trueup.sandbox.magento_refunds import RefundRefused, refunds_of


@dataclass
class RefundDay:
    refunds: int = 0
    with_restock: int = 0
    restock_units: int = 0


def refund_posted(
    magento: MagentoState, posted: Iterable[str], *, seed: int, share: float = 0.1
) -> RefundDay:
    """Refund a `share` of the `posted` orders (storefront order ids): alternately a full return back to
    stock, and a partial refund (one unit of the first line, shipping kept, 1.00 goodwill deduction)."""
    rng = random.Random(seed * 7919 + 3)
    refunds = refunds_of(magento)
    day = RefundDay()
    chosen = [o for o in sorted(posted) if rng.random() < share]
    for n, order_id in enumerate(chosen):
        if n % 2 == 0:
            memo_id = refunds.refund_by_hand(order_id, [], restock=True, shipping=None)
            day.with_restock += 1
            day.restock_units += sum(
                int(i["qty"])
                for i in refunds.memos[memo_id]["items"]
                if i["extension_attributes"]["back_to_stock"]
            )
        else:
            order = next(o for o in magento if o["increment_id"] == order_id)
            line = next(
                (i for i in order["items"] if i["product_type"] == "simple" and i["row_total_incl_tax"] > 1),
                None,
            )
            if line is None:
                continue
            try:
                refunds.refund_by_hand(order_id, [(str(line["sku"]), 1)], adjustment_negative=Decimal("1.00"))
            except RefundRefused:  # the unit is worth less than the deduction: no refund after all
                continue
        day.refunds += 1
    return day
