"""Sellable stock: the only figure that may reach the storefront (R-STK-1)."""

from __future__ import annotations

from trueup.model.erp import StockLevel


def sellable_qty(level: StockLevel, *, reserved_elsewhere: int = 0, buffer: int = 0) -> int:
    """on hand − allocated − quarantined − reserved for other channels − buffer, never below zero.

    When the ERP states its own sellable figure (Prima's "Available to Sell"), that figure replaces the first
    three terms: it already nets out the ERP's allocations.
    """
    base = (
        level.sellable if level.sellable is not None else level.on_hand - level.allocated - level.quarantined
    )
    return max(0, base - reserved_elsewhere - buffer)
