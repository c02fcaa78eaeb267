"""Headline figure: ERP despatches made into Magento shipments per second, end to end.

The sandboxes (Magento and the chosen ERP) serve from this process's threads; the engine runs as
`trueup sync orders --once` (not measured: it posts the orders the warehouse then despatches) and then as
`trueup sync despatches --once`, the measured run: read the despatches by the ERP's cursor, read each order
and its shipments from Magento, ship with tracking, record each shipment and its link. Prints one JSON line
with shipments_per_s over that whole run (start-up included) and the engine's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trueup.config import dump_toml
from trueup.sandbox.despatch_day import DespatchMix, despatch_posted
from trueup.sandbox.magento_shipping import shipping_of
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day

BIN = Path(sys.executable).parent
_MEASURE = """
import json, resource, subprocess, sys
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(run.stdout)
sys.stderr.write(run.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"maxrss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime}))
sys.exit(run.returncode)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--despatches", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--erp", default="rest", help="which sandbox ERP despatches")
    args = parser.parse_args()

    # One despatch per order (no partials), so that `--despatches` orders give that many despatches.
    world = World(trading_day(args.seed, args.despatches, faults=FaultMix.none()), erp_kind=args.erp)
    world.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = world.config(f"sqlite:///{tmp}/bench.db")
            data["runtime"] = {**data["runtime"], "batch_size": 200, "batches_in_flight": 4}
            data["storefront"]["page_size"] = 500
            data["storefront"]["concurrency"] = 16
            data["erp"]["concurrency"] = 64
            config = Path(tmp) / "trueup.toml"
            config.write_text(dump_toml(data), encoding="utf-8")
            env = {**os.environ, **world.env()}
            posting = subprocess.run(
                [str(BIN / "trueup"), "sync", "orders", "--once", "-c", str(config)],
                env=env,
                capture_output=True,
                text=True,
            )
            if posting.returncode != 0:
                sys.exit(f"posting the orders failed: {posting.stderr[-2000:]}")
            posted = sorted(k for k, v in world.scenario.expected.items() if v == "post")
            mix = DespatchMix(partial=0.0, manual=0.0, unmapped=0.0)
            day = despatch_posted(
                world.magento, world.erp, world.scenario.carriers, posted, seed=args.seed, mix=mix
            )
            started = time.perf_counter()
            # Through a small wrapper whose only child is the engine, so that its peak RSS and CPU are the
            # despatch run's own (this process's RUSAGE_CHILDREN also holds the posting run).
            command = [str(BIN / "trueup"), "sync", "despatches", "--once", "--json", "-c", str(config)]
            engine = subprocess.run(
                [sys.executable, "-c", _MEASURE, *command], env=env, capture_output=True, text=True
            )
            elapsed = time.perf_counter() - started
    finally:
        world.stop()
    if engine.returncode != 0:
        sys.exit(f"engine failed: {engine.stderr[-2000:]}")
    out = engine.stdout.strip().splitlines()
    result, usage = json.loads(out[-2]), json.loads(out[-1])
    shipments = len(shipping_of(world.magento).shipments)
    print(
        json.dumps(
            {
                "despatches": day.despatches,
                "shipments": shipments,
                "shipments_per_s": round(shipments / elapsed, 1),
                "seconds": round(elapsed, 2),
                "peak_rss_mb": round(usage["maxrss_kb"] / 1024, 1),
                "engine_cpu_s": round(usage["cpu_s"], 2),
                "engine_cpu_us_per_shipment": round(usage["cpu_s"] / max(shipments, 1) * 1e6),
                "engine_summary": result["shipments"],
            }
        )
    )


if __name__ == "__main__":
    main()
