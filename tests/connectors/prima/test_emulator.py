"""The Prima emulator enforces what trueup assumes Prima enforces (checked on the wire bytes)."""

from __future__ import annotations

from lxml import etree

from tests.contract.conftest import ITEMS
from tests.contract.test_erp_contract import sales_order
from trueup.connectors.prima.mapping import fill_sales_order
from trueup.connectors.prima.xml import build_request, serialise
from trueup.sandbox.prima import PrimaState
from trueup.sandbox.prima_app import answer


def state(**kwargs: object) -> PrimaState:
    prima = PrimaState(**kwargs)  # type: ignore[arg-type]
    prima.add_items(ITEMS)
    return prima


def error_code(raw: bytes) -> str:
    reply = etree.fromstring(raw)
    assert reply.get("Status") == "Error", raw
    error = reply.find("Error")
    assert error is not None
    return error.get("Code", "")


def order_envelope(company_id: str = "", **changes: object) -> bytes:
    root, data = build_request("NewOrder", company_id)
    order = sales_order().model_copy(update=changes)
    fill_sales_order(
        data, order, customer_account="WEB", erp_calculates_tax=False, delivery_rate=order.lines[0].tax_rate
    )
    return serialise(root)


def test_a_request_not_declared_iso_8859_1_is_refused() -> None:
    utf8 = order_envelope().replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"')
    assert error_code(answer(state(), utf8, via_company_handler=False)) == "ENCODING"


def test_the_company_handler_checks_the_company_id() -> None:
    multi = state(company_id="01")
    assert error_code(answer(multi, order_envelope(), via_company_handler=False)) == "COMPANY_REQUIRED"
    assert error_code(answer(multi, order_envelope("02"), via_company_handler=True)) == "UNKNOWN_COMPANY"
    ok = etree.fromstring(answer(multi, order_envelope("01"), via_company_handler=True))
    assert ok.get("Status") == "OK"


def test_unknown_items_and_totals_that_do_not_add_up_are_refused() -> None:
    prima = state()
    bad_line = sales_order().lines[0].model_copy(update={"erp_item_id": "IT-999999"})
    raw = answer(prima, order_envelope(lines=(bad_line,)), via_company_handler=False)
    assert error_code(raw) == "VALIDATION" and b"IT-999999" in raw
    assert (
        error_code(
            answer(
                prima, order_envelope(grand_total=sales_order().grand_total + 1), via_company_handler=False
            )
        )
        == "VALIDATION"
    )
    assert prima.orders == {}


def test_stock_answers_carry_both_available_figures() -> None:
    prima = state()
    prima.set_stock("TU0001-M-Navy", "WEB", on_hand=10, allocated=3, quarantined=2)
    root, _ = build_request("StockEnquiry")
    reply = etree.fromstring(answer(prima, serialise(root), via_company_handler=False))
    row = reply.find("Stock")
    assert row is not None
    assert (row.get("Available"), row.get("AvailableToSell")) == ("8", "5")
