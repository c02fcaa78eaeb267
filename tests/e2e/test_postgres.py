"""The same engine on PostgreSQL: two engines drain one ledger at once, and every order posts exactly once."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import TRUEUP, cli_env, write_config
from trueup.sandbox.faults import Faults
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day
from trueup.store import Store


def test_two_engines_share_a_postgresql_ledger_without_posting_twice(tmp_path: Path, pg_url: str) -> None:
    world = World(
        trading_day(9, 600, faults=FaultMix(pending_payment=0.0)),
        erp_faults=Faults(error_rate=0.05, seed=9),
        enforce_unique=False,
    )
    world.start()
    try:
        config = write_config(tmp_path / "trueup.toml", world, database_url=pg_url, batch_size=20)
        Store(pg_url).close()  # migrate once, before two engines race to
        engines = [
            subprocess.Popen(
                [*TRUEUP, "sync", "orders", "--once", "-c", str(config)],
                env=cli_env(world),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for engine in engines:
            _, err = engine.communicate(timeout=300)
            assert engine.returncode == 0, err[-2000:]
        counts = world.erp_order_counts()
        should_post = {k for k, v in world.scenario.expected.items() if v == "post"}
        assert set(counts) == should_post
        assert set(counts.values()) == {1}
        store = Store(pg_url, create=False)
        assert store.link_count("order") == len(should_post)
        store.close()
    finally:
        world.stop()
