"""Canonical records shared by every connector and flow."""

from trueup.model.exceptions import REASONS, Owner, Reason, ReasonInfo, Side, owner_of
from trueup.model.items import ErpItem, FieldLimits
from trueup.model.money import Money, round_money, to_decimal, to_minor
from trueup.model.orders import (
    Address,
    Customer,
    ErpAddress,
    ErpOrderLine,
    ErpSalesOrder,
    Order,
    OrderLine,
    Payment,
    PaymentState,
    ProductType,
    Shipping,
)

__all__ = [
    "REASONS",
    "Address",
    "Customer",
    "ErpAddress",
    "ErpItem",
    "ErpOrderLine",
    "ErpSalesOrder",
    "FieldLimits",
    "Money",
    "Order",
    "OrderLine",
    "Owner",
    "Payment",
    "PaymentState",
    "ProductType",
    "Reason",
    "ReasonInfo",
    "Shipping",
    "Side",
    "owner_of",
    "round_money",
    "to_decimal",
    "to_minor",
]
