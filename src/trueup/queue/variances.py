"""The variances `accept_and_post` accepts: the tax and totals checks' findings for one order, as rows for
finance's reconciliation list (decimal strings, never float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trueup.model.orders import Order
from trueup.rules.tax import check_tax


def variance_rows(order: Order, line_tolerance: Decimal, order_tolerance: Decimal) -> list[dict[str, Any]]:
    return [
        {
            "reason": p.kind,
            "field": p.field,
            "expected": str(p.expected),
            "actual": str(p.actual),
            "variance": str(p.variance),
            "currency": order.currency,
        }
        for p in check_tax(order, line_tolerance, order_tolerance)
    ]
