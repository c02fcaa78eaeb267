"""The orphan sweep over a big week: 100,000 storefront orders against a ledger of 100,000, some missing.

The sandbox Magento (in this process, on loopback) holds lean order headers, and in full only the orders
whose ledger rows are missing (the injected orphans), which the sweep reads back and repairs. The ledger is
a SQLite file with every other order posted and linked, and observation's cursor past them all. The engine
runs `trueup check orders --json` in its own process. Prints one JSON object: the orders swept, the wall
time of the whole command, the engine's peak RSS, and what it found (it must be exactly the orphans).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from trueup.config import dump_toml
from trueup.sandbox.magento import MagentoState, create_app
from trueup.sandbox.rest_erp_sandbox import RestErpSandbox
from trueup.sandbox.scenario import TIME, FaultMix, generate
from trueup.sandbox.serve import ServerThread
from trueup.store import Store
from trueup.store.schema import cursors, links, work

BIN = Path(sys.executable).parent
# Linux carries a process's peak RSS across exec, and a child starts as a copy of its parent: measured from
# here, the engine would inherit this process's peak (the 100,000 sandbox orders). A small interpreter in
# between starts the engine and reports the engine's own peak.
MEASURE = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "sys.stderr.write(f'\\npeak_rss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n'); "
    "sys.exit(code)"
)
TOKEN = "bench-magento-token"


def lean(entity_id: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    """An order with only what the index lists: the scenario generator is too slow for 100,000."""
    total = Decimal(rng.randrange(500, 50_000)) / 100
    stamp = at.strftime(TIME)
    return {
        "entity_id": entity_id,
        "increment_id": f"{entity_id:09d}",
        "state": "processing",
        "status": "processing",
        "created_at": stamp,
        "updated_at": stamp,
        "grand_total": total,
        "total_paid": total,
        "order_currency_code": "GBP",
        "payment": {"amount_paid": total, "method": "checkmo"},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--orphans", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    start = now - timedelta(days=6)  # inside the 7-day window, all past the SLA
    step = (now - timedelta(hours=1) - start) / args.orders
    orphans = set(rng.sample(range(1, args.orders + 1), args.orphans))
    full = iter(generate(args.seed, args.orphans, start=start, end=start, faults=FaultMix.none()).orders)

    state = MagentoState()
    for entity_id in range(1, args.orders + 1):
        at = start + step * entity_id
        order = lean(entity_id, at, rng)
        if entity_id in orphans:  # the orders the sweep reads back in full: real scenario orders
            order = {**next(full), **{k: order[k] for k in ("entity_id", "increment_id")}}
            order.update(created_at=at.strftime(TIME), updated_at=at.strftime(TIME))
        state.add_order(order)

    magento = ServerThread(create_app(state, token=TOKEN))
    magento.start()
    erp = RestErpSandbox(seed=args.seed)
    erp.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{tmp}/bench.db"
            ledger(db, state, orphans, now)
            data = {
                "storefront": {"base_url": f"{magento.url}/rest/default", "auth": "bearer"},
                "erp": erp.erp_config(),
                "checks": {"orphans": {"verify_in_erp": "off", "page_size": 1000}},
                "runtime": {"database_url": db},
            }
            config = Path(tmp) / "trueup.toml"
            config.write_text(dump_toml(data), encoding="utf-8")
            env = {**os.environ, **erp.env(), "TRUEUP_MAGENTO_TOKEN": TOKEN}
            started = time.perf_counter()
            engine = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    MEASURE,
                    str(BIN / "trueup"),
                    "check",
                    "orders",
                    "--json",
                    "-c",
                    str(config),
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - started
            peak_kb = int(engine.stderr.rstrip().rsplit("peak_rss_kb=", 1)[1])
    finally:
        magento.stop()
        erp.stop()
    if engine.returncode not in (0, 1):
        sys.exit(f"sweep failed: {engine.stderr[-2000:]}")
    result = json.loads(engine.stdout)
    found = sorted(f["key"] for f in result["findings"])
    expected = sorted(f"{i:09d}" for i in orphans)
    if result["found"] != args.orphans or (args.orphans <= 100 and found != expected):
        sys.exit(f"found {result['found']} of {args.orphans} injected orphans: {found[:10]}")
    print(
        json.dumps(
            {
                "orders": result["orders"],
                "ledger_rows": args.orders - args.orphans,
                "injected": args.orphans,
                "found": result["found"],
                "repaired": result["repaired"],
                "seconds": round(elapsed, 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def ledger(url: str, state: MagentoState, orphans: set[int], now: datetime) -> None:
    """Every order but the orphans posted and linked, and observation's cursor past them all."""
    store = Store(url)
    try:
        rows, refs = [], []
        for order in state:
            if order["entity_id"] in orphans:
                continue
            key = order["increment_id"]
            rows.append(
                {
                    "kind": "order.post",
                    "key": key,
                    "lane": "orders",
                    "lock": f"order:{key}",
                    "payload": "{}",
                    "source_version": order["updated_at"],
                    "status": "done",
                    "attempts": 1,
                    "next_at": now,
                    "impact_minor": 0,
                    "result": f"SO-{key}",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            refs.append(
                {
                    "kind": "order",
                    "storefront": "magento",
                    "external_id": key,
                    "erp": "erp",
                    "erp_ref": f"SO-{key}",
                    "created_at": now,
                }
            )
        with store.tx() as conn:
            conn.execute(insert(work), rows)
            conn.execute(insert(links), refs)
            conn.execute(
                insert(cursors).values(flow="orders", source="magento", value=now.isoformat(), updated_at=now)
            )
    finally:
        store.close()


if __name__ == "__main__":
    main()
