"""Headline figures for the stock flow: the pure planner on 1,000,000 SKU × location rows with 1% changed,
and the push of the changed rows to the sandbox Magento end to end.

1. plan_s: the planner alone (formula, location map, buffers, join against pushed_stock, batches) on
   500,000 SKUs at 2 ERP locations mapped to 2 Magento sources. peak_rss_mb: this process's peak.
2. api_calls: the planned batches (one POST /V1/inventory/source-items each); naive_api_calls: a full
   push of every pair at the same batch size.
3. push_rows_per_s: the changed rows through the real engine: ledger rows (one per batch) claimed, POSTed
   over HTTP to the sandbox Magento (its own process), recorded with their pushed_stock rows in one
   transaction.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import polars as pl

from trueup.connectors.magento.client import MagentoClient
from trueup.connectors.magento.stock import MagentoStock
from trueup.flows.stock import StockFlow
from trueup.flows.stock_plan import LEVELS_SCHEMA, cut_batches, plan_changes, plan_version, sellable_frame
from trueup.model.erp import StockSnapshot
from trueup.model.stock import PUSH_KIND, STOCK_LANE, StockRules, batch_payload
from trueup.model.work import NewWork
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue
from trueup.runtime.clock import SystemClock
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.runtime.stock_state import StoreStockState
from trueup.store import Store

TOKEN = "bench-stock"
RULES = StockRules(locations={"WEB": "web", "SHOP": "shops"}, buffer=1)


def snapshot(skus: int, changed_share: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ERP's levels now, and the same levels before 1% of rows moved (what was pushed last)."""
    rows = skus * 2
    idx = pl.int_range(0, rows, eager=True)
    before = pl.DataFrame(
        {
            "sku": pl.select(
                pl.lit("SKU") + (pl.int_range(0, rows) // 2).cast(pl.String).str.zfill(7)
            ).to_series(),
            "location": pl.Series(["WEB", "SHOP"] * skus),
            "on_hand": ((idx * 7919 + seed) % 50 + 5).cast(pl.Int64),
            "allocated": (idx % 3).cast(pl.Int64),
            "quarantined": (idx % 2).cast(pl.Int64),
            "on_order": pl.zeros(rows, dtype=pl.Int64, eager=True),
            "sellable": pl.Series([None] * rows, dtype=pl.Int64),
        },
        schema=LEVELS_SCHEMA,
    )
    every = round(1 / changed_share)
    moved = (idx % every) == (seed % every)
    after = before.with_columns(
        pl.when(moved).then(pl.col("on_hand") + 1 + (idx % 4)).otherwise(pl.col("on_hand")).alias("on_hand")
    )
    return before, after


class PlannedStock(StockFlow):
    """The stock flow with its observation replaced by an already planned set of batches."""

    planned: list[NewWork]

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        for start in range(0, len(self.planned), 200):
            yield self.planned[start : start + 200], "bench"


class NoStock:
    name = "erp"

    async def stock(self) -> AsyncIterator[StockSnapshot]:
        return
        yield


async def push(url: str, rows: list[NewWork]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
        clock = SystemClock()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
            magento = MagentoStock(MagentoClient(session, f"{url}/rest/default", TOKEN, concurrency=4))
            flow = PlannedStock(
                NoStock(),
                magento,
                StoreStockState(backend, clock),
                StoreExceptionQueue(backend, clock),
                RULES,
                clock,
            )
            flow.planned = rows
            engine = Engine(
                backend, clock, RetryPolicy(0.05, 1, 10), Settings(batch_size=4, batches_in_flight=4)
            )
            started = time.perf_counter()
            totals = await engine.drain(Schedule(flow, "erp", 60))
            elapsed = time.perf_counter() - started
        assert totals.get("done") == len(rows), totals
        backend.close()
        store.close()
    return elapsed


def serve_magento() -> None:
    """`--serve-magento`: the sandbox Magento in this process until stdin closes; prints its URL."""
    from trueup.sandbox.magento import MagentoState, create_app
    from trueup.sandbox.magento_inventory import InventoryState
    from trueup.sandbox.serve import ServerThread

    server = ServerThread(
        create_app(MagentoState(), token=TOKEN, inventory=InventoryState(sources={"web", "shops"}))
    )
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="SKU × location rows (2 locations a SKU)")
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--serve-magento", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_magento:
        serve_magento()
        return

    before, after = snapshot(args.rows // 2, args.changed, args.seed)
    pushed = sellable_frame(before, RULES)  # what the last sync confirmed
    started = time.perf_counter()
    changes = plan_changes(sellable_frame(after, RULES), pushed)
    batches = cut_batches(changes, args.batch_size)
    version = plan_version(batches, full=False)
    plan_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        NewWork(
            PUSH_KIND,
            f"erp:{version}:{b.number:06d}",
            STOCK_LANE,
            f"stock:{b.partition}",
            batch_payload(b.rows),
            version,
        )
        for b in batches
    ]
    magento = subprocess.Popen(
        [sys.executable, __file__, "--serve-magento"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert magento.stdout is not None and magento.stdin is not None
    try:
        url = magento.stdout.readline().strip()
        push_s = asyncio.run(push(url, rows))
    finally:
        magento.stdin.close()
        magento.wait(timeout=30)
    print(
        json.dumps(
            {
                "rows": after.height,
                "changed": changes.height,
                "plan_s": round(plan_s, 3),
                "peak_rss_mb": round(peak_mb, 1),
                "api_calls": len(batches),
                "naive_api_calls": math.ceil(pushed.height / args.batch_size),
                "push_rows_per_s": round(changes.height / push_s, 1),
                "push_s": round(push_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
