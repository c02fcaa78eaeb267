"""Prima as trueup's `ErpConnector`: orders and credit notes in; items, stock, prices, despatches and the
ledger out. Request type names, the tax mode and Prima's tax rule are configuration (`[erp.prima]`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Literal, TypeVar

import aiohttp
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from trueup.connectors.prima.client import PrimaClient, PrimaError
from trueup.connectors.prima.mapping import (
    fill_credit_note,
    fill_sales_order,
    to_despatch,
    to_item,
    to_ledger_entry,
    to_price,
    to_stock_level,
)
from trueup.connectors.prima.tax import RoundingMode, TaxRounding, TaxRule, check_erp_tax, shipping_rate
from trueup.connectors.prima.xml import MalformedResponse, attr
from trueup.connectors.shape import SHAPE_ERRORS
from trueup.errors import Fatal, NotReady
from trueup.model.erp import CreditNote, DespatchPage, ItemPrice, LedgerEntry, StockSnapshot
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import ErpSalesOrder
from trueup.model.stock import SellableFormula
from trueup.model.work import InputRejection

T = TypeVar("T")

# Assumed error codes in `<Error Code=…>` (docs/connectors/prima.md).
DUPLICATE = "DUPLICATE"
UNKNOWN_ORDER = "UNKNOWN_ORDER"
# Codes that say the request itself cannot work, whatever the record: every record would fail alike.
SETUP_ERRORS = frozenset({"UNKNOWN_COMPANY", "COMPANY_REQUIRED", "UNKNOWN_REQUEST_TYPE", "ENCODING"})


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestTypes(_Options):
    """Prima's RequestType names. Only NewOrder is public; the others are assumed defaults."""

    order: str = "NewOrder"
    order_enquiry: str = "OrderEnquiry"
    items: str = "ItemEnquiry"
    stock: str = "StockEnquiry"
    prices: str = "PriceEnquiry"
    despatches: str = "DespatchEnquiry"
    credit_note: str = "NewCreditNote"
    credit_note_enquiry: str = "CreditNoteEnquiry"
    ledger: str = "LedgerEnquiry"


class PrimaOptions(_Options):
    """The `[erp.prima]` table."""

    company_id: str = Field("", description="set: post to comwsomhandler with this Company ID")
    customer_account: str = Field("WEB", min_length=1, description="Prima account web orders book to")
    request_types: RequestTypes = RequestTypes()
    tax_mode: Literal["storefront", "erp"] = "storefront"
    tax_rounding: TaxRounding = TaxRounding.LINE
    tax_rounding_mode: RoundingMode = RoundingMode.HALF_UP
    tax_tolerance: Decimal = Field(Decimal("0.02"), ge=0)
    shipping_tax_rate: Decimal | None = Field(None, ge=0, le=100)
    warehouse: str = Field("", description="StockEnquiry warehouse filter; empty = every warehouse")
    page_size: int = Field(500, ge=1, le=5000)
    lookup_before_post: bool = True

    @property
    def tax_rule(self) -> TaxRule:
        return TaxRule(self.tax_rounding, self.tax_rounding_mode)


class PrimaErp:
    # R-REF-2: a credit note line with Restock="Y" books its units back into Prima's stock itself.
    restock_on_credit_note = True
    # R-STK-1: Prima's AvailableToSell already nets out its allocations; it wins where Prima sends it.
    sellable_formula = SellableFormula(("allocated", "quarantined", "reserved"), use_erp_sellable=True)

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        options: PrimaOptions | None = None,
        *,
        name: str = "prima",
        limits: FieldLimits | None = None,
        concurrency: int = 16,
    ) -> None:
        self.name = name
        self.limits = limits or FieldLimits()
        self.options = options or PrimaOptions()
        self.types = self.options.request_types
        self.client = PrimaClient(
            session,
            base_url,
            company_id=self.options.company_id,
            system=f"ERP {name}",
            concurrency=concurrency,
        )

    def take_rejections(self) -> list[InputRejection]:
        """Every request is answered on the spot; nothing is ever refused out of sight."""
        return []

    async def aclose(self) -> None:
        """Nothing to release: the session belongs to the deployment."""

    # --- reading ----------------------------------------------------------------------------------------

    async def _read(self, request_type: str, **data: str) -> etree._Element:
        """An enquiry whose failure means the flow cannot run (not one record being wrong)."""
        root, element = self.client.envelope(request_type)
        for key, value in data.items():
            element.set(key, value)
        try:
            return await self.client.call(root)
        except PrimaError as exc:
            raise Fatal(f"ERP {self.name}: {exc.args[0]}; check [erp.prima] request_types") from exc

    async def _lookup(self, request_type: str, **data: str) -> etree._Element:
        """An enquiry about one record (an order by its web reference). Prima refusing it for that record's
        data (a `VALIDATION` error: an empty or over-long reference) is about that record only, so it is
        Skippable and parks the record; a refusal of the request itself (company, request type,
        encoding) would refuse every record, so it is Fatal."""
        root, element = self.client.envelope(request_type)
        for key, value in data.items():
            element.set(key, value)
        try:
            return await self.client.call(root)
        except PrimaError as exc:
            if exc.code in SETUP_ERRORS:
                raise Fatal(f"ERP {self.name}: {exc.args[0]}; check [erp.prima] request_types") from exc
            raise

    def _rows(self, response: etree._Element, tag: str, to: Callable[[etree._Element], T]) -> list[T]:
        try:
            return [to(row) for row in response.iterfind(tag)]
        except (MalformedResponse, *SHAPE_ERRORS) as exc:  # a bare KeyError or TypeError too (fuzzing)
            raise Fatal(
                f"ERP {self.name}: {response.get('RequestType')} answer does not have the expected shape "
                f"({exc}); confirm the response layout with the customer's Prima team"
            ) from exc

    async def _pages(self, request_type: str, **data: str) -> AsyncIterator[etree._Element]:
        size = self.options.page_size
        page = 1
        while True:
            response = await self._read(request_type, Page=str(page), PageSize=str(size), **data)
            yield response
            total = int(response.get("TotalRecords") or 0)
            if len(response) == 0 or page * size >= total:
                return
            page += 1

    async def find_sales_order(self, external_id: str) -> str | None:
        response = await self._lookup(self.types.order_enquiry, WebOrderRef=external_id)
        numbers = self._rows(response, "Order", lambda el: attr(el, "OrderNumber"))
        return numbers[0] if numbers else None

    async def find_credit_note(self, external_id: str) -> str | None:
        response = await self._lookup(self.types.credit_note_enquiry, CreditRef=external_id)
        numbers = self._rows(response, "CreditNote", lambda el: attr(el, "CreditNoteNumber"))
        return numbers[0] if numbers else None

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        async for response in self._pages(self.types.items):
            if rows := self._rows(response, "Item", to_item):
                yield rows

    async def stock(self) -> AsyncIterator[StockSnapshot]:
        filters = {"Warehouse": self.options.warehouse} if self.options.warehouse else {}
        async for response in self._pages(self.types.stock, **filters):
            taken_at = _taken_at(response.get("TakenAt"))
            levels = self._rows(response, "Stock", partial(to_stock_level, as_of=taken_at))
            if levels:
                yield StockSnapshot(levels=tuple(levels), taken_at=taken_at)

    async def prices(self) -> AsyncIterator[Sequence[ItemPrice]]:
        async for response in self._pages(self.types.prices):
            if rows := self._rows(response, "Price", to_price):
                yield rows

    async def despatches_since(self, cursor: str | None) -> AsyncIterator[DespatchPage]:
        """Pages after `cursor` (Prima's despatch sequence); always at least one page, so the caller has a
        cursor to store even when nothing new was despatched."""
        size = self.options.page_size
        while True:
            data = {"MaxRecords": str(size)} | ({"Since": cursor} if cursor else {})
            response = await self._read(self.types.despatches, **data)
            despatches = self._rows(response, "Despatch", to_despatch)
            previous, cursor = cursor, response.get("NextCursor") or cursor or ""
            yield DespatchPage(despatches=tuple(despatches), cursor=cursor)
            if len(despatches) < size:
                return
            if cursor == previous:
                # A full page that does not move the cursor would be read again for ever.
                raise Fatal(
                    f"ERP {self.name}: {self.types.despatches} returned a full page without advancing "
                    "NextCursor; confirm the despatch cursor with the customer's Prima team"
                )

    async def ledger(self, start: date, end: date) -> AsyncIterator[Sequence[LedgerEntry]]:
        async for response in self._pages(
            self.types.ledger, FromDate=start.isoformat(), ToDate=end.isoformat()
        ):
            if rows := self._rows(response, "Document", to_ledger_entry):
                yield rows

    # --- writing ----------------------------------------------------------------------------------------

    async def post_sales_order(self, order: ErpSalesOrder) -> str:
        """Idempotent on the storefront order id: looked up first (Prima may not enforce a unique web
        reference), and a DUPLICATE answer links the order Prima already has."""
        if self.options.lookup_before_post and (found := await self.find_sales_order(order.external_id)):
            return found
        erp_calculates = self.options.tax_mode == "erp"
        delivery_rate = shipping_rate(order, self.options.shipping_tax_rate)
        if erp_calculates:
            check_erp_tax(order, self.options.tax_rule, delivery_rate, self.options.tax_tolerance)
        root, data = self.client.envelope(self.types.order)
        fill_sales_order(
            data,
            order,
            customer_account=self.options.customer_account,
            erp_calculates_tax=erp_calculates,
            delivery_rate=delivery_rate,
        )
        try:
            response = await self.client.call(root)
        except PrimaError as exc:
            if exc.code == DUPLICATE and exc.extra.get("ExistingNumber"):
                return exc.extra["ExistingNumber"]
            if exc.code in SETUP_ERRORS:
                raise Fatal(f"ERP {self.name}: {exc.args[0]}; check [erp.prima]") from exc
            raise
        return self._number(response, "Order", "OrderNumber")

    async def post_credit_note(self, note: CreditNote) -> str:
        """Idempotent on the storefront refund id (CreditRef), like orders. A credit note for an order Prima
        does not have yet waits (NotReady): it is posted only after its order exists (R-REF-1)."""
        if found := await self.find_credit_note(note.external_id):
            return found
        root, data = self.client.envelope(self.types.credit_note)
        fill_credit_note(data, note, note.erp_order_ref)
        try:
            response = await self.client.call(root)
        except PrimaError as exc:
            if exc.code == DUPLICATE and exc.extra.get("ExistingNumber"):
                return exc.extra["ExistingNumber"]
            if exc.code == UNKNOWN_ORDER:
                raise NotReady(
                    f"credit note {note.external_id}: order {note.order_id} is not in Prima yet"
                ) from exc
            if exc.code in SETUP_ERRORS:
                raise Fatal(f"ERP {self.name}: {exc.args[0]}; check [erp.prima]") from exc
            raise
        return self._number(response, "CreditNote", "CreditNoteNumber")

    def _number(self, response: etree._Element, tag: str, name: str) -> str:
        numbers = self._rows(response, tag, lambda el: attr(el, name))
        if not numbers:
            raise Fatal(
                f"ERP {self.name}: {response.get('RequestType')} answered OK without <{tag} {name}>; "
                "confirm the response layout with the customer's Prima team"
            )
        return numbers[0]


def _taken_at(raw: str | None) -> datetime:
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return datetime.now(UTC).replace(tzinfo=None)
