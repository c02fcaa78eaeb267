"""Tax and totals checks for the storefront-final tax mode.

The storefront's tax is carried to the ERP as final, so the check is that it is internally consistent: each
line's tax is its rate applied to its taxable amount (rounded per line, half up, as UK VAT is), and the lines,
shipping and discounts add up to the order's tax and grand totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from trueup.model.money import PENNY, ZERO, round_money
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


_HUNDRED = Decimal(100)


def expected_line_tax(taxable: Decimal, rate_percent: Decimal) -> Decimal:
    return round_money(taxable * rate_percent / _HUNDRED)


def check_tax(order: Order, line_tolerance: Decimal, order_tolerance: Decimal) -> list[TaxProblem]:
    problems: list[TaxProblem] = []
    lines_tax = charged = ZERO
    for line in order.money_lines:  # one pass: each line's taxable amount is worked out once
        taxable = line.taxable
        lines_tax += line.tax
        charged += taxable + line.tax
        expected = expected_line_tax(taxable, line.tax_rate)
        if abs(line.tax - expected) > line_tolerance:
            problems.append(
                TaxProblem(
                    "tax_variance",
                    f"lines[{order.position_of(line.line_id)}].tax",
                    expected,
                    line.tax,
                    f"line {line.sku!r} tax {line.tax} but {line.tax_rate}% of {taxable} is {expected}",
                )
            )
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
    grand = charged + shipping
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


# --- What an ERP that recalculates tax will post (the reconciliation explains tax variances with these) ---

# Standard VAT rates (percent) for the UK and the EU countries a UK retailer most often ships to; reduced
# rates come from the order line itself. Source: HMRC and the European Commission's "VAT rates" table.
STANDARD_RATES: dict[str, Decimal] = {
    code: Decimal(rate)
    for code, rate in {
        "GB": "20", "IE": "23", "FR": "20", "DE": "19", "NL": "21", "BE": "21", "ES": "21", "IT": "22",
        "PT": "23", "AT": "20", "DK": "25", "SE": "25", "FI": "25.5", "PL": "23", "LU": "17",
    }.items()
}  # fmt: skip

PER_LINE, PER_DOCUMENT = "per-line", "per-document"
HALF_UP, HALF_EVEN = ROUND_HALF_UP, ROUND_HALF_EVEN
TAX_RULES = tuple((per, mode) for per in (PER_LINE, PER_DOCUMENT) for mode in (HALF_UP, HALF_EVEN))


def _tax_in(amount: Decimal, rate: Decimal, inclusive: bool) -> Decimal:
    """Unrounded tax on an amount: on top of a net price, or inside a tax-inclusive one."""
    return amount * rate / (Decimal(100) + rate) if inclusive else amount * rate / Decimal(100)


def predict_tax(
    lines: Sequence[tuple[Decimal, Decimal]], *, per: str, mode: str, inclusive: bool = False
) -> Decimal:
    """The tax an ERP posts for lines of (amount, rate %) when it recalculates: rounding each line (`per`
    PER_LINE) or each rate's total on the document (PER_DOCUMENT, as VAT invoices may), half up or half
    even, on net or tax-inclusive amounts."""
    if per == PER_LINE:
        return sum((_tax_in(a, r, inclusive).quantize(PENNY, rounding=mode) for a, r in lines), ZERO)
    by_rate: dict[Decimal, Decimal] = {}
    for amount, rate in lines:
        by_rate[rate] = by_rate.get(rate, ZERO) + amount
    return sum((_tax_in(a, r, inclusive).quantize(PENNY, rounding=mode) for r, a in by_rate.items()), ZERO)


@dataclass(frozen=True, slots=True)
class TaxExplanation:
    variance: Decimal  # storefront − ERP
    rules: tuple[str, ...]  # the rounding rules that reproduce the ERP's figure; empty: none does
    rounding: bool  # True: a rounding variance, False: a real difference (rate or taxable amount)

    @property
    def text(self) -> str:
        if not self.variance:
            return "no variance"
        if self.rules:
            rules = " or ".join(self.rules)
            return f"rounding: the ERP recalculates {rules} ({self.variance:+} on the storefront)"
        return f"not rounding: no rule reproduces the ERP's tax ({self.variance:+}); check rates and amounts"


def explain_tax_variance(
    storefront_tax: Decimal,
    erp_tax: Decimal,
    lines: Sequence[tuple[Decimal, Decimal]],
    *,
    inclusive: bool = False,
) -> TaxExplanation:
    """Why the ERP's tax differs from the storefront's: which recalculation rule gives the ERP's figure."""
    rules = tuple(
        f"{per} rounding, {'half up' if mode == HALF_UP else 'half even'}"
        for per, mode in TAX_RULES
        if predict_tax(lines, per=per, mode=mode, inclusive=inclusive) == erp_tax
    )
    return TaxExplanation(storefront_tax - erp_tax, rules, bool(rules))
