"""Headline figure: orders drained from the sandbox Magento into the sandbox ERP per second.

The sandboxes run in their own process, the engine (`trueup sync orders --once`) in another, so the engine
and the sandboxes share this machine's cores as they would in a small deployment. Prints one JSON object:
orders_per_s over the engine's whole run (start-up and item sync included), and the engine's peak RSS.

Exactly once is checked, not assumed: the sandbox ERP is run in its accept-duplicates mode (as many real
ERPs are), so that a second post of any order would show as a second copy; after the run, its own counts
say how many sales orders it holds and how many copies each external id has (`exactly_once`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from trueup.config import dump_toml

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="sqlite", help="sqlite or a postgresql:// URL")
    parser.add_argument("--erp", default="rest", help="which sandbox ERP to drain into")
    args = parser.parse_args()

    world = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trueup.sandbox.world",
            "--orders",
            str(args.orders),
            "--seed",
            str(args.seed),
            "--clean",
            "--erp",
            args.erp,
            *(["--no-unique"] if args.erp == "rest" else []),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert world.stdout is not None and world.stdin is not None
    info = json.loads(world.stdout.readline())
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
        data = info["config"]
        data["runtime"] = {"database_url": db, "batch_size": 200, "batches_in_flight": 4}
        data["storefront"]["page_size"] = 500
        data["erp"]["concurrency"] = 64
        config = Path(tmp) / "trueup.toml"
        config.write_text(dump_toml(data), encoding="utf-8")
        env = {**os.environ, **info["env"]}
        started = time.perf_counter()
        engine = subprocess.run(
            [str(BIN / "trueup"), "sync", "orders", "--once", "-c", str(config)],
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        # Only the engine has been waited for: these are its own figures. CPU seconds are steadier than the
        # rate on a busy machine, and per order they say what the engine costs.
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    held = erp_holds(data["erp"]) if args.erp == "rest" else None
    world.stdin.close()
    world.wait(timeout=30)
    both = resource.getrusage(resource.RUSAGE_CHILDREN)
    sandbox_cpu = both.ru_utime + both.ru_stime - cpu  # the sandboxes, set-up included
    if engine.returncode != 0:
        sys.exit(f"engine failed: {engine.stderr[-2000:]}")
    print(
        json.dumps(
            {
                "orders": args.orders,
                "orders_per_s": round(args.orders / elapsed, 1),
                "seconds": round(elapsed, 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "engine_cpu_s": round(cpu, 2),
                "engine_cpu_us_per_order": round(cpu / args.orders * 1e6),
                "sandbox_cpu_s": round(sandbox_cpu, 2),
                **(
                    {
                        "erp_sales_orders": held["count"],
                        "exactly_once": held["count"] == args.orders and held["copies"] == {"1": args.orders},
                    }
                    if held is not None
                    else {}
                ),
                "engine_summary": engine.stderr.strip().splitlines()[-1] if engine.stderr.strip() else "",
            }
        )
    )


def erp_holds(erp: dict[str, object]) -> dict[str, Any]:
    """What the sandbox REST ERP holds: its sales orders, and how many copies each external id has."""
    url = f"{str(erp['base_url']).removesuffix('/api/v1')}/_sandbox/sales-orders?summary=1"
    with urllib.request.urlopen(url, timeout=60) as answer:
        held: dict[str, Any] = json.load(answer)
    return held


if __name__ == "__main__":
    main()
