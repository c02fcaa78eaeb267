"""What an ERP that recalculates tax posts, and which rule explains a variance."""

from __future__ import annotations

from decimal import Decimal as D

from trueup.rules.tax import (
    HALF_EVEN,
    HALF_UP,
    PER_DOCUMENT,
    PER_LINE,
    STANDARD_RATES,
    explain_tax_variance,
    predict_tax,
)


def test_per_line_and_per_document_rounding_differ_by_pennies() -> None:
    lines = [(D("0.33"), D("5"))] * 3  # 1.65p a line
    assert predict_tax(lines, per=PER_LINE, mode=HALF_UP) == D("0.06")
    assert predict_tax(lines, per=PER_DOCUMENT, mode=HALF_UP) == D("0.05")


def test_half_up_and_half_even_differ_on_an_exact_half() -> None:
    lines = [(D("0.125"), D("100"))]  # tax 0.125 exactly
    assert predict_tax(lines, per=PER_LINE, mode=HALF_UP) == D("0.13")
    assert predict_tax(lines, per=PER_LINE, mode=HALF_EVEN) == D("0.12")


def test_tax_inclusive_prices_carry_the_tax_inside() -> None:
    assert predict_tax([(D("12.00"), STANDARD_RATES["GB"])], per=PER_LINE, mode=HALF_UP, inclusive=True) == D(
        "2.00"
    )
    # 19.99 gross at DE 19%: 3.1917… of tax
    assert predict_tax([(D("19.99"), STANDARD_RATES["DE"])], per=PER_LINE, mode=HALF_UP, inclusive=True) == D(
        "3.19"
    )


def test_document_rounding_groups_by_rate() -> None:
    lines = [(D("0.33"), D("5")), (D("0.33"), D("5")), (D("10.00"), D("20"))]
    assert predict_tax(lines, per=PER_DOCUMENT, mode=HALF_UP) == D("0.03") + D("2.00")


def test_a_variance_is_explained_by_the_rule_that_reproduces_the_erp() -> None:
    lines = [(D("0.33"), D("5"))] * 3
    explained = explain_tax_variance(D("0.06"), D("0.05"), lines)
    assert explained.rounding and explained.rules == (
        "per-document rounding, half up",
        "per-document rounding, half even",
    )
    assert "rounding: the ERP recalculates per-document rounding" in explained.text
    real = explain_tax_variance(D("2.00"), D("1.50"), [(D("10.00"), D("20"))])
    assert not real.rounding and "not rounding" in real.text
