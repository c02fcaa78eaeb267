"""What the end-to-end benches after the order share (not a bench itself: `make bench` skips `_*.py`).

`posted_world` starts the sandboxes with a trading day, writes a bench config and posts every order with
`trueup sync orders --once`; `measured` then runs one `trueup` command through a small wrapper whose only
child is the engine, so that its peak RSS and CPU are that run's own (this process's RUSAGE_CHILDREN also
holds the posting run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trueup.config import dump_toml
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


@dataclass(frozen=True, slots=True)
class Posted:
    world: World
    config: Path
    env: dict[str, str]
    orders: list[str]  # the storefront ids of the orders posted


@dataclass(frozen=True, slots=True)
class Measured:
    result: dict[str, Any]  # the command's --json output
    seconds: float
    peak_rss_mb: float
    cpu_s: float


@contextmanager
def posted_world(orders: int, seed: int, erp: str, tmp: str) -> Iterator[Posted]:
    """The sandboxes serving `orders` fault-free orders, all of them posted to the `erp` sandbox."""
    world = World(trading_day(seed, orders, faults=FaultMix.none()), erp_kind=erp)
    world.start()
    try:
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
        yield Posted(world, config, env, posted)
    finally:
        world.stop()


def measured(posted: Posted, *args: str) -> Measured:
    """`trueup <args> --json -c <config>` timed, with its own peak RSS and CPU; exits if it fails."""
    command = [str(BIN / "trueup"), *args, "--json", "-c", str(posted.config)]
    started = time.perf_counter()
    engine = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], env=posted.env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if engine.returncode != 0:
        sys.exit(f"engine failed: {engine.stderr[-2000:]}")
    out = engine.stdout.strip().splitlines()
    result, usage = json.loads(out[-2]), json.loads(out[-1])
    return Measured(result, elapsed, round(usage["maxrss_kb"] / 1024, 1), round(usage["cpu_s"], 2))
