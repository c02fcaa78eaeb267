"""Hostile Magento orders among good ones, through every ERP with `trueup sync orders --once` as a real
process: each pass completes, every good order reaches the ERP once, and each bad order is parked by
trueup's own checks before it is sent (or, for what only the ERP can know, with the ERP's message)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.flows.orders import KIND
from trueup.model.work import Status
from trueup.sandbox.scenario import FaultMix, Scenario
from trueup.sandbox.world import World, trading_day
from trueup.store import Store
from trueup.store.schema import work


def _items(order: dict[str, Any], **changes: Any) -> None:
    for item in order["items"]:
        item.update(changes)


def hostile_day() -> Scenario:
    """60 good paid orders, then 8 of them made hostile the way a real shop's data can be."""
    scenario = trading_day(31, 60, faults=FaultMix.none())
    orders = scenario.orders
    expected = dict(scenario.expected)

    def spoil(i: int, reason: str, change: Any, *, key: str | None = None) -> None:
        order = copy.deepcopy(orders[i])
        change(order)
        del expected[orders[i]["increment_id"]]
        expected[order["increment_id"] if key is None else key] = reason
        orders[i] = order

    spoil(0, "invalid_quantity", lambda o: _items(o, qty_ordered=0))
    spoil(1, "invalid_quantity", lambda o: _items(o, qty_ordered=-1))
    spoil(2, "invalid_quantity", lambda o: _items(o, qty_ordered="1.5"))
    # Without an increment_id the ledger keys the order by Magento's entity_id; the order itself is parked.
    spoil(3, "invalid_identifier", lambda o: o.update(increment_id=""), key=str(orders[3]["entity_id"]))
    spoil(4, "invalid_identifier", lambda o: o.update(increment_id="9" * 40))
    spoil(5, "invalid_identifier", lambda o: _items(o, sku="S" * 100))
    spoil(6, "post", lambda o: _items(o, name="Tee " + "x" * 5_000_000))  # descriptive: trimmed, posted
    spoil(7, "post", lambda o: o.update(customer_email=None))  # a guest with no e-mail: "" never "None"
    return Scenario(scenario.seed, orders, scenario.erp_items, expected, scenario.pending, scenario.carriers)


@pytest.mark.parametrize("erp", ["rest", "stokly", "prima", "merret", "files"])
def test_hostile_orders_never_stop_a_pass_and_each_is_parked_with_its_reason(
    erp: str, tmp_path: Path
) -> None:
    scenario = hostile_day()
    world = World(scenario, erp_kind=erp)
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        first = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        world.erp_order_counts()  # a batch ERP's import batch runs (in process, where the sandbox lives)
        second = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert second.returncode == 0, second.stderr[-3000:]

        store = Store(f"sqlite:///{tmp_path / 'trueup.db'}")
        try:
            with store.tx() as conn:
                query = select(work.c.key, work.c.status, work.c.reason, work.c.detail).where(
                    work.c.kind == KIND
                )
                rows = {k: (s, r, d) for k, s, r, d in conn.execute(query)}
        finally:
            store.close()
        for key, want in scenario.expected.items():
            status, reason, detail = rows[key]
            if want == "post":
                assert (status, reason) == (Status.DONE, None), (key, detail)
            else:
                assert (status, reason) == (Status.PARKED, want), (key, detail)
                assert "Resolution:" in detail
        in_erp = world.erp_order_counts()
        assert in_erp == {k: 1 for k, v in scenario.expected.items() if v == "post"}
        note = rows[scenario.orders[6]["increment_id"]][2]
        assert note is not None and "name trimmed from 5000004 to 120 characters" in note
    finally:
        world.stop()
