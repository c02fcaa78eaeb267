"""The storefront's tax is carried to the ERP as final, so it must be internally consistent: each money
line's tax is its rate applied to its taxable amount (within a tolerance), and lines plus shipping make up
the order's tax total and grand total."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trueup.model.orders import (
    Address,
    Customer,
    Order,
    OrderLine,
    Payment,
    PaymentState,
    ProductType,
    Shipping,
)
from trueup.rules.tax import check_tax, expected_line_tax

D = Decimal
LINE_TOLERANCE, ORDER_TOLERANCE = D("0.01"), D("0.02")
ADDRESS = Address(
    first_name="Ann", last_name="Smith", street=("1 High St",), city="Leeds", postcode="LS1 4AP", country="GB"
)


def _m(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def incl_tax_line(line_id: str, price_incl: Decimal, qty: int, rate: int, discount_pct: int) -> OrderLine:
    """A line as Magento computes it for tax-inclusive prices: tax after the discount, and the tax hidden
    inside the discount given back as discount_tax_compensation."""
    r = D(rate)
    row_incl = price_incl * qty
    discount = _m(row_incl * discount_pct / 100)
    tax = _m((row_incl - discount) * r / (100 + r))
    compensation = _m(discount * r / (100 + r))
    return OrderLine(
        line_id=line_id,
        sku=f"SKU-{line_id}",
        qty=D(qty),
        row_total=row_incl - tax - compensation,
        row_total_incl_tax=row_incl,
        discount=discount,
        discount_tax_compensation=compensation,
        tax=tax,
        tax_rate=r,
    )


def order_of(lines: list[OrderLine], shipping: Shipping, **totals: Decimal) -> Order:
    money = [ln for ln in lines if ln.parent_line_id is None]
    tax = sum((ln.tax for ln in money), D(0)) + shipping.tax
    grand = sum((ln.charged for ln in money), D(0)) + shipping.amount - shipping.discount + shipping.tax
    return Order(
        order_id="000000042",
        storefront_entity_id="42",
        storefront="magento",
        status="processing",
        currency="GBP",
        created_at=datetime(2026, 11, 23, 9),
        updated_at=datetime(2026, 11, 23, 9),
        customer=Customer(email="ann@example.co.uk"),
        billing_address=ADDRESS,
        shipping_address=ADDRESS,
        lines=tuple(lines),
        shipping=shipping,
        payment=Payment(method="checkmo", state=PaymentState.CAPTURED),
        subtotal=sum((ln.row_total for ln in money), D(0)),
        tax_total=totals.get("tax_total", tax),
        grand_total=totals.get("grand_total", grand),
    )


SHIPPING = Shipping(method="flatrate_flatrate", amount=D("3.29"), tax=D("0.66"), amount_incl_tax=D("3.95"))


def test_expected_line_tax_rounds_half_up() -> None:
    assert expected_line_tax(D("18.74"), D(20)) == D("3.75")  # 3.748
    assert expected_line_tax(D("0.125"), D(20)) == D("0.03")  # 0.025 rounds up
    assert expected_line_tax(D("10.00"), D(0)) == D("0.00")


def test_a_tax_inclusive_line_with_a_discount_and_compensation_passes() -> None:
    line = incl_tax_line("1", D("24.99"), 1, 20, 10)
    assert (line.discount, line.tax, line.discount_tax_compensation) == (D("2.50"), D("3.75"), D("0.42"))
    assert check_tax(order_of([line], SHIPPING), LINE_TOLERANCE, ORDER_TOLERANCE) == []


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=D("0"), max_value=D("500"), places=2),
            st.integers(min_value=1, max_value=5),
            st.sampled_from([0, 5, 19, 20, 23]),
            st.sampled_from([0, 10, 15, 33]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_magento_computed_tax_inclusive_order_passes(specs: list[tuple[Decimal, int, int, int]]) -> None:
    lines = [incl_tax_line(str(i), *spec) for i, spec in enumerate(specs)]
    assert check_tax(order_of(lines, SHIPPING), LINE_TOLERANCE, ORDER_TOLERANCE) == []


@pytest.mark.parametrize("delta", [D("0.02"), D("-0.05"), D("0.37")])
def test_a_line_tax_off_by_more_than_the_tolerance_is_a_tax_variance_on_that_line(delta: Decimal) -> None:
    good = incl_tax_line("1", D("12.00"), 1, 20, 0)
    bad = incl_tax_line("2", D("24.99"), 2, 20, 0)
    bad = bad.model_copy(update={"tax": bad.tax + delta})
    problems = check_tax(order_of([good, bad], SHIPPING), LINE_TOLERANCE, D("1.00"))
    assert [(p.kind, p.field) for p in problems] == [("tax_variance", "lines[1].tax")]
    assert problems[0].variance == abs(delta)
    assert problems[0].actual == bad.tax


def test_a_line_tax_off_by_exactly_the_tolerance_passes() -> None:
    line = incl_tax_line("1", D("12.00"), 1, 20, 0)  # net 10.00, tax exactly 2.00
    line = line.model_copy(update={"tax": line.tax + LINE_TOLERANCE})
    problems = check_tax(order_of([line], SHIPPING), LINE_TOLERANCE, ORDER_TOLERANCE)
    assert [p.field for p in problems if p.field.startswith("lines")] == []


def test_the_line_index_counts_child_lines() -> None:
    parent = incl_tax_line("10", D("18.00"), 1, 20, 0)
    parent = parent.model_copy(
        update={"product_type": ProductType.CONFIGURABLE, "tax": parent.tax + D("0.10")}
    )
    child = OrderLine(line_id="11", parent_line_id="10", sku="TEE-M", qty=D(1))
    extra = incl_tax_line("12", D("5.00"), 1, 20, 0)
    extra = extra.model_copy(update={"tax": extra.tax + D("0.10")})
    problems = check_tax(order_of([parent, child, extra], SHIPPING), LINE_TOLERANCE, D("1.00"))
    assert [p.field for p in problems] == ["lines[0].tax", "lines[2].tax"]


def test_a_grand_total_that_does_not_add_up_is_a_totals_mismatch() -> None:
    lines = [incl_tax_line("1", D("24.99"), 1, 20, 10)]
    right = order_of(lines, SHIPPING)
    wrong = order_of(lines, SHIPPING, grand_total=right.grand_total + D("1.00"))
    problems = check_tax(wrong, LINE_TOLERANCE, ORDER_TOLERANCE)
    assert [(p.kind, p.field, p.expected, p.actual) for p in problems] == [
        ("totals_mismatch", "grand_total", right.grand_total, wrong.grand_total)
    ]


def test_an_order_tax_total_that_does_not_add_up_is_a_tax_variance_on_tax_total() -> None:
    lines = [incl_tax_line("1", D("24.99"), 1, 20, 10)]
    right = order_of(lines, SHIPPING)
    problems = check_tax(
        order_of(lines, SHIPPING, tax_total=right.tax_total - D("0.50")), D("0.01"), D("0.02")
    )
    assert [(p.kind, p.field) for p in problems] == [("tax_variance", "tax_total")]


def test_shipping_discount_counts_towards_the_grand_total() -> None:
    shipping = Shipping(method="flatrate_flatrate", amount=D("5.00"), discount=D("5.00"), tax=D("0.00"))
    lines = [incl_tax_line("1", D("24.99"), 1, 20, 0)]
    assert check_tax(order_of(lines, shipping), LINE_TOLERANCE, ORDER_TOLERANCE) == []
    inflated = order_of(lines, shipping, grand_total=order_of(lines, shipping).grand_total + D("5.00"))
    assert [p.kind for p in check_tax(inflated, LINE_TOLERANCE, ORDER_TOLERANCE)] == ["totals_mismatch"]
