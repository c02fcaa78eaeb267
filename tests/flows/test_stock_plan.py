"""The stock planner (pure, Polars): sellable formula, buffers, location map, and the plan's property:
applying the planned pushes to the last confirmed state gives exactly the sellable snapshot, and nothing
unchanged is pushed."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trueup.flows.stock_plan import (
    KEY,
    apply_changes,
    cut_batches,
    drift_frame,
    levels_frame,
    partition_of,
    plan_changes,
    plan_version,
    position_frame,
    sellable_frame,
    unmapped_locations,
)
from trueup.model.erp import StockLevel
from trueup.model.partition import PARTITIONS
from trueup.model.stock import SellableFormula, StockRules

AT = datetime(2026, 11, 23, 9)


def level(sku: str, location: str = "WEB", on_hand: int = 0, **parts: int | None) -> StockLevel:
    return StockLevel(sku=sku, erp_item_id=f"I-{sku}", location=location, on_hand=on_hand, as_of=AT, **parts)


def as_dict(frame: pl.DataFrame) -> dict[tuple[str, str], int]:
    return {(s, c): q for s, c, q in frame.select(*KEY, "qty").iter_rows()}


def test_default_formula_takes_allocated_quarantined_and_reserved_off_and_never_goes_below_zero() -> None:
    levels = levels_frame(
        [
            level("A", on_hand=10, allocated=3, quarantined=2),
            level("B", on_hand=2, allocated=5),
            level("C", on_hand=9, allocated=9, sellable=4),  # Prima's Available to Sell wins
        ]
    )
    rules = StockRules(reserved={"A": 1})
    assert as_dict(sellable_frame(levels, rules)) == {
        ("A", "default"): 4,
        ("B", "default"): 0,
        ("C", "default"): 4,
    }
    only_on_hand = StockRules(formula=SellableFormula(subtract=(), use_erp_sellable=False))
    assert as_dict(sellable_frame(levels, only_on_hand))[("C", "default")] == 9


def test_buffers_by_sku_then_category_then_global() -> None:
    levels = levels_frame([level("TEE-1", on_hand=10), level("TEE-2", on_hand=10), level("MUG-1", on_hand=1)])
    rules = StockRules(
        buffer=2,
        sku_buffers={"TEE-2": 5},
        categories={"TEE": "tees"},
        category_buffers={"tees": 3},
    )
    assert as_dict(sellable_frame(levels, rules)) == {
        ("TEE-1", "default"): 7,  # category
        ("TEE-2", "default"): 5,  # its own buffer beats the category's
        ("MUG-1", "default"): 0,  # global, never below 0
    }


def test_locations_map_to_sources_and_unmapped_ones_are_reported_once() -> None:
    levels = levels_frame(
        [
            level("A", "WEB", 5),
            level("A", "SHOP1", 2),
            level("A", "SHOP2", -4),  # oversold at one location: it must not eat another's stock
            level("B", "QC", 7),
            level("C", "QC", 1),
        ]
    )
    rules = StockRules(locations={"WEB": "web", "SHOP1": "shops", "SHOP2": "shops"})
    assert as_dict(sellable_frame(levels, rules)) == {("A", "web"): 5, ("A", "shops"): 2}
    assert unmapped_locations(levels, rules) == ["QC"]


def test_only_changed_pairs_are_planned_and_vanished_pairs_go_to_zero() -> None:
    sellable = position_frame([("A", "s", 4), ("B", "s", 1), ("C", "s", 0)])
    pushed = position_frame([("A", "s", 4), ("B", "s", 2), ("Z", "s", 3), ("Y", "s", 0)])
    assert as_dict(plan_changes(sellable, pushed)) == {("B", "s"): 1, ("C", "s"): 0, ("Z", "s"): 0}
    assert as_dict(plan_changes(sellable, pushed, full=True)) == {
        ("A", "s"): 4,
        ("B", "s"): 1,
        ("C", "s"): 0,
        ("Y", "s"): 0,
        ("Z", "s"): 0,
    }


def test_drift_leaves_out_pairs_in_flight_and_within_tolerance() -> None:
    expected = position_frame([("A", "s", 4), ("B", "s", 2), ("C", "s", 9), ("D", "s", 5)])
    actual = position_frame([("A", "s", 4), ("B", "s", 7), ("C", "s", 1), ("D", "s", 6)])
    in_flight = position_frame([("C", "s", 9)])
    found = drift_frame(expected, actual, in_flight, tolerance=1)
    assert found.rows() == [("B", "s", 2, 7, 5)]


SKUS = st.sampled_from([f"SKU{i}" for i in range(12)])
SOURCES = st.sampled_from(["default", "east", "west"])
POSITION = st.dictionaries(st.tuples(SKUS, SOURCES), st.integers(0, 50), max_size=30)


@settings(max_examples=200, deadline=None)
@given(sellable=POSITION, pushed=POSITION, size=st.integers(1, 7))
def test_applying_the_plan_to_the_last_push_gives_the_sellable_snapshot(
    sellable: dict[tuple[str, str], int], pushed: dict[tuple[str, str], int], size: int
) -> None:
    snap = position_frame([(s, c, q) for (s, c), q in sellable.items()])
    before = position_frame([(s, c, q) for (s, c), q in pushed.items()])
    changes = plan_changes(snap, before)
    after = as_dict(apply_changes(before, changes))
    # Exactly the snapshot, plus zeros for pairs the snapshot no longer holds.
    assert after == {**{pair: 0 for pair in pushed}, **sellable}
    planned = as_dict(changes)
    # Nothing unchanged is pushed.
    assert all(pushed.get(pair) != qty for pair, qty in planned.items())
    # Batches hold every change once, at most `size` rows each, one SKU partition each.
    batches = cut_batches(changes, size)
    rows = [r for b in batches for r in b.rows]
    assert sorted(rows) == sorted((s, c, q) for (s, c), q in planned.items())
    assert all(
        0 < len(b.rows) <= size and {partition_of(r[0]) for r in b.rows} == {b.partition} for b in batches
    )
    assert all(0 <= b.partition < PARTITIONS for b in batches)
    # The same plan again gives the same version (the ledger keys it, so a re-plan is a no-op).
    assert plan_version(batches, full=False) == plan_version(cut_batches(changes, size), full=False)
