"""Tax and totals checks for the storefront-final tax mode.

The storefront's tax is carried to the ERP as final, so the check is that it is internally consistent: each
line's tax is its rate applied to its taxable amount (rounded per line, half up, as UK VAT is), and the lines,
shipping and discounts add up to the order's tax and grand totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trueup.model.money import ZERO, round_money
from trueup.model.orders import Order


@dataclass(frozen=True, slots=True)
class TaxProblem:
    kind: str  # "tax_variance" | "totals_mismatch"
    field: str
    expected: Decimal
    actual: Decimal
    message: str

    @property
    def variance(self) -> Decimal:
        return abs(self.actual - self.expected)


def expected_line_tax(taxable: Decimal, rate_percent: Decimal) -> Decimal:
    return round_money(taxable * rate_percent / Decimal(100))


def check_tax(order: Order, line_tolerance: Decimal, order_tolerance: Decimal) -> list[TaxProblem]:
    problems: list[TaxProblem] = []
    index = {line.line_id: i for i, line in enumerate(order.lines)}
    for line in order.money_lines:
        expected = expected_line_tax(line.taxable, line.tax_rate)
        if abs(line.tax - expected) > line_tolerance:
            problems.append(
                TaxProblem(
                    "tax_variance",
                    f"lines[{index[line.line_id]}].tax",
                    expected,
                    line.tax,
                    f"line {line.sku!r} tax {line.tax} but {line.tax_rate}% of {line.taxable} is {expected}",
                )
            )
    lines_tax = sum((line.tax for line in order.money_lines), ZERO)
    tax_total = lines_tax + order.shipping.tax
    if abs(tax_total - order.tax_total) > order_tolerance:
        problems.append(
            TaxProblem(
                "tax_variance",
                "tax_total",
                tax_total,
                order.tax_total,
                f"order tax {order.tax_total} but lines and shipping carry {tax_total}",
            )
        )
    shipping = order.shipping.amount - order.shipping.discount + order.shipping.tax
    grand = sum((line.charged for line in order.money_lines), ZERO) + shipping
    if abs(grand - order.grand_total) > order_tolerance:
        problems.append(
            TaxProblem(
                "totals_mismatch",
                "grand_total",
                grand,
                order.grand_total,
                f"grand total {order.grand_total} but lines and shipping add up to {grand}",
            )
        )
    return problems
