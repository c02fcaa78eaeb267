"""The price planner: pure and columnar (Polars), no I/O. The ERP's price list in the storefront's currency
⨝ `pushed_prices` → only the prices that changed, in batches. Prices are canonical decimal strings."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from trueup.model.erp import ItemPrice
from trueup.model.partition import partition_of
from trueup.model.prices import ALL_GROUPS, canonical

PRICE_SCHEMA: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "kind": pl.String(),
    "customer_group": pl.String(),
    "min_qty": pl.Int64(),
    "price": pl.String(),
}
PRICE_KEY = ["sku", "kind", "customer_group", "min_qty"]


def price_frame(prices: Iterable[ItemPrice], currency: str) -> pl.DataFrame:
    """The price list in `currency`; a base or special price applies to every group at quantity 1."""
    rows = [
        (
            p.sku,
            str(p.kind),
            (p.customer_group or ALL_GROUPS) if str(p.kind) == "tier" else ALL_GROUPS,
            p.min_qty if str(p.kind) == "tier" else 1,
            canonical(p.price),
        )
        for p in prices
        if p.currency == currency
    ]
    return pl.DataFrame(rows, schema=PRICE_SCHEMA, orient="row").unique(PRICE_KEY, keep="last")


def rows_frame(rows: Iterable[tuple[str, str, str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PRICE_SCHEMA, orient="row")


def plan_prices(listed: pl.DataFrame, pushed: pl.DataFrame, *, full: bool = False) -> pl.DataFrame:
    """Prices that differ from the last confirmed push (every listed one with `full`). A price that left
    the list is not removed from the storefront: trueup never deletes prices it did not plan (assumed)."""
    if full:
        return listed.sort(PRICE_KEY)
    joined = listed.join(pushed, on=PRICE_KEY, how="left", suffix="_pushed")
    changed = joined.filter(pl.col("price_pushed").is_null() | (pl.col("price") != pl.col("price_pushed")))
    return changed.select(*PRICE_KEY, "price").sort(PRICE_KEY)


def cut_price_batches(
    changes: pl.DataFrame, size: int
) -> list[tuple[int, int, list[tuple[str, str, str, int, str]]]]:
    """(number, partition, rows) batches within one SKU partition each (per-lock FIFO, as for stock)."""
    if changes.is_empty():
        return []
    parts = changes.get_column("sku").map_elements(partition_of, return_dtype=pl.Int64)
    ordered = changes.with_columns(parts.alias("partition")).sort(["partition", *PRICE_KEY])
    out: list[tuple[int, int, list[tuple[str, str, str, int, str]]]] = []
    for (partition,), group in ordered.group_by(["partition"], maintain_order=True):
        rows = list(group.select(*PRICE_KEY, "price").iter_rows())
        for start in range(0, len(rows), size):
            out.append((len(out), int(str(partition)), rows[start : start + size]))
    return out
