"""The capabilities a connector offers, one Protocol each. Flows ask for capabilities, never for systems.

A connector module implements some of these; the composition root (cli / runtime) wires them into flows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from trueup.model.catalog import ItemReport, ItemRow
from trueup.model.checks import LedgerView, SweepWrite
from trueup.model.erp import (
    CreditNote,
    DespatchPage,
    ItemPrice,
    LedgerEntry,
    StockAdjustment,
    StockSnapshot,
)
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import ErpSalesOrder, Order, PaymentState
from trueup.model.prices import PriceReport, PriceRow
from trueup.model.queue import OrderOverrides
from trueup.model.refunds import CancellationPage, CreditMemoPage
from trueup.model.shadow import PostedOrder
from trueup.model.shipments import ShipmentItem, ShipmentRequest, ShippableOrder, Track
from trueup.model.stock import PushReport, SourceQty
from trueup.model.work import InputRejection

ENTITY_MARK = "#e"


def storefront_version(ledger_version: str) -> str:
    """The source's own version in a ledger version (what comes before `#e` and the record's id)."""
    return ledger_version.partition(ENTITY_MARK)[0]


@dataclass(frozen=True, slots=True)
class SourceOrder:
    """One order as observed: parsed, or not parseable (kept raw so nothing is lost)."""

    key: str
    version: str
    order: Order | None
    raw: str = ""
    error: str = ""
    entity: str = ""  # the source's own id for the record (Magento's entity id): tells a reused key apart
    # `order` as JSON that reads back as the same Order, when the connector has it at hand (cheaper than
    # `model_dump_json`); empty: the flow dumps the order itself
    canonical: str = ""

    @property
    def ledger_version(self) -> str:
        """The version the ledger keeps: the source version, and after `#e` which record it is, so that
        the ledger can tell the same order updated from another order under the same number."""
        return f"{self.version}{ENTITY_MARK}{self.entity}" if self.entity else self.version


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: Sequence[SourceOrder]
    high_water: str  # the newest `updated_at` on the page, as the source writes it


class OrderSource(Protocol):
    """Storefront orders, as pages of everything updated in a window."""

    name: str

    def orders_updated(self, since: datetime, until: datetime) -> AsyncIterator[OrderPage]: ...


class OrderSink(Protocol):
    """ERP sales orders. `post_sales_order` is idempotent on `ErpSalesOrder.external_id`."""

    name: str
    limits: FieldLimits

    async def post_sales_order(self, order: ErpSalesOrder) -> str: ...

    async def find_sales_order(self, external_id: str) -> str | None: ...


class AckState(StrEnum):
    ACCEPTED = "accepted"  # the ERP took the record: it is posted
    REFUSED = "refused"  # the ERP's batch refused it, with its own error text
    PENDING = "pending"  # not answered yet


@dataclass(frozen=True, slots=True)
class Ack:
    """What a batch ERP has made of a record trueup handed it. `ref` is the ERP-side reference (the file
    name); `text` is the ERP's error text when refused, or a note on why it is still pending."""

    state: AckState
    ref: str
    text: str = ""


@runtime_checkable
class Acknowledgements(Protocol):
    """An ERP that takes records in batches (files), so a post only hands a record over: whether the ERP
    took it is asked afterwards. ERPs that answer on the spot (REST, Stokly, Prima) do not offer this."""

    async def sales_order_ack(self, external_id: str) -> Ack: ...

    async def credit_note_ack(self, external_id: str) -> Ack: ...


class CatalogSource(Protocol):
    """The ERP's item master, in pages."""

    name: str

    def items(self) -> AsyncIterator[Sequence[ErpItem]]: ...


class StockSource(Protocol):
    """The ERP's stock, as snapshots with the time they were taken."""

    name: str

    def stock(self) -> AsyncIterator[StockSnapshot]: ...


class StockSink(Protocol):
    """Storefront stock: set the source quantity of each SKU × source in a batch (absolute figures, so a
    batch pushed twice leaves the same state). Raises Skippable when the storefront refuses the batch."""

    name: str

    async def push_stock_batch(self, rows: Sequence[SourceQty]) -> PushReport: ...


class PriceSink(Protocol):
    """Storefront prices: set each (SKU, kind, customer group, quantity) price in a batch. Rows it refuses
    come back in the report; every other row was saved."""

    name: str

    async def push_price_batch(self, rows: Sequence[PriceRow]) -> PriceReport: ...


class CatalogSink(Protocol):
    """Storefront products: create or update each product's technical attributes in a batch (the rows say
    everything trueup sends; anything else the storefront holds is left as it is). Products it refuses come
    back in the report; every other row was saved."""

    name: str

    async def push_item_batch(self, rows: Sequence[ItemRow]) -> ItemReport: ...


class StorefrontPrices(Protocol):
    """What the storefront shows as each SKU's prices (for drift)."""

    name: str

    async def base_prices(self, skus: Sequence[str]) -> Mapping[str, Decimal]: ...

    async def shown_prices(self, skus: Sequence[str]) -> Mapping[tuple[str, str, str, int], Decimal]:
        """Base, special and tier prices of `skus`, keyed (sku, kind, customer group, min quantity)."""
        ...


class StorefrontStock(Protocol):
    """What the storefront shows per SKU × source, read by key (for drift)."""

    name: str

    def source_items(self) -> AsyncIterator[Sequence[SourceQty]]: ...


@runtime_checkable
class StockAdjustmentSink(Protocol):
    """Book stock deltas in the ERP (restocked returns). Idempotent on each adjustment's `reference`."""

    name: str

    async def adjust_stock(self, adjustments: Sequence[StockAdjustment]) -> None: ...


class PriceSource(Protocol):
    """The ERP's master price list."""

    name: str

    def prices(self) -> AsyncIterator[Sequence[ItemPrice]]: ...


class DespatchSource(Protocol):
    """Despatches the ERP made since a cursor (None: from the beginning)."""

    name: str

    def despatches_since(self, cursor: str | None) -> AsyncIterator[DespatchPage]: ...


class CreditNoteSink(Protocol):
    """ERP credit notes. `post_credit_note` is idempotent on `CreditNote.external_id`."""

    name: str

    async def post_credit_note(self, note: CreditNote) -> str: ...

    async def find_credit_note(self, external_id: str) -> str | None: ...


class LedgerSource(Protocol):
    """The ERP's posted sales invoices and credit notes for a period (inclusive dates)."""

    name: str

    def ledger(self, start: date, end: date) -> AsyncIterator[Sequence[LedgerEntry]]: ...


@dataclass(frozen=True, slots=True)
class OrderHeader:
    """One storefront order as the cheap index lists it: enough to tell whether it should have posted and
    what is at risk, not enough to post it."""

    key: str  # the increment id: the ledger's key
    entity_id: int
    state: str
    status: str
    payment: PaymentState  # derived by the connector exactly as for a full order
    grand_total: Decimal
    currency: str
    created_at: datetime
    updated_at: datetime
    version: str  # updated_at as the source writes it: the ledger row's source_version


class OrderIndexSource(Protocol):
    """The storefront's orders as cheap headers, by key, and one full order on demand."""

    name: str

    def order_index(self, since: datetime) -> AsyncIterator[Sequence[OrderHeader]]:
        """Pages of every order updated at or after `since`, in entity id order."""
        ...

    async def fetch_order(self, entity_id: int) -> SourceOrder | None:
        """One order in full, as observation reads it; None if the storefront no longer has it."""
        ...


class SweepLedger(Protocol):
    """What the checks read from and write to trueup's ledger, in bulk (one call per page)."""

    async def order_views(self, keys: Sequence[str]) -> Mapping[str, LedgerView]: ...

    async def observed_until(self) -> datetime | None:
        """How far order observation has read (its cursor); None before its first pass."""
        ...

    async def write_sweep(self, write: SweepWrite) -> None: ...


class RejectionSource(Protocol):
    def take_rejections(self) -> list[InputRejection]:
        """What the connector refused since the last call (each reported once)."""
        ...


class ExceptionQueue(Protocol):
    async def park_rejections(self, rejections: Sequence[InputRejection]) -> int: ...


class DriftFindings(Protocol):
    """A drift check's findings: the complete set seen now for one reason. Each is an open exception; one no
    longer seen is cleared by the engine, and one seen again after it cleared is reopened."""

    async def report(self, reason: Reason, findings: Sequence[InputRejection]) -> tuple[int, int]:
        """Returns (opened or reopened, cleared)."""
        ...


class ErpConnector(
    OrderSink,
    CatalogSource,
    StockSource,
    PriceSource,
    DespatchSource,
    CreditNoteSink,
    LedgerSource,
    RejectionSource,
    Protocol,
):
    """Everything an ERP connector offers; every ERP connector passes tests/contract/ against its sandbox."""

    async def aclose(self) -> None: ...


class ItemMap(Protocol):
    """trueup's own SKU ⇄ ERP item map (kept by the store)."""

    async def items_for(self, skus: Iterable[str]) -> Mapping[str, ErpItem]: ...

    async def save_items(self, items: Sequence[ErpItem]) -> int:
        """Store items; returns how many were new or changed."""
        ...

    async def replan_parked(self, reasons: Sequence[str], why: str) -> int:
        """Send work parked for these reasons back to be planned again."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class ShipmentSink(Protocol):
    """Storefront shipments. Creating one is not idempotent in Magento: the fulfilment flow reads the order's
    shipments first and links one that already covers a despatch."""

    name: str

    async def shippable_order(self, order_id: str) -> ShippableOrder | None: ...

    async def create_shipment(self, request: ShipmentRequest) -> str: ...

    async def add_track(self, entity_id: str, shipment_id: str, track: Track) -> None: ...


class FulfilmentLedger(Protocol):
    """What the fulfilment flow asks of trueup's own records (the links table)."""

    async def posted_orders(self, order_ids: Iterable[str]) -> Mapping[str, str]:
        """Storefront order id → ERP order ref, for those of `order_ids` linked (posted) already."""
        ...

    async def linked_shipments(self, shipment_ids: Iterable[str]) -> Mapping[str, str]:
        """Storefront shipment id → the despatch key it is linked to, for those already linked."""
        ...

    async def wake_waiting(self) -> int:
        """Make despatches that wait for their order due now where the order has been posted since."""
        ...


class QueueOverrides(Protocol):
    """What people added from the exception queue: mappings (merged under `[mappings.*]`, the config wins)
    and the variances accepted per order (`accept_and_post`). Read once per batch."""

    async def for_orders(self, keys: Sequence[str]) -> OrderOverrides: ...


class CreditMemoSource(Protocol):
    """Storefront credit memos after a key cursor (None: from the beginning), in pages with their cursor."""

    name: str

    def credit_memos_since(self, cursor: str | None) -> AsyncIterator[CreditMemoPage]: ...


class RefundLedger(Protocol):
    """What the refund flow asks of trueup's own records (the links table)."""

    async def posted_orders(self, order_ids: Iterable[str]) -> Mapping[str, str]:
        """Storefront order id -> ERP order ref, for those of `order_ids` linked (posted) already."""
        ...

    async def wake_waiting(self) -> int:
        """Make refunds that wait for their order due now where the order has been posted since."""
        ...


class Invoicer(Protocol):
    """Storefront invoices on despatch (R-FIN-4): invoice and capture what an order has shipped and not yet
    invoiced. Level-triggered, so a retry invoices nothing twice; None when nothing was left."""

    name: str

    async def invoice_shipped(self, order_id: str) -> str | None: ...


class CancellationSource(Protocol):
    """Orders cancelled in the storefront after a key cursor, in pages with their cursor."""

    name: str

    def cancellations_since(self, cursor: str | None) -> AsyncIterator[CancellationPage]: ...


@runtime_checkable
class OrderCanceller(Protocol):
    """An ERP that can cancel a sales order it holds (optional: a connector offers it only where the ERP
    can). Idempotent: cancelling a cancelled order is no error. Raises Skippable when the ERP refuses (the
    order is despatched already)."""

    async def cancel_sales_order(self, external_id: str, erp_ref: str) -> None: ...


class PostedOrders(Protocol):
    """What an ERP holds for a storefront order, read back by its key (shadow mode: what the incumbent
    integration posted)."""

    async def posted_order(self, external_id: str) -> PostedOrder | None: ...


@runtime_checkable
class OfflineRefunder(Protocol):
    """Storefront offline credit memos for units the ERP short-shipped. Not idempotent in Magento: the memo's
    comment carries `marker`, and `find_refund` looks for it before `refund_offline` is called again."""

    name: str

    async def find_refund(self, entity_id: str, marker: str) -> str | None: ...

    async def refund_offline(
        self, entity_id: str, items: Sequence[ShipmentItem], comment: str, *, notify: bool
    ) -> str: ...
