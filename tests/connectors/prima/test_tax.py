"""Predicting Prima's tax (erp tax mode): the rule, the variance check, and agreement with the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.contract.conftest import ITEMS
from tests.contract.test_erp_contract import sales_order
from trueup.connectors.prima.mapping import fill_sales_order
from trueup.connectors.prima.tax import (
    RoundingMode,
    TaxableLine,
    TaxRounding,
    TaxRule,
    check_erp_tax,
    predict_tax,
    shipping_rate,
    taxable_lines,
)
from trueup.connectors.prima.xml import build_request, serialise
from trueup.errors import Skippable
from trueup.model.exceptions import Reason
from trueup.model.orders import ErpOrderLine
from trueup.sandbox.prima import PrimaState
from trueup.sandbox.prima_app import answer

D = Decimal
THIRDS = [TaxableLine(D("0.83"), D("20"))] * 3  # 0.166 each


def test_per_line_rounding_rounds_each_line_and_per_document_rounds_each_rate_once() -> None:
    assert predict_tax(THIRDS, TaxRule(TaxRounding.LINE)) == D("0.51")
    assert predict_tax(THIRDS, TaxRule(TaxRounding.DOCUMENT)) == D("0.50")
    mixed = [*THIRDS, TaxableLine(D("10.00"), D("5"))]
    assert predict_tax(mixed, TaxRule(TaxRounding.DOCUMENT)) == D("1.00")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(RoundingMode.HALF_UP, D("0.13")), (RoundingMode.HALF_EVEN, D("0.12")), (RoundingMode.DOWN, D("0.12"))],
)
def test_the_rounding_mode_is_prima_s_configured_one(mode: RoundingMode, expected: Decimal) -> None:
    assert predict_tax([TaxableLine(D("0.625"), D("20"))], TaxRule(TaxRounding.LINE, mode)) == expected


def test_a_variance_over_the_tolerance_is_parked_naming_the_order_both_figures_and_the_difference() -> None:
    order = sales_order().model_copy(update={"tax_total": D("8.70")})
    with pytest.raises(Skippable) as caught:
        check_erp_tax(order, TaxRule(), D("20"), D("0.02"))
    error = caught.value
    assert error.reason == Reason.TAX_VARIANCE and error.field == "tax_total"
    message = str(error)
    assert "000000101" in message and "8.66" in message and "8.70" in message and "-0.04" in message


def test_a_variance_within_the_tolerance_passes_and_returns_the_prediction() -> None:
    order = sales_order().model_copy(update={"tax_total": D("8.67")})
    assert check_erp_tax(order, TaxRule(), D("20"), D("0.02")) == D("8.66")


def test_delivery_follows_the_goods_rate_unless_configured() -> None:
    assert shipping_rate(sales_order(), None) == D("20")
    assert shipping_rate(sales_order(), D("0")) == D("0")


amounts = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)
rates = st.sampled_from([D("0"), D("5"), D("20"), D("17.5"), D("7.7")])
line_data = st.lists(st.tuples(amounts, st.sampled_from([ITEMS[0], ITEMS[1], ITEMS[2]]), rates), min_size=1)


@settings(max_examples=150, deadline=None)
@given(
    lines=line_data,
    shipping=st.decimals(min_value=D("0"), max_value=D("20"), places=2),
    delivery_rate=rates,
    rounding=st.sampled_from(list(TaxRounding)),
    mode=st.sampled_from(list(RoundingMode)),
)
def test_the_prediction_equals_what_the_prima_emulator_calculates(
    lines: list[tuple[Decimal, dict[str, object], Decimal]],
    shipping: Decimal,
    delivery_rate: Decimal,
    rounding: TaxRounding,
    mode: RoundingMode,
) -> None:
    base = sales_order()
    order = base.model_copy(
        update={
            "external_id": "H-1",
            "shipping_net": shipping,
            "lines": tuple(
                ErpOrderLine(
                    line_no=i,
                    sku=str(item["sku"]),
                    erp_item_id=str(item["item_id"]),
                    description="",
                    qty=D(1),
                    unit_price=net,
                    net=net,
                    discount=D(0),
                    tax=D(0),
                    tax_rate=rate,
                    gross=net,
                    storefront_line_id=str(i),
                )
                for i, (net, item, rate) in enumerate(lines, start=1)
            ),
        }
    )
    state = PrimaState(tax_rounding=rounding.value, tax_rounding_mode=mode.value)
    state.add_items(ITEMS)
    root, data = build_request("NewOrder")
    fill_sales_order(
        data, order, customer_account="WEB", erp_calculates_tax=True, delivery_rate=delivery_rate
    )
    reply = etree.fromstring(answer(state, serialise(root), via_company_handler=False))
    assert reply.get("Status") == "OK", etree.tostring(reply)
    posted = reply.find("Order")
    assert posted is not None
    predicted = predict_tax(taxable_lines(order, delivery_rate), TaxRule(rounding, mode))
    assert D(posted.get("TaxTotal", "")) == predicted
