"""The capabilities a connector offers, one Protocol each. Flows ask for capabilities, never for systems.

A connector module implements some of these; the composition root (cli / runtime) wires them into flows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from trueup.model.items import ErpItem, FieldLimits
from trueup.model.orders import ErpSalesOrder, Order


@dataclass(frozen=True, slots=True)
class SourceOrder:
    """One order as observed: parsed, or not parseable (kept raw so nothing is lost)."""

    key: str
    version: str
    order: Order | None
    raw: str = ""
    error: str = ""


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


class CatalogSource(Protocol):
    """The ERP's item master, in pages."""

    name: str

    def items(self) -> AsyncIterator[Sequence[ErpItem]]: ...


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
