"""Items as the ERP masters them, and the field limits an ERP imposes on what it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

# How storefront street lines become the ERP's address lines (`[erp] street_lines`, rules/address.py).
StreetLines = Literal["keep_if_fit", "rejoin"]


@dataclass(frozen=True, slots=True)
class ErpItem:
    """One sellable item in the ERP's item master, keyed by the storefront SKU it matches."""

    sku: str
    erp_item_id: str
    barcode: str | None = None
    pid: str | None = None
    active: bool = True
    name: str = ""
    source_version: str = ""
    # Technical attributes the catalogue flow sends to the storefront (R-CAT-1), when the ERP has them.
    weight: Decimal | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # configured attributes: (attribute code, value)


@dataclass(frozen=True, slots=True)
class FieldLimits:
    """What an ERP's sales order fields can hold. Orders are checked against these before posting."""

    address_line: int = 35
    address_lines: int = 3
    name: int = 60
    city: int = 35
    postcode: int = 10
    phone: int = 20
    email: int = 100
    order_id: int = 30  # an identifier: too long parks the order
    sku: int = 64  # an identifier: too long parks the order
    description: int = 120  # descriptive: trimmed, with a note
    street_lines: StreetLines = "keep_if_fit"
