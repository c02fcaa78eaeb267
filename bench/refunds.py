"""Headline figure: Magento credit memos made into ERP credit notes per second, end to end.

The sandboxes (Magento and the chosen ERP) serve from this process's threads; the engine runs as
`trueup sync orders --once` (not measured: it posts the orders that are then refunded) and then as
`trueup sync refunds --once`, the measured run: read the credit memos by key, post each credit note (half of
them with every line back to stock, booked with the credit note or by stock adjustment), record each and its
link. Prints one JSON line with credit_notes_per_s over that whole run (start-up included) and peak RSS.
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
from trueup.sandbox.magento_refunds import refunds_of
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
    parser.add_argument("--refunds", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--erp", default="rest", help="which sandbox ERP takes the credit notes")
    args = parser.parse_args()

    # One refund per posted order, in full, every other one back to stock.
    world = World(trading_day(args.seed, args.refunds, faults=FaultMix.none()), erp_kind=args.erp)
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
            refunds = refunds_of(world.magento)
            for n, order_id in enumerate(posted):
                refunds.refund_by_hand(order_id, [], restock=n % 2 == 0, shipping=None)
            started = time.perf_counter()
            # Through a small wrapper whose only child is the engine, so that its peak RSS and CPU are the
            # refund run's own (this process's RUSAGE_CHILDREN also holds the posting run).
            command = [str(BIN / "trueup"), "sync", "refunds", "--once", "--json", "-c", str(config)]
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
    notes = sum(world.erp.credit_note_counts().values())
    print(
        json.dumps(
            {
                "erp": args.erp,
                "credit_memos": len(refunds.memos),
                "credit_notes": notes,
                "credit_notes_per_s": round(notes / elapsed, 1),
                "seconds": round(elapsed, 2),
                "peak_rss_mb": round(usage["maxrss_kb"] / 1024, 1),
                "engine_cpu_s": round(usage["cpu_s"], 2),
                "restocked_units": result["restocked_units"],
                "engine_summary": result["credit_notes"],
            }
        )
    )


if __name__ == "__main__":
    main()
