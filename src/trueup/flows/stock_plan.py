"""The stock planner: pure and columnar (Polars), no I/O.

snapshot (ERP stock levels) ⨝ location map ⨝ formula ⨝ buffers → the sellable figure per SKU × source;
⨝ `pushed_stock` (the last confirmed push) → only the pairs whose figure changed, cut into batches.

A snapshot is the ERP's whole position: a pair pushed before and absent from a (non-empty) snapshot has
nothing to sell and is planned as 0, so a discontinued item can never go on selling from a stale figure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from trueup.model.erp import StockLevel
from trueup.model.partition import partition_of
from trueup.model.stock import StockRules

LEVELS_SCHEMA: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "location": pl.String(),
    "on_hand": pl.Int64(),
    "allocated": pl.Int64(),
    "quarantined": pl.Int64(),
    "on_order": pl.Int64(),
    "sellable": pl.Int64(),
}
# A storefront stock position: the last confirmed push, the sellable snapshot, what the storefront shows.
POSITION_SCHEMA: dict[str, pl.DataType] = {"sku": pl.String(), "source_code": pl.String(), "qty": pl.Int64()}
KEY = ["sku", "source_code"]


def levels_frame(levels: Iterable[StockLevel]) -> pl.DataFrame:
    rows = [
        (lv.sku, lv.location, lv.on_hand, lv.allocated, lv.quarantined, lv.on_order, lv.sellable)
        for lv in levels
    ]
    return pl.DataFrame(rows, schema=LEVELS_SCHEMA, orient="row")


def position_frame(rows: Iterable[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=POSITION_SCHEMA, orient="row")


def unmapped_locations(levels: pl.DataFrame, rules: StockRules) -> list[str]:
    """ERP locations with stock that the location map leaves out (reported once each, not per row)."""
    if not rules.locations:
        return []
    found = levels.get_column("location").unique().sort().to_list()
    return [str(loc) for loc in found if loc not in rules.locations]


def _buffer(rules: StockRules) -> pl.Expr:
    """Per SKU, else per category (longest SKU prefix), else global."""
    expr: pl.Expr = pl.lit(rules.buffer, dtype=pl.Int64)
    for prefix, category in sorted(rules.categories.items(), key=lambda kv: len(kv[0])):
        if category in rules.category_buffers:
            amount = pl.lit(rules.category_buffers[category], dtype=pl.Int64)
            expr = pl.when(pl.col("sku").str.starts_with(prefix)).then(amount).otherwise(expr)
    if rules.sku_buffers:
        sku_buf = pl.col("sku").replace_strict(rules.sku_buffers, default=None, return_dtype=pl.Int64)
        expr = sku_buf.fill_null(expr)
    return expr


def sellable_frame(levels: pl.DataFrame, rules: StockRules) -> pl.DataFrame:
    """The sellable quantity per SKU × storefront source, never below 0 (R-STK-1, R-STK-3).

    Each ERP level is clipped at 0 before locations add up: one location oversold must not eat another's
    stock. Reserved-for-other-channels and buffers apply to each SKU × source."""
    formula = rules.formula
    if rules.locations:
        mapped = levels.filter(pl.col("location").is_in(list(rules.locations)))
        source = pl.col("location").replace_strict(rules.locations, return_dtype=pl.String)
    else:
        mapped, source = levels, pl.lit(rules.default_source, dtype=pl.String)
    base: pl.Expr = pl.col("on_hand")
    for term in formula.subtract:
        if term != "reserved":
            base = base - pl.col(term)
    if formula.use_erp_sellable:
        base = pl.when(pl.col("sellable").is_not_null()).then(pl.col("sellable")).otherwise(base)
    held: pl.Expr = _buffer(rules)
    if "reserved" in formula.subtract and rules.reserved:
        reserved = pl.col("sku").replace_strict(rules.reserved, default=0, return_dtype=pl.Int64)
        held = held + reserved
    return (
        mapped.select("sku", source.alias("source_code"), base.clip(lower_bound=0).alias("qty"))
        .group_by(KEY)
        .agg(pl.col("qty").sum())
        .with_columns((pl.col("qty") - held).clip(lower_bound=0).cast(pl.Int64).alias("qty"))
    )


def plan_changes(sellable: pl.DataFrame, pushed: pl.DataFrame, *, full: bool = False) -> pl.DataFrame:
    """The pairs to push: every pair whose sellable figure differs from the last confirmed push (all of
    them with `full`). Pushed pairs absent from the snapshot go to 0."""
    if full:
        changes = sellable
        if not pushed.is_empty():
            gone = pushed.join(sellable, on=KEY, how="anti").with_columns(
                pl.lit(0, dtype=pl.Int64).alias("qty")
            )
            changes = pl.concat([sellable, gone.select(sellable.columns)])
        return changes.sort(KEY)
    joined = sellable.join(pushed, on=KEY, how="full", coalesce=True, suffix="_pushed")
    joined = joined.with_columns(pl.col("qty").fill_null(0))
    changed = joined.filter(pl.col("qty_pushed").is_null() | (pl.col("qty") != pl.col("qty_pushed")))
    return changed.select(*KEY, "qty").sort(KEY)


def apply_changes(pushed: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """The position after `changes` are confirmed: what `pushed_stock` holds next (the property test's
    other half, and the store's upsert in frame form)."""
    kept = pushed.join(changes, on=KEY, how="anti")
    return pl.concat([kept, changes.select(pushed.columns)]).sort(KEY)


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    number: int
    partition: int
    rows: list[tuple[str, str, int]]


def cut_batches(changes: pl.DataFrame, size: int) -> list[PlannedBatch]:
    """Batches of at most `size` rows, each within one SKU partition, numbered in a stable order. Each
    partition (`partition_of`) is one ledger lock, so two snapshots' batches for one SKU are pushed in order
    (per-lock FIFO) while batches of different partitions run at once."""
    if changes.is_empty():
        return []
    parts = changes.get_column("sku").map_elements(partition_of, return_dtype=pl.Int64)
    ordered = changes.with_columns(parts.alias("partition")).sort(["partition", *KEY])
    batches: list[PlannedBatch] = []
    for (partition,), group in ordered.group_by(["partition"], maintain_order=True):
        rows = list(group.select(*KEY, "qty").iter_rows())
        for start in range(0, len(rows), size):
            batches.append(PlannedBatch(len(batches), int(str(partition)), rows[start : start + size]))
    return batches


def plan_version(batches: Iterable[PlannedBatch], *, full: bool) -> str:
    """A content hash of the plan: re-planning the same snapshot against the same confirmed state (e.g.
    while its batches are still in flight) gives the same ledger keys, which the ledger ignores."""
    digest = hashlib.sha256(b"full" if full else b"delta")
    for batch in batches:
        for sku, source, qty in batch.rows:
            digest.update(f"{sku}\x1f{source}\x1f{qty}\x1e".encode())
    return digest.hexdigest()[:16]


def drift_frame(
    expected: pl.DataFrame, actual: pl.DataFrame, in_flight: pl.DataFrame, *, tolerance: int
) -> pl.DataFrame:
    """Pairs where the storefront shows other than trueup's confirmed figure by more than `tolerance`,
    leaving out pairs a batch in flight is about to set. A pair the storefront lacks shows 0."""
    joined = expected.join(actual, on=KEY, how="left", suffix="_actual").with_columns(
        pl.col("qty_actual").fill_null(0)
    )
    pending = in_flight.select(KEY).unique()
    return (
        joined.join(pending, on=KEY, how="anti")
        .with_columns((pl.col("qty") - pl.col("qty_actual")).abs().alias("units"))
        .filter(pl.col("units") > tolerance)
        .select(*KEY, pl.col("qty").alias("expected"), pl.col("qty_actual").alias("actual"), "units")
        .sort(KEY)
    )
