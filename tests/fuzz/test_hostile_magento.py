"""Hostile Magento orders: the mapping never raises (an unreadable order comes back with its reason), and an
order it did read is planned without raising: posted, held, parked (Reject with a reason) or dropped."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.fuzz.hostile import DELETE, HUGE, hostile_values, mutate, paths
from trueup.connectors.magento.mapping import to_source_order
from trueup.flows.orders import Drop, Hold, OrderRules, Post, Reject, plan_order
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import Order

RULES = OrderRules(limits=FieldLimits(), carriers={"flatrate_flatrate": ("DPD", "NEXT")})


@cache
def _order_text() -> str:
    return (REPO / "contracts" / "magento" / "examples" / "GET_V1_orders_id.response.json").read_text()


def real_order() -> dict[str, Any]:
    order: dict[str, Any] = json.loads(_order_text(), parse_float=Decimal)
    return order


PATHS = paths(real_order())


@st.composite
def hostile_orders(draw: st.DrawFn) -> dict[str, Any]:
    order = real_order()
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        mutate(order, path, draw(st.one_of(st.just(DELETE), hostile_values())))
    return order


def check(raw: dict[str, Any]) -> None:
    source = to_source_order(copy.deepcopy(raw), "magento")
    if source.order is None:
        assert source.error, "an unreadable order must say why"
        assert len(source.error) <= 300
        return
    # the ledger's JSON of the order reads back as the very order, whatever the storefront sent
    assert Order.model_validate_json(source.canonical or source.order.model_dump_json()) == source.order
    items = {line.sku: ErpItem(line.sku, f"IT-{i}") for i, line in enumerate(source.order.lines)}
    plan = plan_order(source.order, items, RULES)
    assert isinstance(plan, Post | Hold | Reject | Drop)
    if isinstance(plan, Reject):
        assert all(p.message for p in plan.problems)


def _with(*changes: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    order = real_order()
    for path, value in changes:
        mutate(order, path, value)
    return order


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_orders())
@example(_with((("increment_id",), 10**5000)))
@example(_with((("items", 0, "price"), [10**5000])))  # found by this test: the message itself raised
@example(_with((("grand_total",), Decimal("NaN"))))
@example(_with((("items", 0, "qty_ordered"), Decimal("-2"))))
@example(_with((("items", 0, "qty_ordered"), Decimal("0.5"))))
@example(_with((("items", 0, "price"), Decimal("Infinity"))))
@example(_with((("items", 0, "row_total"), Decimal("1E+999999"))))
@example(_with((("items", 0, "sku"), HUGE)))
@example(_with((("billing_address", "street"), "10 High St")))
@example(_with((("billing_address",), None)))
@example(_with((("items",), {"sku": "x"})))
@example(_with((("customer_email",), "\u202eevil\u202c@example.com")))
def test_a_hostile_magento_order_is_read_or_refused_and_planned_without_raising(raw: dict[str, Any]) -> None:
    check(raw)


def test_the_unchanged_real_order_is_read() -> None:
    source = to_source_order(real_order(), "magento")
    assert source.order is not None, source.error


def test_a_negative_or_fractional_quantity_parks_the_order_as_invalid_quantity() -> None:
    for qty in (Decimal("-2"), Decimal("0"), Decimal("0.5"), Decimal("1E-999999")):
        source = to_source_order(_with((("items", 0, "qty_ordered"), qty)), "magento")
        assert source.order is not None
        items = {line.sku: ErpItem(line.sku, "IT-1") for line in source.order.lines}
        plan = plan_order(source.order, items, RULES)
        assert isinstance(plan, Reject)
        assert "invalid_quantity" in {p.reason.value for p in plan.problems}


def test_nan_infinite_or_absurd_amounts_are_refused_naming_the_field() -> None:
    for value in (Decimal("NaN"), Decimal("Infinity"), Decimal("1E+999999"), "NaN"):
        source = to_source_order(_with((("grand_total",), value)), "magento")
        assert source.order is None
        assert "grand_total" in source.error


def test_an_amount_python_refuses_to_print_is_named_not_raised() -> None:
    """A price holding an int of 5,000 digits: Python refuses to turn it into text, so the refusal's own
    message must not try to quote it (it did, and the hostile order stopped the mapping)."""
    source = to_source_order(_with((("items", 0, "price"), [10**5000])), "magento")
    assert source.order is None
    assert source.error == "TypeError: cannot read money from list '<a list too large to show>'"


def test_an_order_id_too_long_to_print_is_refused_with_a_readable_key() -> None:
    source = to_source_order(_with((("increment_id",), 10**5000)), "magento")
    assert source.order is None and source.error
    assert source.key == "unreadable-int"
