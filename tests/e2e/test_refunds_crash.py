"""Crash safety of refunds: SIGKILL `sync refunds` twice in a burst of credit memos, against an ERP that also
loses the answer to some credit notes it has booked (502 after commit), then finish: every credit memo is one
ERP credit note, none is booked twice, and the units back to stock are booked back exactly once."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from tests.e2e.conftest import cli_env, run_until_killed, trueup, write_config
from trueup.flows.refunds import KIND
from trueup.model.work import Status
from trueup.sandbox.magento_refunds import refunds_of
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day
from trueup.store import Store
from trueup.store.schema import work


def test_sigkill_in_a_burst_of_refunds_duplicates_no_credit_note(tmp_path: Path) -> None:
    rng = random.Random(9)
    world = World(trading_day(44, 200, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world, batch_size=10)
        orders = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert orders.returncode == 0, orders.stderr[-3000:]
        posted = sorted(k for k, v in world.scenario.expected.items() if v == "post")
        refunds = refunds_of(world.magento)
        restock_units = 0
        for n, order_id in enumerate(posted):
            memo_id = refunds.refund_by_hand(order_id, [], restock=n % 2 == 0)
            restock_units += sum(
                int(i["qty"])
                for i in refunds.memos[memo_id]["items"]
                if i["extension_attributes"]["back_to_stock"]
            )
        erp = world.erp.state  # type: ignore[attr-defined]
        on_hand_before = sum(v["on_hand"] for v in erp.stock.values())

        world.erp.faults.error_rate = 0.05
        world.erp.faults.error_after_commit_rate = 0.05  # booked, but the answer is lost
        for _ in range(2):
            run_until_killed(config, env, ("batch", rng.randint(2, 6)), flow="refunds")
        world.erp.faults.error_rate = world.erp.faults.error_after_commit_rate = 0.0
        final = trueup("sync", "refunds", "--once", "--json", "-c", str(config), env=env)
        assert final.returncode == 0, final.stderr[-3000:]
        result = json.loads(final.stdout)
        assert result["credit_notes"]["posted"] == len(posted)

        store = Store(f"sqlite:///{tmp_path / 'trueup.db'}")
        try:
            with store.tx() as conn:
                rows = list(conn.execute(select(work.c.status).where(work.c.kind == KIND)))
            assert Counter(status for (status,) in rows) == {Status.DONE: len(posted)}
            assert store.link_count("credit_note") == len(posted)
        finally:
            store.close()
        counts = world.erp.credit_note_counts()
        assert len(counts) == len(posted) and set(counts.values()) == {1}  # none booked twice
        assert sum(v["on_hand"] for v in erp.stock.values()) - on_hand_before == restock_units
    finally:
        world.stop()
