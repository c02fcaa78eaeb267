"""`trueup run` as a daemon through outages: a bad page or a system that is down must neither end it nor
make it deaf. It backs off behind a circuit breaker per system (shown as `health` events), comes back by
itself when the system does, and stops within seconds on SIGTERM, outage or not.

The engine's own jsonl events are the clock: the tests wait on them with a deadline, never on a timer."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TRUEUP, cli_env, write_config
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day

Event = dict[str, Any]


class Daemon:
    """`trueup run --progress jsonl` in a real process, its stdout events read on a thread."""

    def __init__(self, config: Path, world: World) -> None:
        self.proc = subprocess.Popen(
            [*TRUEUP, "run", "--progress", "jsonl", "-c", str(config)],
            env=cli_env(world),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.seen: list[Event] = []
        self.raw: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            self.events.put(json.loads(line))
        self.events.put(None)

    def wait_for(self, done: Callable[[Event], bool], deadline: float = 60.0) -> Event:
        """The first event from now on for which `done` is true; fails if the process ends first."""
        end = time.monotonic() + deadline
        while True:
            event = self.events.get(timeout=max(0.1, end - time.monotonic()))
            if event is None:
                raise AssertionError(f"trueup run ended (exit {self.proc.wait()}): {self.stderr()}")
            self.seen.append(event)
            if done(event):
                return event

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # deaf to SIGTERM: fail, but leave no process behind
            raise


def config_for(tmp_path: Path, world: World, **runtime: Any) -> Path:
    config = write_config(tmp_path / "trueup.toml", world, **runtime)
    text = config.read_text().replace(
        "payment_recheck_seconds = 3600", "payment_recheck_seconds = 3600\ninterval_seconds = 0.2"
    )
    config.write_text(text)
    return config


@pytest.fixture
def world() -> Iterator[World]:
    w = World(trading_day(31, 60, faults=FaultMix.none()))
    w.start()
    yield w
    w.stop()


def down(system: str) -> Callable[[Event], bool]:
    return lambda e: e["event"] == "health" and e["system"] == system and e["state"] == "down"


def posted_all(world: World, total: int) -> Callable[[Event], bool]:
    return lambda e: e["event"] == "batch" and len(world.erp_order_counts()) == total


@pytest.mark.parametrize("fault", ["maintenance_rate", "truncated_rate"])
def test_a_bad_magento_page_does_not_end_the_daemon_and_it_recovers(
    tmp_path: Path, world: World, fault: str
) -> None:
    world.magento_faults.update({fault: 1.0})
    daemon = Daemon(config_for(tmp_path, world), world)
    try:
        health = daemon.wait_for(down("magento"))
        assert "not JSON" in health["error"]
        world.magento_faults.clear()  # Magento is back
        daemon.wait_for(posted_all(world, len(world.scenario.orders)))

        def magento_back(e: Event) -> bool:
            return e["event"] == "health" and e["system"] == "magento" and e["state"] == "ok"

        # Every activity that went down on Magento (observing, the orphan sweep) reports it back, each
        # when its own cool-down ends: the observation may have posted everything before the sweep's ends.
        if not any(magento_back(e) for e in daemon.seen):
            daemon.wait_for(magento_back)
    finally:
        code = daemon.stop()
    assert code == 0
    assert set(world.erp_order_counts().values()) == {1}
    # The errors name what went wrong, never the page: a cut-off order page holds customers' details.
    shown = "".join(daemon.raw) + daemon.stderr()
    for order in world.scenario.orders:
        assert order["customer_email"] not in shown
        assert order["customer_lastname"] not in shown


def test_an_erp_outage_is_waited_out_without_parking_orders_and_sigterm_still_stops_it(
    tmp_path: Path, world: World
) -> None:
    # Magento is held back until the item map is in, so that every order meets the ERP down.
    world.magento_faults.update({"error_rate": 1.0})
    daemon = Daemon(config_for(tmp_path, world, max_attempts=3), world)
    try:
        daemon.wait_for(lambda e: e["event"] == "synced")
        world.erp_faults.update({"error_rate": 1.0})
        world.magento_faults.clear()
        daemon.wait_for(down("erp"))
        # Far more failures than max_attempts: the breaker holds the orders back instead of parking them.
        daemon.wait_for(lambda e: e["event"] == "health" and e["system"] == "erp" and e["failures"] >= 6)
        assert world.erp_order_counts() == {}
        world.erp_faults.clear()
        daemon.wait_for(posted_all(world, len(world.scenario.orders)))
    finally:
        code = daemon.stop()
    assert code == 0
    assert not any(e.get("parked") for e in daemon.seen if e["event"] == "batch")
    assert set(world.erp_order_counts().values()) == {1}


def test_sigterm_stops_the_daemon_at_once_while_the_erp_is_down(tmp_path: Path, world: World) -> None:
    # Long back-offs: a daemon that waited them out before hearing the signal would miss the deadline.
    world.erp_faults.update({"error_rate": 1.0})
    config = config_for(tmp_path, world, retry_base_seconds=30, retry_max_seconds=600)
    daemon = Daemon(config, world)
    daemon.wait_for(lambda e: e["event"] == "retry")
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0


def test_an_erp_down_from_the_start_outlasts_max_attempts_and_the_daemon_recovers(
    tmp_path: Path, world: World
) -> None:
    """The first item sync once gave up after max_attempts and the daemon exited."""
    world.erp_faults.update({"error_rate": 1.0})
    daemon = Daemon(config_for(tmp_path, world, max_attempts=2), world)
    try:
        daemon.wait_for(lambda e: e["event"] == "health" and e["activity"] == "items" and e["failures"] >= 3)
        world.erp_faults.clear()
        daemon.wait_for(posted_all(world, len(world.scenario.orders)))
    finally:
        code = daemon.stop()
    assert code == 0
    assert set(world.erp_order_counts().values()) == {1}
