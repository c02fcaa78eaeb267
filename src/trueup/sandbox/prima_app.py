"""The Prima emulator's wire side: `<Request RequestType=…><Data …/></Request>` envelopes in ISO-8859-1,
POSTed to `/wsomhandler` or `/comwsomhandler` (with `CompanyID` on the Request), answered with
`<Response RequestType=… Status="OK|Error">` (the documented-assumed shapes in docs/connectors/prima.md).

It enforces what trueup assumes Prima enforces: the declared encoding, the company, known and active items,
required fields and field lengths, money to two decimals, totals that add up, a unique WebOrderRef and
CreditRef (when `enforce_unique`), and a credit note only for an order it has.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trueup.sandbox.faults import Faults, FaultsMiddleware, fault_routes
from trueup.sandbox.prima import CENT, DEFAULT_WAREHOUSE, ZERO, OrderLine, PrimaState, SalesOrder, now

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
_LIMITS = {"Name": 60, "Company": 60, "City": 35, "County": 35, "Postcode": 10, "Phone": 20, "Email": 100}
_LINE_WIDTH, _MAX_LINES = 35, 3
_TOLERANCE = Decimal("0.01")


class Refusal(Exception):
    """An application error: answered as `<Response Status="Error"><Error Code Field …>message</Error>`."""

    def __init__(self, code: str, message: str, field: str = "", **extra: str) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.extra = code, message, field, extra


Rows = list[etree._Element]
Handler = Callable[[PrimaState, etree._Element], tuple[Rows, dict[str, str]]]


# --- reading the request --------------------------------------------------------------------------------


def _text(data: etree._Element, name: str, *, required: bool = False, limit: int = 0, where: str = "") -> str:
    value = data.get(name, "")
    path = f"{where}{name}"
    if required and not value.strip():
        raise Refusal("VALIDATION", f"{path} is required", path)
    if limit and len(value) > limit:
        raise Refusal("VALIDATION", f"{path} is {len(value)} characters long; the limit is {limit}", path)
    return value


def _money(data: etree._Element, name: str, *, where: str = "", default: str | None = None) -> Decimal:
    raw = data.get(name, default)
    path = f"{where}{name}"
    if raw is None:
        raise Refusal("VALIDATION", f"{path} is required", path)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Refusal("VALIDATION", f"{path} {raw!r} is not a number", path) from None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or (isinstance(exponent, int) and exponent < -2):
        raise Refusal("VALIDATION", f"{path} {raw!r} is not an amount with at most 2 decimals", path)
    return value


def _decimal(data: etree._Element, name: str, *, where: str = "") -> Decimal:
    raw = data.get(name, "0")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Refusal("VALIDATION", f"{where}{name} {raw!r} is not a number", f"{where}{name}") from None
    if not value.is_finite():
        raise Refusal("VALIDATION", f"{where}{name} {raw!r} is not a number", f"{where}{name}")
    return value


def _whole(data: etree._Element, name: str, *, where: str = "", positive: bool = True) -> int:
    value = _decimal(data, name, where=where)
    if value != value.to_integral_value() or (positive and value <= 0):
        raise Refusal("VALIDATION", f"{where}{name} {value} is not a positive whole number", f"{where}{name}")
    return int(value)


def _address(data: etree._Element, tag: str) -> None:
    address = data.find(tag)
    if address is None:
        raise Refusal("VALIDATION", f"<{tag}> is required", tag)
    where = f"{tag}."
    for name, limit in _LIMITS.items():
        _text(address, name, required=name == "Name", limit=limit, where=where)
    _text(address, "Line1", required=True, limit=_LINE_WIDTH, where=where)
    for i in range(2, _MAX_LINES + 1):
        _text(address, f"Line{i}", limit=_LINE_WIDTH, where=where)
    if address.get(f"Line{_MAX_LINES + 1}") is not None:
        raise Refusal("VALIDATION", f"{tag} has more than {_MAX_LINES} lines", f"{where}Line{_MAX_LINES + 1}")
    _text(address, "City", required=True, where=where)
    country = _text(address, "Country", required=True, where=where)
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise Refusal(
            "VALIDATION", f"{where}Country {country!r} is not an ISO country code", f"{where}Country"
        )


def _item(state: PrimaState, line: etree._Element, where: str) -> dict[str, Any]:
    code = _text(line, "ItemCode", required=True, where=where)
    item = state.items.get(code)
    if item is None:
        raise Refusal("VALIDATION", f"unknown item {code!r}", f"{where}ItemCode")
    if item["Status"] != "Active":
        raise Refusal("VALIDATION", f"item {code!r} is not active", f"{where}ItemCode")
    return item


def _currency(state: PrimaState, data: etree._Element) -> str:
    currency = _text(data, "Currency", required=True)
    if currency not in state.currencies:
        raise Refusal("VALIDATION", f"currency {currency!r} is not set up in this company", "Currency")
    return currency


# --- request types --------------------------------------------------------------------------------------


def _row(tag: str, **attrs: object) -> etree._Element:
    element = etree.Element(tag)
    for key, value in attrs.items():
        element.set(key, value.isoformat() if isinstance(value, date) else str(value))
    return element


def _order_row(order: SalesOrder) -> etree._Element:
    return _row(
        "Order",
        OrderNumber=order.number,
        WebOrderRef=order.web_ref,
        Status="Open",
        TaxTotal=order.tax_total,
        GrandTotal=order.grand_total,
    )


def new_order(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    web_ref = _text(data, "WebOrderRef", required=True, limit=30)
    existing = state.orders_by_ref.get(web_ref)
    if existing and state.enforce_unique:
        raise Refusal(
            "DUPLICATE", f"web order {web_ref} is already order {existing[0]}", ExistingNumber=existing[0]
        )
    _text(data, "Customer", required=True)
    currency = _currency(state, data)
    _text(data, "CustomerName", limit=60)
    _text(data, "CustomerEmail", limit=100)
    _address(data, "InvoiceAddress")
    _address(data, "DeliveryAddress")
    tax_mode = _text(data, "TaxMode", required=True)
    if tax_mode not in ("Supplied", "Calculate"):
        raise Refusal("VALIDATION", f"TaxMode {tax_mode!r} is not Supplied or Calculate", "TaxMode")
    supplied = tax_mode == "Supplied"
    lines: list[OrderLine] = []
    for i, line in enumerate(data.iterfind("Line"), start=1):
        where = f"Line[{i}]."
        item = _item(state, line, where)
        net = _money(line, "Net", where=where) - _money(line, "Discount", where=where, default="0")
        rate = _decimal(line, "TaxRate", where=where)
        tax = _money(line, "Tax", where=where) if supplied else state.round_tax(net * rate / 100)
        if supplied and abs(net + tax - _money(line, "Gross", where=where)) > _TOLERANCE:
            raise Refusal("VALIDATION", f"{where}Gross is not Net - Discount + Tax", f"{where}Gross")
        lines.append(
            OrderLine(i, item["ItemCode"], item["SKU"], _whole(line, "Qty", where=where), net, tax, rate)
        )
    if not lines:
        raise Refusal("VALIDATION", "an order needs at least one <Line>", "Line")
    shipping_net = _money(data, "ShippingNet", default="0")
    shipping_rate = _decimal(data, "ShippingTaxRate")
    if supplied:
        shipping_tax = _money(data, "ShippingTax", default="0")
        tax_total, grand_total = _money(data, "TaxTotal"), _money(data, "GrandTotal")
        if abs(sum((ln.tax for ln in lines), shipping_tax) - tax_total) > _TOLERANCE:
            raise Refusal("VALIDATION", "TaxTotal is not the lines' and shipping's tax", "TaxTotal")
        goods = sum((ln.gross for ln in lines), ZERO)
        if abs(goods + shipping_net + shipping_tax - grand_total) > _TOLERANCE:
            raise Refusal("VALIDATION", "GrandTotal is not the lines' and shipping's gross", "GrandTotal")
    else:
        taxed = [(ln.net, ln.rate) for ln in lines] + (
            [(shipping_net, shipping_rate)] if shipping_net else []
        )
        tax_total = state.calculate_tax(taxed)
        shipping_tax = state.round_tax(shipping_net * shipping_rate / 100)
        grand_total = sum((ln.net for ln in lines), shipping_net) + tax_total
    number = state.next_number("SO")
    order = SalesOrder(
        number, web_ref, currency, lines, shipping_net, shipping_tax, tax_total, grand_total, tax_mode,
        {str(k): str(v) for k, v in data.attrib.items()},
    )  # fmt: skip
    state.orders[number] = order
    state.orders_by_ref.setdefault(web_ref, []).append(number)
    return [_order_row(order)], {}


def order_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    web_ref = _text(data, "WebOrderRef", required=True)
    return [_order_row(state.orders[n]) for n in state.orders_by_ref.get(web_ref, [])], {}


def new_credit_note(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    ref = _text(data, "CreditRef", required=True, limit=30)
    existing = state.credit_notes_by_ref.get(ref)
    if existing and state.enforce_unique:
        raise Refusal("DUPLICATE", f"credit {ref} is already {existing[0]}", ExistingNumber=existing[0])
    web_ref = _text(data, "WebOrderRef", required=True)
    if web_ref not in state.orders_by_ref:
        raise Refusal("UNKNOWN_ORDER", f"no sales order for web order {web_ref}", "WebOrderRef")
    currency = _currency(state, data)
    net = _money(data, "ShippingNet", default="0") + _money(data, "Adjustment", default="0")
    tax = _money(data, "ShippingTax", default="0")
    restock: list[tuple[str, int]] = []
    for i, line in enumerate(data.iterfind("Line"), start=1):
        where = f"Line[{i}]."
        item = _item(state, line, where)
        qty = _whole(line, "Qty", where=where)
        line_net, line_tax = _money(line, "Net", where=where), _money(line, "Tax", where=where)
        if abs(line_net + line_tax - _money(line, "Gross", where=where)) > _TOLERANCE:
            raise Refusal("VALIDATION", f"{where}Gross is not Net + Tax", f"{where}Gross")
        net, tax = net + line_net, tax + line_tax
        if line.get("Restock") == "Y":
            restock.append((item["SKU"], qty))
    total = _money(data, "Total")
    if abs(net + tax - total) > _TOLERANCE:
        raise Refusal(
            "VALIDATION", f"Total {total} is not the lines, shipping and adjustment ({net + tax})", "Total"
        )
    number = state.next_number("CN")
    state.credit_notes[number] = {"CreditNoteNumber": number, "CreditRef": ref, "WebOrderRef": web_ref}
    state.credit_notes_by_ref.setdefault(ref, []).append(number)
    for sku, qty in restock:
        level = state.stock.setdefault(
            (sku, DEFAULT_WAREHOUSE), {"OnHand": 0, "Allocated": 0, "Quarantined": 0}
        )
        level["OnHand"] += qty
    state.post_document("CreditNote", number, web_ref, currency, net, tax)
    return [_row("CreditNote", CreditNoteNumber=number, CreditRef=ref)], {}


def credit_note_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    ref = _text(data, "CreditRef", required=True)
    return [_row("CreditNote", **state.credit_notes[n]) for n in state.credit_notes_by_ref.get(ref, [])], {}


def _paged(data: etree._Element, rows: Rows) -> tuple[Rows, dict[str, str]]:
    page = _whole(data, "Page") if data.get("Page") else 1
    size = _whole(data, "PageSize") if data.get("PageSize") else 100
    if size > 5000:
        raise Refusal("VALIDATION", "PageSize is at most 5000", "PageSize")
    start = (page - 1) * size
    return rows[start : start + size], {
        "Page": str(page),
        "PageSize": str(size),
        "TotalRecords": str(len(rows)),
    }


def item_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    return _paged(data, [_row("Item", **item) for _, item in sorted(state.items.items())])


def stock_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    warehouse = data.get("Warehouse", "")
    rows = []
    for (sku, where), level in sorted(state.stock.items()):
        if warehouse and where != warehouse:
            continue
        on_hand, allocated, quarantined = level["OnHand"], level["Allocated"], level["Quarantined"]
        item = state.item_by_sku(sku)
        rows.append(
            _row(
                "Stock",
                ItemCode=item["ItemCode"],
                SKU=sku,
                Warehouse=where,
                OnHand=on_hand,
                Allocated=allocated,
                Quarantined=quarantined,
                OnOrder=0,
                # Prima's two figures: "Available" still includes internal allocations.
                Available=on_hand - quarantined,
                AvailableToSell=on_hand - quarantined - allocated,
            )
        )
    page, attrs = _paged(data, rows)
    return page, attrs | {"TakenAt": now().isoformat()}


def price_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    rows = [
        _row(
            "Price",
            ItemCode=state.item_by_sku(sku)["ItemCode"],
            SKU=sku,
            Currency=currency,
            PriceType="Base",
            Price=f"{price.quantize(CENT)}",
            MinQty=1,
        )
        for (sku, currency), price in sorted(state.prices.items())
    ]
    return _paged(data, rows)


def despatch_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    since = _whole(data, "Since", positive=False) if data.get("Since") else 0
    limit = _whole(data, "MaxRecords") if data.get("MaxRecords") else 100
    found = [d for d in state.despatches if d["Sequence"] > since][:limit]
    rows = []
    for despatch in found:
        row = _row(
            "Despatch",
            **{k: v for k, v in despatch.items() if k not in ("Tracking", "Lines", "Sequence")},
        )
        for number in despatch["Tracking"]:
            row.append(_row("Tracking", Number=number))
        for code, sku, qty in despatch["Lines"]:
            row.append(_row("Line", ItemCode=code, SKU=sku, Qty=qty))
        rows.append(row)
    cursor = found[-1]["Sequence"] if found else since
    return rows, {"NextCursor": str(cursor)}


def ledger_enquiry(state: PrimaState, data: etree._Element) -> tuple[Rows, dict[str, str]]:
    try:
        start = date.fromisoformat(_text(data, "FromDate", required=True))
        end = date.fromisoformat(_text(data, "ToDate", required=True))
    except ValueError:
        raise Refusal("VALIDATION", "FromDate and ToDate must be YYYY-MM-DD", "FromDate") from None
    docs = [d for d in state.documents if start <= d["PostedDate"] <= end]
    return _paged(data, [_row("Document", **doc) for doc in docs])


HANDLERS: dict[str, Handler] = {
    "order": new_order,
    "order_enquiry": order_enquiry,
    "items": item_enquiry,
    "stock": stock_enquiry,
    "prices": price_enquiry,
    "despatches": despatch_enquiry,
    "credit_note": new_credit_note,
    "credit_note_enquiry": credit_note_enquiry,
    "ledger": ledger_enquiry,
}


# --- HTTP -----------------------------------------------------------------------------------------------


def _response(request_type: str, status: str, rows: Rows, attrs: dict[str, str]) -> bytes:
    root = etree.Element("Response", RequestType=request_type, Status=status)
    for key, value in attrs.items():
        root.set(key, value)
    root.extend(rows)
    body = etree.tostring(root, encoding="ISO-8859-1", xml_declaration=False)
    assert isinstance(body, bytes)
    return b'<?xml version="1.0" encoding="ISO-8859-1"?>' + body


def _error(request_type: str, refusal: Refusal) -> bytes:
    error = _row(
        "Error", Code=refusal.code, **({"Field": refusal.field} if refusal.field else {}), **refusal.extra
    )
    error.text = refusal.message
    return _response(request_type, "Error", [error], {})


def answer(state: PrimaState, raw: bytes, *, via_company_handler: bool) -> bytes:
    """The handler's reply to one posted envelope (always HTTP 200; errors are in the envelope)."""
    request_type = ""
    try:
        try:
            root = etree.fromstring(raw, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise Refusal("BAD_REQUEST", f"the request is not well-formed XML: {exc}") from None
        encoding = (root.getroottree().docinfo.encoding or "").upper()
        if encoding not in ("ISO-8859-1", "ISO8859-1", "LATIN-1"):
            raise Refusal("ENCODING", f"requests must be declared ISO-8859-1, not {encoding or 'undeclared'}")
        request_type = root.get("RequestType", "")
        data = root.find("Data")
        if root.tag != "Request" or data is None:
            raise Refusal("BAD_REQUEST", "expected <Request RequestType=…><Data …/></Request>")
        company = root.get("CompanyID", "")
        if via_company_handler and company != state.company_id:
            raise Refusal("UNKNOWN_COMPANY", f"Company ID {company!r} is not set up", "CompanyID")
        if not via_company_handler and state.company_id:
            raise Refusal(
                "COMPANY_REQUIRED", "this instance is multi-company: use comwsomhandler with a Company ID"
            )
        kinds = {name: kind for kind, name in state.request_types.items()}
        if request_type not in kinds:
            raise Refusal(
                "UNKNOWN_REQUEST_TYPE", f"RequestType {request_type!r} is not supported", "RequestType"
            )
        with state.lock:
            rows, attrs = HANDLERS[kinds[request_type]](state, data)
    except Refusal as refusal:
        return _error(request_type, refusal)
    return _response(request_type, "OK", rows, attrs)


def create_app(state: PrimaState, *, faults: Faults | None = None) -> Starlette:
    faults = faults if faults is not None else Faults()

    def handler(via_company: bool) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            body = answer(state, await request.body(), via_company_handler=via_company)
            return Response(body, media_type="text/xml; charset=ISO-8859-1")

        return endpoint

    routes = [
        Route("/wsomhandler", handler(False), methods=["POST"]),
        Route("/comwsomhandler", handler(True), methods=["POST"]),
        *fault_routes(faults),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultsMiddleware, faults=faults)])
    app.state.prima = state
    return app
