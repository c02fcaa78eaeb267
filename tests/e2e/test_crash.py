"""Crash safety: SIGKILL the engine at random points during a drain, restart it, and lose nothing.

2,000 orders, an ERP that fails 10% of requests before processing them and 2% *after* committing them
(the answer is lost), and an ERP that does not itself refuse duplicates: exactly-once is trueup's own doing.
"""

from __future__ import annotations

import json
import random
import signal
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from tests.e2e.conftest import cli_env, run_until_killed, trueup, write_config
from trueup.flows.orders import KIND
from trueup.model.work import Status
from trueup.sandbox.faults import Faults
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day
from trueup.store import Store
from trueup.store.schema import work


def test_sigkill_three_times_during_a_drain_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(2026)
    world = World(
        trading_day(5, 2000, faults=FaultMix(pending_payment=0.0)),
        erp_faults=Faults(error_rate=0.10, error_after_commit_rate=0.02, seed=5),
        enforce_unique=False,
    )
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world, batch_size=50)
        # Once while observing, twice while posting, each at a random point.
        kill_points = [
            ("observed", rng.randint(1, 5)),
            ("batch", rng.randint(2, 12)),
            ("batch", rng.randint(2, 12)),
        ]
        swept = 0
        for point in kill_points:
            code, events = run_until_killed(config, env, point)
            assert code == -signal.SIGKILL, f"engine finished before the kill at {point}"
            swept += sum(int(e.get("swept", 0)) for e in events if e.get("event") == "start")

        final = trueup("sync", "orders", "--once", "--progress", "jsonl", "-c", str(config), env=env)
        assert final.returncode == 0, final.stderr[-3000:]
        starts = [json.loads(line) for line in final.stdout.splitlines() if '"start"' in line]
        swept += sum(int(e["swept"]) for e in starts)

        expected = world.scenario.expected
        in_erp = world.erp_order_counts()
        should_post = {k for k, v in expected.items() if v == "post"}
        assert set(in_erp) == should_post, "every valid order reached the ERP, and nothing else did"
        assert Counter(in_erp.values()) == Counter({1: len(should_post)}), "exactly once each"

        store = Store(f"sqlite:///{tmp_path / 'trueup.db'}")
        with store.tx() as conn:
            rows = {
                k: (s, r)
                for k, s, r in conn.execute(
                    select(work.c.key, work.c.status, work.c.reason).where(work.c.kind == KIND)
                )
            }
        store.close()
        assert len(rows) == 2000
        for key, want in expected.items():
            status, reason = rows[key]
            assert (status, reason) == ((Status.DONE, None) if want == "post" else (Status.PARKED, want)), key
        assert world.erp_faults.stats.unavailable > 0 and world.erp_faults.stats.after_commit > 0
        assert swept > 0, "a restart took back the jobs the killed engine had claimed"
    finally:
        world.stop()
