"""Prima's elements ⇄ trueup's records; above all, only "Available to Sell" may become sellable stock."""

from __future__ import annotations

import inspect
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from tests.contract.test_erp_contract import credit_note, sales_order
from trueup.connectors.prima import client, connector, mapping
from trueup.connectors.prima.mapping import (
    fill_credit_note,
    fill_sales_order,
    to_despatch,
    to_item,
    to_ledger_entry,
    to_price,
    to_stock_level,
)
from trueup.connectors.prima.xml import build_request
from trueup.model.erp import LedgerKind
from trueup.rules.stock import sellable_qty

AS_OF = datetime(2026, 11, 23, 9, 0)
D = Decimal


def stock_row(**attrs: str) -> etree._Element:
    return etree.Element(
        "Stock", {"ItemCode": "IT-000001", "SKU": "TU0001-M-Navy", "Warehouse": "WEB"} | attrs
    )


def test_sellable_is_available_to_sell_even_when_available_differs() -> None:
    row = stock_row(OnHand="10", Allocated="3", Quarantined="2", Available="8", AvailableToSell="5")
    level = to_stock_level(row, AS_OF)
    assert level.sellable == 5 and sellable_qty(level) == 5
    assert (level.on_hand, level.allocated, level.quarantined) == (10, 3, 2)


def test_a_row_with_only_available_never_puts_it_into_sellable() -> None:
    # Available includes internal allocations: with no AvailableToSell, trueup derives sellable from the
    # parts (10 - 3 - 2), never from Available (8 here, 999 in the extreme).
    level = to_stock_level(stock_row(OnHand="10", Allocated="3", Quarantined="2", Available="999"), AS_OF)
    assert level.sellable is None
    assert sellable_qty(level) == 5


def test_no_connector_code_reads_the_plain_available_attribute() -> None:
    for module in (mapping, connector, client):
        source = inspect.getsource(module)
        assert '"Available"' not in source and "'Available'" not in source, module.__name__


def test_items_prices_despatches_and_ledger_rows_map_to_records() -> None:
    item = to_item(etree.Element("Item", ItemCode="IT-1", SKU="S-1", Barcode="501", Status="Inactive"))
    assert (item.sku, item.erp_item_id, item.barcode, item.active) == ("S-1", "IT-1", "501", False)
    price = to_price(etree.Element("Price", SKU="S-1", Currency="GBP", Price="19.99", PriceType="Special"))
    assert price.price == D("19.99") and isinstance(price.price, Decimal) and price.kind == "special"
    despatch = etree.fromstring(
        '<Despatch DespatchNumber="DN1" OrderNumber="SO1" WebOrderRef="101"'
        ' DespatchDate="2026-11-23T10:00:00" Carrier="RM" Service="T48">'
        '<Tracking Number="RM1GB"/><Tracking Number="RM2GB"/>'
        '<Line ItemCode="IT-1" SKU="S-1" Qty="2"/></Despatch>'
    )
    found = to_despatch(despatch)
    assert (found.order_id, found.erp_order_ref, found.tracking_numbers) == ("101", "SO1", ("RM1GB", "RM2GB"))
    assert [(ln.sku, ln.qty) for ln in found.lines] == [("S-1", 2)]
    entry = to_ledger_entry(
        etree.Element(
            "Document",
            Type="CreditNote",
            DocumentNumber="CN1",
            WebOrderRef="101",
            PostedDate="2026-11-23",
            Currency="GBP",
            Net="15.00",
            Tax="3.00",
            Gross="18.00",
        )
    )
    assert entry.kind == LedgerKind.CREDIT_NOTE and entry.gross == D("18.00")
    assert entry.posted_on == date(2026, 11, 23)


def _order_data(erp_calculates_tax: bool) -> etree._Element:
    _, data = build_request("NewOrder")
    fill_sales_order(
        data,
        sales_order(),
        customer_account="WEB",
        erp_calculates_tax=erp_calculates_tax,
        delivery_rate=D("20"),
    )
    return data


def test_storefront_tax_mode_sends_the_storefront_s_final_tax_and_totals() -> None:
    data = _order_data(erp_calculates_tax=False)
    assert data.get("TaxMode") == "Supplied"
    assert (data.get("TaxTotal"), data.get("GrandTotal"), data.get("ShippingTax")) == (
        "8.66",
        "51.95",
        "0.66",
    )
    first = data.find("Line")
    assert first is not None
    assert (first.get("Net"), first.get("Tax"), first.get("Gross"), first.get("Qty")) == (
        "30.00",
        "6.00",
        "36.00",
        "2",
    )
    address = data.find("DeliveryAddress")
    assert address is not None and (address.get("Line1"), address.get("Line2")) == (
        "Flat 2",
        "10 High Street",
    )


def test_erp_tax_mode_sends_net_amounts_and_rates_only() -> None:
    data = _order_data(erp_calculates_tax=True)
    assert data.get("TaxMode") == "Calculate"
    assert data.get("TaxTotal") is None and data.get("GrandTotal") is None
    first = data.find("Line")
    assert first is not None and first.get("Tax") is None and first.get("TaxRate") == "20"


def test_a_credit_note_carries_its_refund_id_order_and_restock_flags() -> None:
    _, data = build_request("NewCreditNote")
    fill_credit_note(data, credit_note(), "SO000001")
    assert (data.get("CreditRef"), data.get("WebOrderRef"), data.get("Total")) == (
        "CM-101",
        "000000101",
        "18.00",
    )
    line = data.find("Line")
    assert line is not None and line.get("Restock") == "Y" and line.get("Gross") == "18.00"
