"""`trueup run`: flows on their intervals until stopped, picking up what changes while it runs."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from tests.e2e.conftest import TRUEUP, cli_env, write_config
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def test_run_posts_orders_paid_while_it_runs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    world = World(trading_day(21, 150, faults=FaultMix(pending_payment=0.2)))
    world.start()
    try:
        config = write_config(tmp_path / "trueup.toml", world)
        text = config.read_text().replace(
            "payment_recheck_seconds = 3600", "payment_recheck_seconds = 3600\ninterval_seconds = 0.2"
        )
        config.write_text(text)
        expected_posts = sum(1 for v in world.scenario.expected.values() if v == "post")
        # Unreadable orders park as they are observed; every other order settles through a worker.
        settled_expected = sum(1 for v in world.scenario.expected.values() if v != "malformed_record")
        proc = subprocess.Popen(
            [*TRUEUP, "run", "--progress", "jsonl", "-c", str(config)],
            env=cli_env(world),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        settled, waiting, captured = 0, 0, False
        for line in proc.stdout:  # the engine's own events are the clock: no sleeping here
            event = json.loads(line)
            if event["event"] != "batch":
                continue
            settled += int(event.get("done", 0)) + int(event.get("parked", 0))
            waiting += int(event.get("waiting", 0))
            if not captured and settled + waiting == settled_expected:
                assert waiting == len(world.scenario.pending) > 0
                world.capture_pending()  # later in the day the payments are captured
                captured = True
            if settled == settled_expected:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        counts = world.erp_order_counts()
        assert len(counts) == expected_posts and set(counts.values()) == {1}
        assert all(f"{e:09d}" in counts for e in world.scenario.pending)
    finally:
        world.stop()
