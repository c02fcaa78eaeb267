"""Crash safety of shipping: SIGKILL `sync despatches` twice in a burst of shipments, against a Magento that
also loses the answer to some ships it has made (502 after commit), then finish: every despatch is one
shipment, none is made twice (Magento's ship is not idempotent: exactly-once is trueup's own doing)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from tests.e2e.conftest import cli_env, run_until_killed, trueup, write_config
from trueup.flows.fulfilment import KIND
from trueup.model.work import Status
from trueup.sandbox.despatch_day import DespatchMix, despatch_posted
from trueup.sandbox.magento_shipping import shipping_of
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day
from trueup.store import Store
from trueup.store.schema import work


def test_sigkill_in_a_burst_of_shipments_duplicates_no_shipment(tmp_path: Path) -> None:
    rng = random.Random(7)
    world = World(trading_day(41, 300, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world, batch_size=10)
        orders = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert orders.returncode == 0, orders.stderr[-3000:]
        posted = sorted(k for k, v in world.scenario.expected.items() if v == "post")
        mix = DespatchMix(partial=0.3, manual=0.0, unmapped=0.0)
        day = despatch_posted(world.magento, world.erp, world.scenario.carriers, posted, seed=41, mix=mix)
        assert day.despatches > len(posted)  # partials among them

        world.magento_faults.error_rate = 0.05
        world.magento_faults.error_after_commit_rate = 0.05  # shipped, but the answer is lost
        for _ in range(2):
            run_until_killed(config, env, ("batch", rng.randint(2, 8)), flow="despatches")
        world.magento_faults.error_rate = world.magento_faults.error_after_commit_rate = 0.0
        final = trueup("sync", "despatches", "--once", "-c", str(config), env=env)
        assert final.returncode == 0, final.stderr[-3000:]

        store = Store(f"sqlite:///{tmp_path / 'trueup.db'}")
        try:
            with store.tx() as conn:
                rows = list(conn.execute(select(work.c.status).where(work.c.kind == KIND)))
            assert Counter(status for (status,) in rows) == {Status.DONE: day.despatches}
            assert store.link_count("shipment") == day.despatches
        finally:
            store.close()
        shipments = shipping_of(world.magento).shipments.values()
        assert len(shipments) == day.despatches
        numbers = Counter(t["track_number"] for s in shipments for t in s["tracks"])
        assert len(numbers) == day.despatches and set(numbers.values()) == {1}
        for order in world.magento:
            for item in order["items"]:
                assert item["qty_shipped"] <= item["qty_ordered"]
    finally:
        world.stop()
