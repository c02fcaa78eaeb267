"""trueup's records ⇄ Prima's `<Data>` and response elements (the shapes are in docs/connectors/prima.md).

Only `AvailableToSell` becomes `StockLevel.sellable`. Prima's plain `Available` includes internal warehouse
allocations; pushing it would oversell, so this module never reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from trueup.connectors.prima.xml import (
    MalformedResponse,
    attr,
    attr_decimal,
    attr_int,
    latin1_text,
    money,
    number,
    optional_text,
)
from trueup.model.erp import (
    CreditNote,
    Despatch,
    DespatchLine,
    ItemPrice,
    LedgerEntry,
    LedgerKind,
    PriceKind,
    StockLevel,
)
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem
from trueup.model.orders import ErpAddress, ErpSalesOrder

# Assumed tax-mode flags on <Data TaxMode=…>: the storefront's figures are final, or Prima calculates.
SUPPLIED = "Supplied"
CALCULATE = "Calculate"


def timestamp(moment: datetime) -> str:
    """Prima timestamps are local-free ISO 8601 to the second (trueup keeps naive UTC)."""
    return moment.replace(microsecond=0, tzinfo=None).isoformat()


def _address(parent: etree._Element, tag: str, address: ErpAddress, record: str) -> None:
    def text(value: str, field: str) -> str:
        return latin1_text(value, f"{tag}.{field}", record=record, reason=Reason.UNREPRESENTABLE_TEXT)

    element = etree.SubElement(parent, tag)
    element.set("Name", text(address.name, "Name"))
    element.set("Company", text(address.company, "Company"))
    for i, line in enumerate(address.lines, start=1):
        element.set(f"Line{i}", text(line, f"Line{i}"))
    element.set("City", text(address.city, "City"))
    element.set("County", text(address.region, "County"))
    element.set("Postcode", text(address.postcode, "Postcode"))
    element.set("Country", text(address.country, "Country"))
    element.set("Phone", text(address.phone, "Phone"))
    element.set("Email", text(address.email, "Email"))


def fill_sales_order(
    data: etree._Element,
    order: ErpSalesOrder,
    *,
    customer_account: str,
    erp_calculates_tax: bool,
    delivery_rate: Decimal,
) -> None:
    """The NewOrder `<Data>`: header attributes, two address elements and one `<Line>` per ERP line.

    In storefront tax mode every tax and gross figure is sent and Prima keeps them; in erp mode only net
    amounts and rates go, and Prima calculates the tax (trueup has checked its prediction beforehand).
    """
    record = f"order {order.external_id}"

    def code(value: str, field: str) -> str:
        return latin1_text(value, field, record=record)

    def person(value: str, field: str) -> str:
        return latin1_text(value, field, record=record, reason=Reason.UNREPRESENTABLE_TEXT)

    attrs = {
        "Customer": code(customer_account, "Customer"),
        "WebOrderRef": code(order.external_id, "WebOrderRef"),
        "OrderDate": timestamp(order.order_date),
        "Currency": order.currency,
        "CustomerName": person(order.customer_name, "CustomerName"),
        "CustomerEmail": person(order.customer_email, "CustomerEmail"),
        "Carrier": code(order.carrier, "Carrier"),
        "Service": code(order.service, "Service"),
        "PaymentMethod": code(order.payment_method, "PaymentMethod"),
        "PaymentRef": code(order.payment_reference, "PaymentRef"),
        "TaxMode": CALCULATE if erp_calculates_tax else SUPPLIED,
        "ShippingNet": money(order.shipping_net),
        "ShippingTaxRate": number(delivery_rate),
        "DiscountTotal": money(order.discount_total),
    }
    if not erp_calculates_tax:
        attrs |= {
            "ShippingTax": money(order.shipping_tax),
            "TaxTotal": money(order.tax_total),
            "GrandTotal": money(order.grand_total),
        }
    for key, value in attrs.items():
        data.set(key, value)
    _address(data, "InvoiceAddress", order.bill_to, record)
    _address(data, "DeliveryAddress", order.ship_to, record)
    for line in order.lines:
        element = etree.SubElement(data, "Line")
        element.set("LineNo", str(line.line_no))
        element.set("ItemCode", code(line.erp_item_id, f"Line[{line.line_no}].ItemCode"))
        element.set("SKU", code(line.sku, f"Line[{line.line_no}].SKU"))
        element.set("Description", optional_text(line.description))
        element.set("Qty", number(line.qty))
        element.set("UnitPrice", number(line.unit_price))
        element.set("Net", money(line.net))
        element.set("Discount", money(line.discount))
        element.set("TaxRate", number(line.tax_rate))
        if not erp_calculates_tax:
            element.set("Tax", money(line.tax))
            element.set("Gross", money(line.gross))


def fill_credit_note(data: etree._Element, note: CreditNote, erp_order_ref: str) -> None:
    """The NewCreditNote `<Data>`: the storefront's refunded amounts, always as final figures."""
    record = f"credit note {note.external_id}"

    def code(value: str, field: str) -> str:
        return latin1_text(value, field, record=record)

    attrs = {
        "CreditRef": code(note.external_id, "CreditRef"),
        "WebOrderRef": code(note.order_id, "WebOrderRef"),
        "OrderNumber": code(erp_order_ref, "OrderNumber"),
        "CreditDate": timestamp(note.created_at),
        "Currency": note.currency,
        "ShippingNet": money(note.shipping_net),
        "ShippingTax": money(note.shipping_tax),
        "Adjustment": money(note.adjustment),
        "Total": money(note.total),
        "Reason": optional_text(note.reason),
    }
    for key, value in attrs.items():
        data.set(key, value)
    for i, line in enumerate(note.lines, start=1):
        element = etree.SubElement(data, "Line")
        element.set("LineNo", str(i))
        element.set("ItemCode", code(line.erp_item_id, f"Line[{i}].ItemCode"))
        element.set("SKU", code(line.sku, f"Line[{i}].SKU"))
        element.set("Qty", str(line.qty))
        element.set("Net", money(line.net))
        element.set("Tax", money(line.tax))
        element.set("TaxRate", number(line.tax_rate))
        element.set("Gross", money(line.gross))
        element.set("Restock", "Y" if line.restock else "N")


def _datetime(element: etree._Element, name: str) -> datetime:
    raw = attr(element, name)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedResponse(f"<{element.tag} {name}={raw!r}> is not an ISO 8601 timestamp") from None
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment


def _date(element: etree._Element, name: str) -> date:
    raw = attr(element, name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise MalformedResponse(f"<{element.tag} {name}={raw!r}> is not a date") from None


def to_item(element: etree._Element) -> ErpItem:
    return ErpItem(
        sku=attr(element, "SKU"),
        erp_item_id=attr(element, "ItemCode"),
        barcode=element.get("Barcode") or None,
        active=attr(element, "Status", "Active").lower() == "active",
        name=element.get("Description") or "",
        source_version=element.get("LastModified") or "",
    )


def to_stock_level(element: etree._Element, as_of: datetime) -> StockLevel:
    """One `<Stock>` row. `sellable` is `AvailableToSell` or nothing: never `Available`."""
    sellable = element.get("AvailableToSell")
    return StockLevel(
        sku=attr(element, "SKU"),
        erp_item_id=attr(element, "ItemCode"),
        location=attr(element, "Warehouse"),
        on_hand=attr_int(element, "OnHand"),
        allocated=attr_int(element, "Allocated", "0"),
        quarantined=attr_int(element, "Quarantined", "0"),
        on_order=attr_int(element, "OnOrder", "0"),
        sellable=None if sellable is None else attr_int(element, "AvailableToSell"),
        as_of=as_of,
    )


_PRICE_KINDS = {"base": PriceKind.BASE, "special": PriceKind.SPECIAL, "tier": PriceKind.TIER}


def to_price(element: etree._Element) -> ItemPrice:
    kind = attr(element, "PriceType", "Base")
    if kind.lower() not in _PRICE_KINDS:
        raise MalformedResponse(f"<Price PriceType={kind!r}> is not Base, Special or Tier")
    return ItemPrice(
        sku=attr(element, "SKU"),
        currency=attr(element, "Currency"),
        price=attr_decimal(element, "Price"),
        kind=_PRICE_KINDS[kind.lower()],
        customer_group=element.get("CustomerGroup") or None,
        min_qty=attr_int(element, "MinQty", "1"),
    )


# ASSUMED (Prima's despatch enquiry is not public): a despatch carries `OrderStatus`, the sales order's status
# as the despatch left it; these mean nothing more will ship (docs/connectors/prima.md).
CLOSED_STATUSES = frozenset({"complete", "completed", "closed"})


def to_despatch(element: etree._Element) -> Despatch:
    return Despatch(
        despatch_id=attr(element, "DespatchNumber"),
        order_id=attr(element, "WebOrderRef"),
        erp_order_ref=element.get("OrderNumber") or "",
        despatched_at=_datetime(element, "DespatchDate"),
        carrier=attr(element, "Carrier"),
        service=element.get("Service") or "",
        tracking_numbers=tuple(attr(t, "Number") for t in element.iterfind("Tracking")),
        lines=tuple(
            DespatchLine(sku=attr(ln, "SKU"), qty=attr_int(ln, "Qty")) for ln in element.iterfind("Line")
        ),
        closes_order=(element.get("OrderStatus") or "").strip().lower() in CLOSED_STATUSES,
    )


_LEDGER_KINDS = {"invoice": LedgerKind.INVOICE, "creditnote": LedgerKind.CREDIT_NOTE}


def to_ledger_entry(element: etree._Element) -> LedgerEntry:
    kind = attr(element, "Type")
    if kind.lower() not in _LEDGER_KINDS:
        raise MalformedResponse(f"<Document Type={kind!r}> is not Invoice or CreditNote")
    return LedgerEntry(
        kind=_LEDGER_KINDS[kind.lower()],
        document_id=attr(element, "DocumentNumber"),
        order_id=element.get("WebOrderRef") or "",
        posted_on=_date(element, "PostedDate"),
        currency=attr(element, "Currency"),
        net=attr_decimal(element, "Net"),
        tax=attr_decimal(element, "Tax"),
        gross=attr_decimal(element, "Gross"),
    )
