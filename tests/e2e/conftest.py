"""End-to-end fixtures: a sandbox world served on loopback, and the `trueup` CLI run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trueup.config import dump_toml
from trueup.sandbox.scenario import CARRIERS, FaultMix
from trueup.sandbox.world import World, trading_day

TRUEUP = [sys.executable, "-m", "trueup"]


def write_config(path: Path, world: World, *, carriers: dict[str, str] | None = None, **runtime: Any) -> Path:
    settings = {"retry_base_seconds": 0.01, "retry_max_seconds": 0.5, "max_attempts": 25, **runtime}
    data = world.config(
        f"sqlite:///{path.parent / 'trueup.db'}",
        storefront={"page_size": 100},
        flows={"orders": {"payment_recheck_seconds": 3600}},
        runtime=settings,
    )
    data["mappings"]["carriers"] = carriers if carriers is not None else dict(CARRIERS)
    path.write_text(dump_toml(data), encoding="utf-8")
    return path


def cli_env(world: World | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if world is not None:
        env.update(world.env())
    return env


def trueup(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRUEUP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def run_until_killed(
    config: Path, env: dict[str, str], kill_after: tuple[str, int], *, flow: str = "orders"
) -> tuple[int, list[dict[str, Any]]]:
    """Start a drain of `flow` (`trueup sync <flow> --once`) and SIGKILL it once it has reported `n` events
    of the given kind; fails if the pass ended on its own before that."""
    kind, n = kill_after
    proc = subprocess.Popen(
        [*TRUEUP, "sync", flow, "--once", "--progress", "jsonl", "-c", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    events: list[dict[str, Any]] = []
    seen = 0
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        seen += event.get("event") == kind
        if seen >= n:
            proc.send_signal(signal.SIGKILL)
            break
    proc.stdout.close()
    code = proc.wait(timeout=60)
    assert code == -signal.SIGKILL, f"engine ended with {code} before the kill: {proc.stderr.read()[-2000:]}"
    return code, events


@pytest.fixture
def small_world() -> Iterator[World]:
    world = World(trading_day(11, 120, faults=FaultMix(pending_payment=0.0)))
    world.start()
    yield world
    world.stop()
