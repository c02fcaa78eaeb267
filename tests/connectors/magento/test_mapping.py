"""Magento order JSON → the canonical `Order`, checked against Adobe's published example order and against
generated orders; an order that cannot be read comes back with its raw JSON and the reason, never raises."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CONTRACTS
from trueup.connectors.magento.mapping import to_order, to_source_order
from trueup.model.orders import Order, PaymentState, ProductType
from trueup.sandbox.scenario import FaultMix, generate

D = Decimal
EXAMPLE = CONTRACTS / "magento" / "examples" / "GET_V1_orders_id.response.json"
DAY = {"start": datetime(2026, 11, 23, 8), "end": datetime(2026, 11, 23, 20)}


@pytest.fixture
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(), parse_float=Decimal)  # type: ignore[no-any-return]


# --- Adobe's example order -------------------------------------------------------------------------------


def test_the_example_order_maps_its_identity_and_totals(example: dict[str, Any]) -> None:
    order = to_order(example, "magento")
    assert (order.order_id, order.storefront_entity_id, order.storefront) == ("000000003", "3", "magento")
    assert (order.status, order.currency) == ("pending", "USD")
    assert order.created_at == datetime(2017, 8, 21, 22, 22, 19)
    assert order.updated_at == datetime(2017, 8, 21, 22, 22, 20)
    assert (order.subtotal, order.tax_total, order.grand_total, order.discount_total) == (
        D(160), D(0), D(165), D(0)
    )  # fmt: skip
    assert (order.customer.email, order.customer.first_name, order.customer.last_name) == (
        "jdoe@example.com", "Jane", "Doe"
    )  # fmt: skip
    assert (order.customer.storefront_id, order.customer.is_guest) == ("3", False)


def test_the_example_order_maps_its_line(example: dict[str, Any]) -> None:
    [line] = to_order(example, "magento").lines
    assert (line.line_id, line.parent_line_id, line.sku, line.product_type) == (
        "3", None, "WS12-M-Orange", ProductType.SIMPLE
    )  # fmt: skip
    assert (line.name, line.qty, line.unit_price, line.row_total, line.tax) == (
        "Radiant Tee-M-Orange", D(1), D(22), D(22), D(0)
    )  # fmt: skip
    assert all(isinstance(v, Decimal) for v in (line.qty, line.row_total, line.tax, line.discount))


def test_the_example_order_maps_both_addresses(example: dict[str, Any]) -> None:
    order = to_order(example, "magento")
    for address in (order.billing_address, order.shipping_address):
        assert address is not None
        assert (address.name, address.street, address.city, address.region) == (
            "Jane Doe", ("123 Oak Ave",), "Purchase", "New York"
        )  # fmt: skip
        assert (address.postcode, address.country, address.phone, address.email) == (
            "10577", "US", "512-555-1111", "jdoe@example.com"
        )  # fmt: skip


def test_nul_and_bidi_override_characters_never_reach_the_erp(example: dict[str, Any]) -> None:
    """A name that displays as something else (U+202E reverses what follows) or a NUL that truncates it."""
    example["billing_address"]["firstname"] = "Ja\u202ene\x00"
    example["billing_address"]["street"] = ["123 Oak\u2066 Ave\nrear door"]
    example["customer_lastname"] = "Do\u202de"
    order = to_order(example, "magento")
    assert order.billing_address is not None
    assert order.billing_address.name == "Jane Doe"
    assert order.billing_address.street == ("123 Oak Ave rear door",)
    dumped = order.model_dump_json()
    assert not any(c in dumped for c in ("\u202e", "\u202d", "\u2066", "\\u0000"))


def test_the_example_order_maps_shipping_and_payment(example: dict[str, Any]) -> None:
    order = to_order(example, "magento")
    assert (order.shipping.method, order.shipping.description) == (
        "tablerate_bestway",
        "Best Way - Table Rate",
    )
    assert (order.shipping.amount, order.shipping.tax, order.shipping.amount_incl_tax) == (D(5), D(0), D(5))
    assert order.payment.method == "banktransfer"
    assert order.payment.state == PaymentState.PENDING  # the example's state is "new"


# --- payment state ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "paid", "expected"),
    [
        ("new", 0, PaymentState.PENDING),
        ("pending_payment", 0, PaymentState.PENDING),
        ("payment_review", 165, PaymentState.PENDING),
        ("holded", 165, PaymentState.PENDING),
        ("processing", 165, PaymentState.CAPTURED),
        ("complete", 165, PaymentState.CAPTURED),
        ("processing", 100, PaymentState.AUTHORISED),
        ("canceled", 0, PaymentState.CANCELLED),
        ("closed", 165, PaymentState.CANCELLED),
    ],
)
def test_payment_state_follows_the_order_state_and_what_was_paid(
    example: dict[str, Any], state: str, paid: int, expected: PaymentState
) -> None:
    example.update(state=state, total_paid=paid)
    assert to_order(example, "magento").payment.state == expected


def test_payment_falls_back_to_amount_paid_on_the_payment(example: dict[str, Any]) -> None:
    example["state"] = "processing"
    example["payment"]["amount_paid"] = D(165)
    order = to_order(example, "magento")
    assert (order.payment.state, order.payment.amount_paid) == (PaymentState.CAPTURED, D(165))


def test_a_negative_magento_discount_becomes_a_positive_discount_total(example: dict[str, Any]) -> None:
    example["discount_amount"] = D("-16.50")
    assert to_order(example, "magento").discount_total == D("16.50")


def test_an_order_without_a_shipping_assignment_has_no_shipping_address(example: dict[str, Any]) -> None:
    example["extension_attributes"] = {}
    example["shipping_method"] = "flatrate_flatrate"
    order = to_order(example, "magento")
    assert order.shipping_address is None
    assert order.shipping.method == "flatrate_flatrate"


# --- unreadable orders -----------------------------------------------------------------------------------


def test_a_readable_order_is_keyed_by_increment_id_and_versioned_by_updated_at(
    example: dict[str, Any],
) -> None:
    src = to_source_order(example, "magento")
    assert (src.key, src.version, src.error) == ("000000003", "2017-08-21 22:22:20", "")
    assert src.order is not None and src.order.order_id == "000000003"


def test_an_order_without_a_billing_address_is_returned_unread_with_its_raw_json(
    example: dict[str, Any],
) -> None:
    del example["billing_address"]
    src = to_source_order(example, "magento")
    assert src.order is None
    assert src.key == "000000003"
    assert "billing_address" in src.error
    raw = json.loads(src.raw, parse_float=Decimal)
    assert raw["increment_id"] == "000000003"
    assert D(str(raw["grand_total"])) == D(165)


def test_an_amount_sent_as_a_float_is_refused_not_read(example: dict[str, Any]) -> None:
    example["items"][0]["row_total"] = 22.1
    src = to_source_order(example, "magento")
    assert src.order is None
    assert "float" in src.error


@pytest.mark.parametrize("broken", [{"items": None}, {"created_at": "yesterday"}, {"items": [{}]}])
def test_broken_orders_never_raise(example: dict[str, Any], broken: dict[str, Any]) -> None:
    example.update(broken)
    src = to_source_order(example, "magento")
    assert src.order is None and src.error


@pytest.mark.parametrize("amount", ["", "n/a"])
def test_a_non_numeric_amount_is_returned_unread_not_raised(example: dict[str, Any], amount: str) -> None:
    example["grand_total"] = amount
    src = to_source_order(example, "magento")
    assert src.order is None and src.error


# --- generated orders ------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_generated_orders_keep_their_line_shapes_and_money(seed: int) -> None:
    scenario = generate(seed, 8, **DAY, faults=FaultMix.none())
    for raw in scenario.orders:
        original = copy.deepcopy(raw)
        order = to_order(raw, "magento")
        assert raw == original  # mapping never changes its input
        assert len(order.lines) == len(raw["items"])
        ids = {line.line_id for line in order.lines}
        assert all(line.parent_line_id in ids for line in order.lines if line.parent_line_id)
        assert sum((line.row_total for line in order.money_lines), D(0)) == order.subtotal
        assert not any(line.product_type == ProductType.BUNDLE for line in order.money_lines)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_the_ledger_json_reads_back_as_the_same_order(seed: int) -> None:
    """The ledger keeps the JSON written from the mapping's plain data, not `model_dump_json`: it must
    read back as the very order (faults included: long streets, odd postcodes, bundles, discounts)."""
    for raw in [*generate(seed, 8, **DAY).orders, *generate(seed, 8, **DAY, faults=FaultMix.none()).orders]:
        source = to_source_order(raw, "magento")
        if source.order is None:
            continue
        assert source.canonical
        assert Order.model_validate_json(source.canonical) == source.order
        assert Order.model_validate_json(source.order.model_dump_json()) == source.order


def test_a_number_that_is_not_one_names_its_field(example: dict[str, Any]) -> None:
    """`tax_percent = "20%"` once gave a bare InvalidOperation that named no field."""
    example["items"][0]["tax_percent"] = "20%"
    src = to_source_order(example, "magento")
    assert src.order is None
    assert src.error == "items[0].tax_percent = '20%' is not a number"
