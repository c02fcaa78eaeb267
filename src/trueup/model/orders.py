"""The canonical sales order: what the storefront sold, in the storefront's own terms.

Lines keep their parent/child shape (configurable and bundle products), because which of them carry the
money and which carry the SKU differs by product type; the ERP mapping decides what becomes an ERP line.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict

from trueup.model.money import ZERO


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PaymentState(StrEnum):
    CAPTURED = "captured"
    AUTHORISED = "authorised"
    PENDING = "pending"
    CANCELLED = "cancelled"


class ProductType(StrEnum):
    SIMPLE = "simple"
    CONFIGURABLE = "configurable"
    BUNDLE = "bundle"
    VIRTUAL = "virtual"
    OTHER = "other"


class Address(Record):
    first_name: str
    last_name: str
    company: str = ""
    street: tuple[str, ...]
    city: str
    region: str = ""
    postcode: str
    country: str
    phone: str = ""
    email: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Customer(Record):
    email: str
    first_name: str = ""
    last_name: str = ""
    storefront_id: str | None = None
    is_guest: bool = False
    group: str = ""


class OrderLine(Record):
    """One storefront order line. Amounts are row totals for the whole quantity, in order currency."""

    line_id: str
    parent_line_id: str | None = None
    sku: str
    name: str = ""
    product_type: ProductType = ProductType.SIMPLE
    qty: Decimal
    unit_price: Decimal = ZERO
    unit_price_incl_tax: Decimal = ZERO
    row_total: Decimal = ZERO
    row_total_incl_tax: Decimal = ZERO
    discount: Decimal = ZERO
    discount_tax_compensation: Decimal = ZERO
    tax: Decimal = ZERO
    tax_rate: Decimal = ZERO

    @property
    def taxable(self) -> Decimal:
        """Net amount the tax was charged on: the discount, less any tax hidden inside it."""
        return self.row_total - self.discount + self.discount_tax_compensation

    @property
    def charged(self) -> Decimal:
        """What the customer paid for this line, tax included."""
        return self.taxable + self.tax


class Shipping(Record):
    method: str
    description: str = ""
    amount: Decimal = ZERO
    tax: Decimal = ZERO
    discount: Decimal = ZERO
    amount_incl_tax: Decimal = ZERO


class Payment(Record):
    method: str
    state: PaymentState
    amount_paid: Decimal = ZERO
    reference: str = ""


class Order(Record):
    """A storefront order. `order_id` is the storefront's persistent key (Magento: increment_id)."""

    order_id: str
    storefront_entity_id: str
    storefront: str
    status: str
    currency: str
    created_at: datetime
    updated_at: datetime
    customer: Customer
    billing_address: Address
    shipping_address: Address | None
    lines: tuple[OrderLine, ...]
    shipping: Shipping
    payment: Payment
    subtotal: Decimal
    discount_total: Decimal = ZERO
    tax_total: Decimal
    grand_total: Decimal
    prices_include_tax: bool = False

    @cached_property
    def _children(self) -> dict[str, tuple[OrderLine, ...]]:
        children: dict[str, list[OrderLine]] = {}
        for line in self.lines:
            if line.parent_line_id is not None:
                children.setdefault(line.parent_line_id, []).append(line)
        return {parent: tuple(lines) for parent, lines in children.items()}

    @cached_property
    def money_lines(self) -> tuple[OrderLine, ...]:
        """The lines whose amounts add up to the order's totals.

        Those are the lines without a parent, except a dynamic-price bundle: its parent carries no money
        and its children carry their own, so the children count instead.
        """
        lines: list[OrderLine] = []
        for line in self.lines:
            if line.parent_line_id is not None:
                continue
            children = self.children_of(line.line_id)
            if line.product_type == ProductType.BUNDLE and any(c.row_total for c in children):
                lines.extend(children)
            else:
                lines.append(line)
        return tuple(lines)

    def children_of(self, line_id: str) -> tuple[OrderLine, ...]:
        return self._children.get(line_id, ())

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {line.line_id: i for i, line in enumerate(self.lines)}

    def position_of(self, line_id: str) -> int:
        """The line's place in `lines`, for a field path such as `lines[2].sku` (the last place, if a
        hostile order repeats a line id)."""
        return self._positions[line_id]


class ErpOrderLine(Record):
    """One line as the ERP will book it: its own item id, and money per the mapping rules."""

    line_no: int
    sku: str
    erp_item_id: str
    description: str
    qty: Decimal
    unit_price: Decimal
    net: Decimal
    discount: Decimal
    tax: Decimal
    tax_rate: Decimal
    gross: Decimal
    storefront_line_id: str


class ErpAddress(Record):
    name: str
    company: str = ""
    lines: tuple[str, ...]
    city: str
    region: str = ""
    postcode: str
    country: str
    phone: str = ""
    email: str = ""


class ErpSalesOrder(Record):
    """The sales order trueup posts. `external_id` is the storefront order id: the idempotency key."""

    external_id: str
    order_date: datetime
    currency: str
    customer_email: str
    customer_name: str
    bill_to: ErpAddress
    ship_to: ErpAddress
    carrier: str
    service: str
    lines: tuple[ErpOrderLine, ...]
    shipping_net: Decimal
    shipping_tax: Decimal
    discount_total: Decimal
    tax_total: Decimal
    grand_total: Decimal
    payment_method: str
    payment_reference: str = ""
    tax_mode: str = "storefront"
