"""`trueup run` with `[stock] enabled`: the stock flow runs on its own lane beside orders, and stock that
moves while it runs reaches Magento's sources on the next interval."""

from __future__ import annotations

import json
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.conftest import TRUEUP, cli_env, write_config
from trueup.config import dump_toml
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.stock_day import StockDay, active_skus
from trueup.sandbox.world import World, trading_day


def stock_settled(events: Iterator[str]) -> None:
    """Read the engine's events until every stock batch observed so far is done (the events are the clock)."""
    observed = done = 0
    for line in events:
        event = json.loads(line)
        if event["event"] == "observed" and event["flow"] == "stock":
            observed += int(event["rows"])
        elif event["event"] == "batch" and event["lane"] == "stock":
            done += int(event.get("done", 0))
        if observed and done == observed:
            return


def test_run_pushes_stock_on_its_own_lane_and_picks_up_moves(tmp_path: Path) -> None:
    world = World(trading_day(8, 40, faults=FaultMix(pending_payment=0.0)))
    world.start()
    try:
        config = write_config(tmp_path / "trueup.toml", world)
        data = tomllib.loads(config.read_text())
        data["stock"] = {"enabled": True, "interval_seconds": 0.2, "batch_size": 10}
        config.write_text(dump_toml(data))
        day = StockDay(world.erp, active_skus(world.scenario.erp_items, 30), seed=8)
        day.morning_count()
        proc = subprocess.Popen(
            [*TRUEUP, "run", "--progress", "jsonl", "-c", str(config)],
            env=cli_env(world),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        stock_settled(proc.stdout)
        shows = {sku: qty for (sku, _), (qty, _) in world.inventory.items.items()}
        assert shows == day.sellable()

        day.moves(0.2)
        # A pass may start while the moves are still being booked: it pushes what it saw, the next the rest.
        for _ in range(5):
            stock_settled(proc.stdout)
            shows = {sku: qty for (sku, _), (qty, _) in world.inventory.items.items()}
            if shows == day.sellable():
                break
        assert shows == day.sellable()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        world.stop()
