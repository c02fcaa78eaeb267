"""`plan_order` refuses before sending what every ERP refuses: quantities that are not positive whole
numbers, order ids and SKUs that are empty or too long for the ERP; and trims a line's description with a
note, since nothing keys on it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.flows.test_plan_orders import ITEMS, RULES, make_order, rejected
from trueup.connectors.magento.mapping import to_order
from trueup.flows.orders import Post, Reject, merge_problems, plan_order
from trueup.model.exceptions import Reason
from trueup.model.orders import Order
from trueup.rules.fields import identifier_problem, quantity_problem, trim_text

D = Decimal


def with_line(**changes: object) -> Order:
    order = make_order()
    line = order.lines[0].model_copy(update=changes)
    return order.model_copy(update={"lines": (line,)})


@pytest.mark.parametrize("qty", ["0", "-1", "0.5", "2.25"])
def test_a_quantity_an_erp_cannot_book_is_invalid_quantity_naming_the_line(qty: str) -> None:
    order = with_line(qty=D(qty))
    plan = plan_order(order, ITEMS, RULES)
    assert rejected(plan)[0] == (Reason.INVALID_QUANTITY, "lines[0].qty")
    assert isinstance(plan, Reject)
    problem = merge_problems(plan.problems)
    assert f"quantity {D(qty)}" in problem.message and "Resolution:" in problem.message
    assert problem.impact_minor == 1595 and problem.currency == "GBP"


@pytest.mark.parametrize("order_id", ["", "   ", "1" * 31])
def test_an_empty_or_over_long_order_id_is_invalid_identifier(order_id: str) -> None:
    order = make_order().model_copy(update={"order_id": order_id})
    assert rejected(plan_order(order, ITEMS, RULES))[0] == (Reason.INVALID_IDENTIFIER, "order_id")


def test_an_over_long_sku_is_invalid_identifier_never_cut() -> None:
    long_sku = "MUG-" + "9" * 80
    order = with_line(sku=long_sku)
    assert rejected(plan_order(order, ITEMS, RULES)) == [(Reason.INVALID_IDENTIFIER, "lines[0].sku")]


def test_an_over_long_customer_email_is_invalid_identifier() -> None:
    order = make_order()
    customer = order.customer.model_copy(update={"email": "a" * 95 + "@example.co.uk"})
    order = order.model_copy(update={"customer": customer})
    assert rejected(plan_order(order, ITEMS, RULES)) == [(Reason.INVALID_IDENTIFIER, "customer.email")]


def test_a_huge_line_name_is_trimmed_with_a_note_and_the_order_posts() -> None:
    order = with_line(name="Mug " + "x" * 5_000_000)
    plan = plan_order(order, ITEMS, RULES)
    assert isinstance(plan, Post)
    description = plan.order.lines[0].description
    assert len(description) == RULES.limits.description and description.endswith("...")
    assert plan.notes == ("lines[0].name trimmed from 5000004 to 120 characters",)


def test_a_name_that_fits_is_left_alone_without_a_note() -> None:
    plan = plan_order(make_order(), ITEMS, RULES)
    assert isinstance(plan, Post) and plan.notes == () and plan.order.lines[0].description == "Mug"


def test_a_null_magento_email_never_becomes_the_text_none() -> None:
    raw = {
        "increment_id": "000000009",
        "entity_id": 9,
        "status": "processing",
        "order_currency_code": "GBP",
        "created_at": "2026-11-23 09:00:00",
        "updated_at": "2026-11-23 09:00:00",
        "customer_email": None,
        "billing_address": {"firstname": "A", "lastname": "B", "street": ["1 St"], "city": "Leeds",
                            "postcode": "LS1 4AP", "country_id": "GB"},
        "items": [],
        "grand_total": 0, "subtotal": 0, "tax_amount": 0,
    }  # fmt: skip
    assert to_order(raw, "magento").customer.email == ""


def test_the_field_rules_on_their_own() -> None:
    assert quantity_problem(D("1")) is None and quantity_problem(D("1.5"), decimal_ok=True) is None
    assert quantity_problem(D("NaN")) is not None
    assert identifier_problem("000000001", 30) is None
    assert trim_text("abc", 3) == ("abc", None)
    assert trim_text("abcdef", 5) == ("ab...", "trimmed from 6 to 5 characters")
