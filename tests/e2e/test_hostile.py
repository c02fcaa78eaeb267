"""Defects found by hostile testing, each reproduced against the sandboxes through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def test_a_reused_increment_id_parks_the_second_order_naming_both_entity_ids(tmp_path: Path) -> None:
    world = World(trading_day(41, 20, faults=FaultMix.none()))
    first = world.scenario.orders[3]
    twin = {**first, "entity_id": 90_001, "grand_total": first["grand_total"]}
    world.magento.add_order(twin)
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        for _ in range(2):  # a second pass re-reads both and changes nothing
            result = trueup("sync", "orders", "--once", "-c", str(config), env=env)
            assert result.returncode == 0, result.stderr
        listed = json.loads(
            trueup(
                "exceptions", "list", "--reason", "duplicate_order_id", "--json", "-c", str(config), env=env
            ).stdout
        )
        key = first["increment_id"]
        assert [row["key"] for row in listed] == [f"{key}~entity-90001"]
        assert (
            "entity id 90001" in listed[0]["detail"]
            and f"entity id {first['entity_id']}" in listed[0]["detail"]
        )
        assert world.erp_order_counts()[key] == 1  # the first order posted, once
        assert len(world.erp_order_counts()) == len(world.scenario.orders)
    finally:
        world.stop()
