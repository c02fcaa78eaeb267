"""`python -m trueup.sandbox.world`, as the benchmarks run it: a separate process that serves a world,
prints its config and secrets as one JSON line, and stops when its standard input closes."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_world_serves_as_its_own_process_and_stops_when_told() -> None:
    world = subprocess.Popen(
        [sys.executable, "-m", "trueup.sandbox.world", "--orders", "5", "--clean"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert world.stdout is not None and world.stdin is not None
    line = world.stdout.readline()
    world.stdin.close()
    assert world.wait(timeout=60) == 0, world.stderr.read() if world.stderr else ""
    info = json.loads(line)
    assert info["config"]["storefront"]["base_url"].startswith("http://127.0.0.1:")
    assert sum(info["expected"].values()) == 5
