"""Predicting the tax Prima will calculate, for `tax_mode = "erp"` (R-ORD-4). Pure: no I/O.

When Prima calculates tax itself, trueup predicts its figure before posting and parks the order when it
differs from the storefront's tax by more than the tolerance: otherwise the ERP's VAT and the storefront's
disagree by pennies on every order, and month-end needs journals. Prima's exact rule is not public, so the
rule is configuration: round per line or per document, half-up, half-even or down (default: per line,
half-up, as UK VAT invoices usually are). "Per document" rounds once per tax rate over the document, which
is how a VAT analysis on an invoice is totalled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from trueup.errors import Skippable
from trueup.model.exceptions import Reason
from trueup.model.money import PENNY, ZERO
from trueup.model.orders import ErpSalesOrder

HUNDRED = Decimal(100)


class TaxRounding(StrEnum):
    LINE = "line"
    DOCUMENT = "document"


class RoundingMode(StrEnum):
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"


_DECIMAL_MODES = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
    RoundingMode.DOWN: ROUND_DOWN,
}


@dataclass(frozen=True, slots=True)
class TaxRule:
    rounding: TaxRounding = TaxRounding.LINE
    mode: RoundingMode = RoundingMode.HALF_UP

    def round(self, amount: Decimal) -> Decimal:
        return amount.quantize(PENNY, rounding=_DECIMAL_MODES[self.mode])


@dataclass(frozen=True, slots=True)
class TaxableLine:
    """An amount Prima charges tax on (net of discount) and its rate in percent."""

    taxable: Decimal
    rate: Decimal


def predict_tax(lines: Iterable[TaxableLine], rule: TaxRule) -> Decimal:
    """The tax Prima would calculate for these lines under `rule`."""
    lines = list(lines)
    if rule.rounding == TaxRounding.LINE:
        return sum((rule.round(ln.taxable * ln.rate / HUNDRED) for ln in lines), ZERO)
    by_rate: dict[Decimal, Decimal] = {}
    for ln in lines:
        by_rate[ln.rate] = by_rate.get(ln.rate, ZERO) + ln.taxable
    return sum((rule.round(taxable * rate / HUNDRED) for rate, taxable in by_rate.items()), ZERO)


def shipping_rate(order: ErpSalesOrder, configured: Decimal | None) -> Decimal:
    """The rate Prima is told to charge on delivery: the configured one, or else the goods' rate (UK VAT:
    delivery follows the goods; with mixed rates, the highest, which the variance check then tests)."""
    if configured is not None:
        return configured
    return max((ln.tax_rate for ln in order.lines), default=ZERO)


def taxable_lines(order: ErpSalesOrder, delivery_rate: Decimal) -> tuple[TaxableLine, ...]:
    lines = [TaxableLine(ln.net - ln.discount, ln.tax_rate) for ln in order.lines]
    if order.shipping_net:
        lines.append(TaxableLine(order.shipping_net, delivery_rate))
    return tuple(lines)


def check_erp_tax(order: ErpSalesOrder, rule: TaxRule, delivery_rate: Decimal, tolerance: Decimal) -> Decimal:
    """Prima's predicted tax for the order; raises Skippable(TAX_VARIANCE) when it is further than
    `tolerance` from the storefront's tax total."""
    predicted = predict_tax(taxable_lines(order, delivery_rate), rule)
    difference = predicted - order.tax_total
    if abs(difference) > tolerance:
        raise Skippable(
            Reason.TAX_VARIANCE,
            f"Prima would calculate tax {predicted} {order.currency} for order {order.external_id} "
            f"({rule.rounding.value} rounding, {rule.mode.value}) but the storefront charged "
            f"{order.tax_total}; the difference {difference:+} is over the tolerance {tolerance}",
            field="tax_total",
            value=str(order.tax_total),
        )
    return predicted
