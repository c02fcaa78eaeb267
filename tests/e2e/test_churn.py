"""The store keeps changing while trueup reads it: one `sync orders --once` still posts every paid order.

Between every page request the sandbox Magento updates orders trueup has already read (as an invoice, a
comment or another integration would) and takes new orders. Offset paging lost 57 paid orders of 2,000 this
way; paging by (updated_at, entity_id) loses none. Orders that arrive during the pass belong to the next one.
"""

from __future__ import annotations

import copy
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.magento_churn import OrderChurn
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def test_one_pass_posts_every_paid_order_while_orders_change_and_arrive(tmp_path: Path) -> None:
    world = World(trading_day(23, 2000, faults=FaultMix(pending_payment=0.0)))
    should_post = {k for k, v in world.scenario.expected.items() if v == "post"}
    template = next(o for o in world.scenario.orders if o["increment_id"] in should_post)
    churn = OrderChurn(touches=3, arrivals=1, seed=23, template=lambda rng: copy.deepcopy(template))
    world.magento.observers.append(churn)
    world.start()
    try:
        config = write_config(tmp_path / "trueup.toml", world)  # 100 orders a page: 20+ page requests
        env = cli_env(world)
        first = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        counts = world.erp_order_counts()
        assert should_post <= set(counts), sorted(should_post - set(counts))[:10]
        assert set(counts.values()) == {1}
        assert len(churn.touched) >= 3 * 20 and churn.arrived  # the store really changed under the pass

        arrived_before_second_pass = list(churn.arrived)
        second = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert second.returncode == 0, second.stderr[-2000:]
        counts = world.erp_order_counts()
        assert {*should_post, *arrived_before_second_pass} <= set(counts)
        assert set(counts.values()) == {1}
    finally:
        world.stop()
