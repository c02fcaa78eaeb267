"""Figures for the catalogue flow: the pure planner on an item master with 1% changed, and the push of new
products to the sandbox Magento end to end.

1. plan_s: `plan_items` on `--items` items (default 100,000) against `pushed_items` with 1% of names
   changed; peak_rss_mb: this process's peak after planning.
2. push_rows_per_s: `--push` new products (default 5,000) through the real engine and flow: one ledger
   row per batch, a `GET /V1/products` search and one POST per product over HTTP to the sandbox Magento
   (its own process), each batch recorded with its pushed_items rows in one transaction.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from decimal import Decimal

import aiohttp

from trueup.connectors.magento.catalog import MagentoCatalog
from trueup.connectors.magento.client import MagentoClient
from trueup.flows.catalog import CatalogFlow
from trueup.flows.item_plan import item_row, plan_items
from trueup.model.catalog import Pushed
from trueup.model.items import ErpItem
from trueup.runtime.backend import EmbeddedBackend, StoreExceptionQueue
from trueup.runtime.catalog_state import StoreCatalogState
from trueup.runtime.clock import SystemClock
from trueup.runtime.engine import Engine, Schedule, Settings
from trueup.runtime.retry import RetryPolicy
from trueup.store import Store

TOKEN = "bench-catalog"


def master(n: int, renamed_every: int = 0) -> list[ErpItem]:
    return [
        ErpItem(
            f"SKU{i:07d}",
            f"ID{i:07d}",
            barcode=f"{5000000000000 + i}",
            name=f"Item {i}" + (" (new name)" if renamed_every and i % renamed_every == 0 else ""),
            active=i % 13 != 0,
            weight=Decimal(i % 40) / 8,
            attributes=(("size", "SML"[i % 3]),),
        )
        for i in range(n)
    ]


class Master:
    name = "erp"

    def __init__(self, items: list[ErpItem]) -> None:
        self.listing = items

    async def items(self) -> AsyncIterator[Sequence[ErpItem]]:
        for start in range(0, len(self.listing), 1000):
            yield self.listing[start : start + 1000]


async def push(url: str, items: list[ErpItem], batch_size: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        backend = EmbeddedBackend(store, lease=timedelta(minutes=5), dead_after=timedelta(minutes=1))
        clock = SystemClock()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
            sink = MagentoCatalog(MagentoClient(session, f"{url}/rest/default", TOKEN, concurrency=8))
            flow = CatalogFlow(
                Master(items),
                sink,
                StoreCatalogState(backend),
                StoreExceptionQueue(backend, clock),
                batch_size=batch_size,
            )
            engine = Engine(backend, clock, RetryPolicy(0.05, 1, 10), Settings(batch_size=4))
            started = time.perf_counter()
            await engine.drain(Schedule(flow, "erp", 60))
            elapsed = time.perf_counter() - started
        assert flow.pushed == len(items), (flow.pushed, flow.rejected)
        backend.close()
        store.close()
    return elapsed, flow.api_calls


def serve_magento() -> None:
    from trueup.sandbox.magento import MagentoState, create_app
    from trueup.sandbox.serve import ServerThread

    server = ServerThread(create_app(MagentoState(), token=TOKEN))
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--push", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--serve-magento", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_magento:
        serve_magento()
        return

    before = master(args.items)
    pushed = {i.sku: Pushed(item_row(i, "ean").digest(), i.erp_item_id, i.barcode or "") for i in before}
    after = master(args.items, renamed_every=100)
    started = time.perf_counter()
    plan = plan_items(after, pushed)
    plan_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    magento = subprocess.Popen(
        [sys.executable, __file__, "--serve-magento"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert magento.stdout is not None and magento.stdin is not None
    try:
        url = magento.stdout.readline().strip()
        push_s, calls = asyncio.run(push(url, master(args.push), args.batch_size))
    finally:
        magento.stdin.close()
        magento.wait(timeout=30)
    print(
        json.dumps(
            {
                "items": args.items,
                "changed": len(plan.changes),
                "plan_s": round(plan_s, 3),
                "peak_rss_mb": round(peak_mb, 1),
                "pushed": args.push,
                "push_api_calls": calls,
                "push_rows_per_s": round(args.push / push_s, 1),
                "push_s": round(push_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
