"""`plan_order`, the pure heart of the order flow: every reason an order is parked, held or dropped, the
priority of its problems, and, over generated trading days, that good orders post with ERP lines that add up
to the storefront's grand total."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trueup.connectors.magento.mapping import to_order, to_source_order
from trueup.flows.orders import Drop, Hold, OrderRules, Post, Reject, merge_problems, plan_order
from trueup.model.exceptions import REASONS, Reason, owner_of
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import Address, Customer, Order, OrderLine, Payment, PaymentState, Shipping
from trueup.sandbox.scenario import CARRIERS, FaultMix, generate

D = Decimal
CARRIER_MAP = {method: (code.split("/")[0], code.split("/")[1]) for method, code in CARRIERS.items()}
RULES = OrderRules(limits=FieldLimits(), carriers=CARRIER_MAP)
ITEMS = {
    "MUG-1": ErpItem("MUG-1", "IT-000001"),
    "TEE-M": ErpItem("TEE-M", "IT-000002"),
    "OLD-1": ErpItem("OLD-1", "IT-000003", active=False),
}
DAY = {"start": datetime(2026, 11, 23, 8), "end": datetime(2026, 11, 23, 20)}


def address(**changes: Any) -> Address:
    base = {"first_name": "Ann", "last_name": "Smith", "street": ("Flat 2", "10 High Street"),
            "city": "Leeds", "postcode": "LS1 4AP", "country": "GB"}  # fmt: skip
    return Address.model_validate({**base, **changes})


def make_order(
    *,
    sku: str = "MUG-1",
    tax: Decimal = D("2.00"),
    state: PaymentState = PaymentState.CAPTURED,
    currency: str = "GBP",
    method: str = "flatrate_flatrate",
    ship_to: Address | None = None,
) -> Order:
    """One mug: 10.00 + 2.00 VAT, shipping 3.29 + 0.66 VAT; grand total 15.95."""
    return Order(
        order_id="000000007",
        storefront_entity_id="7",
        storefront="magento",
        status="canceled" if state == PaymentState.CANCELLED else "processing",
        currency=currency,
        created_at=datetime(2026, 11, 23, 9, 14, 3),
        updated_at=datetime(2026, 11, 23, 9, 14, 3),
        customer=Customer(email="ann@example.co.uk", first_name="Ann", last_name="Smith"),
        billing_address=address(),
        shipping_address=ship_to or address(),
        lines=(
            OrderLine(
                line_id="71", sku=sku, name="Mug", qty=D(2), row_total=D("10.00"), tax=tax, tax_rate=D(20)
            ),
        ),
        shipping=Shipping(method=method, amount=D("3.29"), tax=D("0.66")),
        payment=Payment(method="stripe_payments", state=state, reference="ch_1"),
        subtotal=D("10.00"),
        tax_total=D("2.66"),
        grand_total=D("15.95"),
    )


def rejected(plan: object) -> list[tuple[Reason, str]]:
    assert isinstance(plan, Reject), plan
    return [(p.reason, p.field) for p in plan.problems]


# --- posting ---------------------------------------------------------------------------------------------


def test_a_paid_good_order_posts() -> None:
    plan = plan_order(make_order(), ITEMS, RULES)
    assert isinstance(plan, Post)
    so = plan.order
    assert (so.external_id, so.currency, so.carrier, so.service) == ("000000007", "GBP", "RM", "TRACKED48")
    [line] = so.lines
    assert (line.line_no, line.sku, line.erp_item_id, line.qty, line.unit_price, line.gross) == (
        1, "MUG-1", "IT-000001", D(2), D("5.0000"), D("12.00")
    )  # fmt: skip
    assert (so.shipping_net, so.shipping_tax, so.grand_total) == (D("3.29"), D("0.66"), D("15.95"))
    assert so.ship_to.lines == ("Flat 2", "10 High Street")


def test_sku_overrides_map_a_storefront_sku_onto_an_erp_item() -> None:
    rules = dataclasses.replace(RULES, sku_overrides={"WEB-MUG": "MUG-1"})
    plan = plan_order(make_order(sku="WEB-MUG"), ITEMS, rules)
    assert isinstance(plan, Post)
    assert [(ln.sku, ln.erp_item_id) for ln in plan.order.lines] == [("MUG-1", "IT-000001")]
    assert rejected(plan_order(make_order(sku="WEB-MUG"), ITEMS, RULES)) == [
        (Reason.UNKNOWN_SKU, "lines[0].sku")
    ]


# --- payment ---------------------------------------------------------------------------------------------


def test_a_pending_payment_is_held() -> None:
    plan = plan_order(make_order(state=PaymentState.PENDING), ITEMS, RULES)
    assert isinstance(plan, Hold)
    assert (plan.problem.reason, plan.problem.owner) == (
        Reason.PAYMENT_PENDING,
        owner_of(Reason.PAYMENT_PENDING),
    )


def test_an_authorised_payment_is_held_unless_rules_post_when_authorised() -> None:
    order = make_order(state=PaymentState.AUTHORISED)
    assert isinstance(plan_order(order, ITEMS, RULES), Hold)
    plan = plan_order(order, ITEMS, dataclasses.replace(RULES, post_when="authorised"))
    assert isinstance(plan, Post)
    assert plan.order.external_id == "000000007"


def test_a_cancelled_order_is_dropped_even_with_problems() -> None:
    for order in (
        make_order(state=PaymentState.CANCELLED),
        make_order(state=PaymentState.CANCELLED, sku="X"),
    ):
        plan = plan_order(order, ITEMS, RULES)
        assert isinstance(plan, Drop)
        assert plan.problem.reason == Reason.ORDER_CANCELLED


# --- every reason ----------------------------------------------------------------------------------------


def test_an_unknown_sku_names_the_sku_and_the_field() -> None:
    plan = plan_order(make_order(sku="WEB-ONLY-0001"), ITEMS, RULES)
    assert rejected(plan) == [(Reason.UNKNOWN_SKU, "lines[0].sku")]
    assert isinstance(plan, Reject)
    problem = plan.problems[0]
    assert "'WEB-ONLY-0001'" in problem.message and "lines[0].sku" in problem.message
    assert problem.message.startswith("Order 000000007:")
    assert (problem.owner, problem.impact_minor, problem.currency) == (
        owner_of(Reason.UNKNOWN_SKU),
        1595,
        "GBP",
    )


def test_an_inactive_sku_is_rejected() -> None:
    plan = plan_order(make_order(sku="OLD-1"), ITEMS, RULES)
    assert rejected(plan) == [(Reason.INACTIVE_SKU, "lines[0].sku")]
    assert isinstance(plan, Reject) and "IT-000003" in plan.problems[0].message


def test_an_unmapped_shipping_method_is_rejected() -> None:
    plan = plan_order(make_order(method="premiumcarrier_sameday"), ITEMS, RULES)
    assert rejected(plan) == [(Reason.UNMAPPED_CARRIER, "shipping.method")]
    assert isinstance(plan, Reject) and "premiumcarrier_sameday" in plan.problems[0].message


def test_a_street_that_does_not_fit_is_address_too_long() -> None:
    street = ("Flat 12, Rosemary Court Apartments, Building C", "123 Extraordinarily Long Named Road",
              "Little Snoring-on-the-Marsh Business Park East Wing")  # fmt: skip
    plan = plan_order(make_order(ship_to=address(street=street)), ITEMS, RULES)
    assert rejected(plan) == [(Reason.ADDRESS_TOO_LONG, "shipping_address.street")]


def test_a_malformed_uk_postcode_is_invalid_postcode() -> None:
    plan = plan_order(make_order(ship_to=address(postcode="LS1 4CP")), ITEMS, RULES)
    assert rejected(plan) == [(Reason.INVALID_POSTCODE, "shipping_address.postcode")]


def test_an_empty_city_is_address_invalid() -> None:
    plan = plan_order(make_order(ship_to=address(city="")), ITEMS, RULES)
    assert rejected(plan) == [(Reason.ADDRESS_INVALID, "shipping_address.city")]


def test_an_address_used_for_billing_and_shipping_is_judged_as_both() -> None:
    """Fitted once when both are the same address, but each field is named, as when they differ."""
    same = address(postcode="LS1 4CP", city="")
    order = make_order(ship_to=same).model_copy(update={"billing_address": same})
    plan = plan_order(order, ITEMS, RULES)
    assert rejected(plan) == [
        (Reason.ADDRESS_INVALID, "shipping_address.city"),
        (Reason.ADDRESS_INVALID, "billing_address.city"),
        (Reason.INVALID_POSTCODE, "shipping_address.postcode"),
        (Reason.INVALID_POSTCODE, "billing_address.postcode"),
    ]
    assert isinstance(plan, Reject)
    messages = [p.message for p in plan.problems]
    assert messages[0].replace("shipping_", "billing_") == messages[1]
    copy = same.model_copy()  # an equal address that is another object: the same answer
    assert plan_order(order.model_copy(update={"shipping_address": copy}), ITEMS, RULES) == plan
    posted = plan_order(make_order(), ITEMS, RULES)
    assert isinstance(posted, Post) and posted.order.ship_to == posted.order.bill_to


def test_a_line_tax_that_does_not_match_its_rate_is_tax_variance() -> None:
    # 0.37 too much tax on the line; the totals were made from the same figures, so only the line is off.
    order = make_order(tax=D("2.37"))
    order = order.model_copy(update={"tax_total": D("3.03"), "grand_total": D("16.32")})
    assert rejected(plan_order(order, ITEMS, RULES)) == [(Reason.TAX_VARIANCE, "lines[0].tax")]


def test_a_currency_the_erp_does_not_book_is_currency_mismatch() -> None:
    plan = plan_order(make_order(currency="JPY"), ITEMS, RULES)
    assert rejected(plan) == [(Reason.CURRENCY_MISMATCH, "currency")]
    assert isinstance(plan, Reject) and plan.problems[0].owner == owner_of(Reason.CURRENCY_MISMATCH)


def test_every_problem_is_listed_with_the_highest_priority_first() -> None:
    order = make_order(
        sku="WEB-ONLY-0001", currency="JPY", method="premiumcarrier_sameday", ship_to=address(postcode="NOPE")
    )
    plan = plan_order(order, ITEMS, RULES)
    assert rejected(plan) == [
        (Reason.CURRENCY_MISMATCH, "currency"),
        (Reason.UNKNOWN_SKU, "lines[0].sku"),
        (Reason.UNMAPPED_CARRIER, "shipping.method"),
        (Reason.INVALID_POSTCODE, "shipping_address.postcode"),
    ]
    assert isinstance(plan, Reject)
    merged = merge_problems(plan.problems)
    assert (merged.reason, merged.field) == (Reason.CURRENCY_MISMATCH, "currency")
    assert merged.owner == plan.problems[0].owner
    assert all(p.message in merged.message for p in plan.problems)
    assert merged.message.endswith(f"Resolution: {REASONS[Reason.CURRENCY_MISMATCH].resolution}")


def test_problems_are_found_even_when_payment_is_pending() -> None:
    plan = plan_order(make_order(sku="WEB-ONLY-0001", state=PaymentState.PENDING), ITEMS, RULES)
    assert rejected(plan) == [(Reason.UNKNOWN_SKU, "lines[0].sku")]


# --- generated trading days ------------------------------------------------------------------------------

seeds = st.integers(min_value=0, max_value=2**31 - 1)
scenario_settings = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def erp_items(raw: list[dict[str, Any]]) -> dict[str, ErpItem]:
    return {i["sku"]: ErpItem(i["sku"], i["item_id"], active=i["active"]) for i in raw}


@scenario_settings
@given(seeds)
def test_good_generated_orders_post_and_their_erp_lines_add_up_to_the_grand_total(seed: int) -> None:
    scenario = generate(seed, 12, **DAY, faults=dataclasses.replace(FaultMix.none(), pending_payment=0.3))
    items = erp_items(scenario.erp_items)
    for raw in scenario.orders:
        order = to_order(raw, "magento")
        plan = plan_order(order, items, RULES)
        if raw["entity_id"] in scenario.pending:
            assert isinstance(plan, Hold), (order.order_id, plan)
            continue
        assert isinstance(plan, Post), (order.order_id, plan)
        so = plan.order
        assert (
            sum((ln.gross for ln in so.lines), D(0)) + so.shipping_net + so.shipping_tax == order.grand_total
        )
        assert all(ln.net - ln.discount + ln.tax == ln.gross for ln in so.lines)
        assert not any(
            ln.sku == line.sku for ln in so.lines for line in order.lines if line.product_type == "bundle"
        )


@scenario_settings
@given(seeds)
def test_plan_order_is_deterministic(seed: int) -> None:
    scenario = generate(seed, 6, **DAY, faults=FaultMix())
    items = erp_items(scenario.erp_items)
    shuffled = dict(reversed(list(items.items())))
    for raw in scenario.orders:
        src = to_source_order(raw, "magento")
        if src.order is not None:
            first = plan_order(src.order, items, RULES)
            assert plan_order(src.order, items, RULES) == first
            assert plan_order(src.order, shuffled, RULES) == first


@scenario_settings
@given(seeds)
def test_each_deliberately_bad_generated_order_is_filed_under_its_fault(seed: int) -> None:
    mix = FaultMix(0.12, 0.12, 0.12, 0.12, 0.12, 0.05, 0.0)
    scenario = generate(seed, 15, **DAY, faults=mix)
    items = erp_items(scenario.erp_items)
    for raw in scenario.orders:
        src = to_source_order(raw, "magento")
        if src.order is None:
            outcome = Reason.MALFORMED_RECORD.value
        else:
            plan = plan_order(src.order, items, RULES)
            outcome = "post" if isinstance(plan, Post) else rejected(plan)[0][0].value
        assert outcome == scenario.expected[src.key]


@pytest.mark.parametrize("state", [PaymentState.PENDING, PaymentState.AUTHORISED, PaymentState.CAPTURED])
def test_only_a_cancelled_order_is_ever_dropped(state: PaymentState) -> None:
    assert not isinstance(plan_order(make_order(state=state), ITEMS, RULES), Drop)


def test_an_accepted_variance_lets_exactly_that_order_and_figure_through() -> None:
    """accept_and_post: the planner lets through the tax variance a person accepted, for that figure only."""
    from trueup.rules.tax import check_tax

    skewed = make_order(tax=D("2.40"))  # 20% of 10.00 is 2.00: a line variance, and the totals are off
    found = check_tax(skewed, D("0.01"), D("0.02"))
    assert found
    assert isinstance(plan_order(skewed, ITEMS, RULES), Reject)
    accepted = {(p.kind, p.field, str(p.actual)) for p in found}
    assert isinstance(plan_order(skewed, ITEMS, RULES, accepted=accepted), Post)
    other = {(k, f, str(D(a) + 1)) for k, f, a in accepted}  # another figure: checked afresh
    assert isinstance(plan_order(skewed, ITEMS, RULES, accepted=other), Reject)
