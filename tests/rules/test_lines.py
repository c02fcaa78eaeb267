"""Which storefront lines become ERP lines and which carry the money: configurable parent/child pairs book
once with the child's SKU and the parent's money; bundles book their children, never the dynamic SKU; a
fixed-price bundle's money is apportioned over the children to the penny."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

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
from trueup.rules.lines import apportion, booked_lines

D = Decimal
ADDRESS = Address(
    first_name="Ann", last_name="Smith", street=("1 High St",), city="Leeds", postcode="LS1 4AP", country="GB"
)


def order_of(*lines: OrderLine) -> Order:
    return Order(
        order_id="000000001",
        storefront_entity_id="1",
        storefront="magento",
        status="processing",
        currency="GBP",
        created_at=datetime(2026, 11, 23, 9),
        updated_at=datetime(2026, 11, 23, 9),
        customer=Customer(email="ann@example.co.uk"),
        billing_address=ADDRESS,
        shipping_address=ADDRESS,
        lines=lines,
        shipping=Shipping(method="flatrate_flatrate"),
        payment=Payment(method="checkmo", state=PaymentState.CAPTURED),
        subtotal=D(0),
        tax_total=D(0),
        grand_total=D(0),
    )


def line(line_id: str, sku: str, **money: object) -> OrderLine:
    return OrderLine.model_validate({"line_id": line_id, "sku": sku, "qty": D(1), **money})


# --- apportion -------------------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2, allow_nan=False)
weights = st.lists(st.integers(min_value=1, max_value=50).map(D), min_size=1, max_size=12)


@given(amounts, weights)
def test_apportion_shares_sum_exactly_to_the_amount(amount: Decimal, ws: list[Decimal]) -> None:
    shares = apportion(amount, ws)
    assert len(shares) == len(ws)
    assert sum(shares, D(0)) == amount
    assert all(share == share.quantize(D("0.01")) for share in shares)


@given(amounts, st.lists(st.integers(min_value=1, max_value=50).map(D), min_size=1, max_size=3))
def test_apportion_shares_are_within_a_penny_of_proportional(amount: Decimal, ws: list[Decimal]) -> None:
    total = sum(ws, D(0))
    for share, weight in zip(apportion(amount, ws), ws, strict=True):
        assert abs(share - amount * weight / total) <= D("0.01")


def test_apportion_by_quantity() -> None:
    assert apportion(D("30.00"), [D(1), D(2)]) == [D("10.00"), D("20.00")]
    assert apportion(D("10.00"), [D(1), D(1), D(1)]) == [D("3.33"), D("3.33"), D("3.34")]


def test_apportion_with_no_weight_puts_everything_on_the_first_share() -> None:
    assert apportion(D("9.99"), [D(0), D(0)]) == [D("9.99"), D(0)]


def test_apportion_keeps_every_share_within_a_penny_for_many_parts() -> None:
    amount, ws = D("0.10"), [D(1)] * 7
    shares = apportion(amount, ws)
    assert all(abs(share - amount / 7) <= D("0.01") for share in shares), shares


# --- booked_lines ----------------------------------------------------------------------------------------


def test_a_simple_line_books_its_own_sku_and_money() -> None:
    order = order_of(line("1", "MUG-1", row_total=D("10.00"), discount=D("1.20"),
                          discount_tax_compensation=D("0.20"), tax=D("1.80"), tax_rate=D(20)))  # fmt: skip
    [booked] = booked_lines(order)
    assert (booked.sku, booked.net, booked.discount, booked.tax, booked.field) == (
        "MUG-1", D("10.00"), D("1.00"), D("1.80"), "lines[0].sku"
    )  # fmt: skip


def test_a_configurable_pair_books_one_line_with_the_childs_sku_and_the_parents_money() -> None:
    parent = line("10", "TEE-M-ORANGE", product_type=ProductType.CONFIGURABLE, qty=D(2), name="Tee",
                  row_total=D("36.66"), tax=D("7.33"), tax_rate=D(20))  # fmt: skip
    child = line("11", "TEE-M-ORANGE", parent_line_id="10", qty=D(2), name="Tee M Orange")
    order = order_of(line("1", "MUG-1", row_total=D("5.00")), parent, child)
    booked = booked_lines(order)
    assert [b.line_id for b in booked] == ["1", "10"]
    tee = booked[1]
    assert (tee.sku, tee.name, tee.qty, tee.net, tee.tax, tee.tax_rate) == (
        "TEE-M-ORANGE", "Tee M Orange", D(2), D("36.66"), D("7.33"), D(20)
    )  # fmt: skip
    assert tee.field == "lines[2].sku"  # the child's SKU is the one that must exist in the ERP


def test_a_configurable_books_the_child_sku_even_when_the_parent_sku_differs() -> None:
    parent = line("10", "TEE", product_type=ProductType.CONFIGURABLE, row_total=D("15.00"))
    child = line("11", "TEE-L-SAGE", parent_line_id="10")
    [booked] = booked_lines(order_of(parent, child))
    assert (booked.sku, booked.net) == ("TEE-L-SAGE", D("15.00"))


def test_a_dynamic_price_bundle_books_its_children_with_their_own_money() -> None:
    parent = line("20", "SET-SET-P0-SET-P1", product_type=ProductType.BUNDLE)
    kids = [
        line("21", "SET-P0", parent_line_id="20", row_total=D("5.00"), tax=D("1.00"), tax_rate=D(20)),
        line("22", "SET-P1", parent_line_id="20", row_total=D("7.50"), tax=D("1.50"), tax_rate=D(20)),
    ]
    booked = booked_lines(order_of(parent, *kids))
    assert [(b.sku, b.net, b.tax, b.field) for b in booked] == [
        ("SET-P0", D("5.00"), D("1.00"), "lines[1].sku"),
        ("SET-P1", D("7.50"), D("1.50"), "lines[2].sku"),
    ]


def test_a_fixed_price_bundle_apportions_its_money_over_the_children_by_quantity() -> None:
    parent = line("30", "BOX-BOX-A-BOX-B", product_type=ProductType.BUNDLE, row_total=D("30.00"),
                  discount=D("3.00"), tax=D("5.40"), tax_rate=D(20))  # fmt: skip
    kids = [
        line("31", "BOX-A", parent_line_id="30", qty=D(1)),
        line("32", "BOX-B", parent_line_id="30", qty=D(2)),
    ]
    booked = booked_lines(order_of(parent, *kids))
    assert [(b.sku, b.qty, b.net, b.discount, b.tax, b.tax_rate) for b in booked] == [
        ("BOX-A", D(1), D("10.00"), D("1.00"), D("1.80"), D(20)),
        ("BOX-B", D(2), D("20.00"), D("2.00"), D("3.60"), D(20)),
    ]


@given(
    st.decimals(min_value=D("0"), max_value=D("999"), places=2),
    st.decimals(min_value=D("0"), max_value=D("99"), places=2),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6),
)
def test_a_fixed_price_bundles_children_carry_exactly_the_parents_money(
    net: Decimal, tax: Decimal, qtys: list[int]
) -> None:
    parent = line("1", "BUNDLE-DYN", product_type=ProductType.BUNDLE, row_total=net, tax=tax)
    kids = [line(str(i + 2), f"PART-{i}", parent_line_id="1", qty=D(q)) for i, q in enumerate(qtys)]
    booked = booked_lines(order_of(parent, *kids))
    assert [b.sku for b in booked] == [f"PART-{i}" for i in range(len(qtys))]
    assert sum((b.net for b in booked), D(0)) == net
    assert sum((b.tax for b in booked), D(0)) == tax


@given(st.booleans(), st.integers(min_value=1, max_value=5))
def test_the_bundles_dynamic_sku_is_never_booked(fixed_price: bool, parts: int) -> None:
    dynamic = "-".join(["KIT", *(f"KIT-P{i}" for i in range(parts))])
    parent = line(
        "1", dynamic, product_type=ProductType.BUNDLE, row_total=D("20.00") if fixed_price else D(0)
    )
    kids = [
        line(str(i + 2), f"KIT-P{i}", parent_line_id="1", row_total=D(0) if fixed_price else D("4.00"))
        for i in range(parts)
    ]
    skus = [b.sku for b in booked_lines(order_of(parent, *kids))]
    assert dynamic not in skus
    assert skus == [f"KIT-P{i}" for i in range(parts)]
