"""Invoice on despatch (R-FIN-4) through `trueup sync despatches`: each shipment is followed by a Magento
invoice with capture for what it shipped, never invoiced twice (the order's invoiced quantities are read
first), and off by default."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from tests.e2e.test_fulfilment_cli import carrier_of, lines_of, posted_ids
from trueup.config import dump_toml
from trueup.sandbox.magento_invoices import invoicing_of
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def sync(*args: str, config: Path, env: dict[str, str]) -> dict[str, Any]:
    result = trueup("sync", *args, "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout) if "--json" in args else {}


def test_each_shipment_is_invoiced_and_captured_once(tmp_path: Path) -> None:
    world = World(trading_day(45, 20, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        plain, partial = [o for o in posted_ids(world) if sum(q for _, q in lines_of(world, o)) > 1][:2]
        carrier, service = carrier_of(world, plain)
        world.erp.despatch(plain, carrier=carrier, service=service, tracking="N-1", lines=[])
        sync("despatches", "--once", config=config, env=env)
        assert invoicing_of(world.magento).invoices == {}  # off by default

        data = tomllib.loads(config.read_text(encoding="utf-8"))
        data["flows"]["despatches"] = {"invoice_on_despatch": True}
        config.write_text(dump_toml(data), encoding="utf-8")
        lines = lines_of(world, partial)
        first, rest = (
            ([lines[0]], lines[1:])
            if len(lines) > 1
            else ([(lines[0][0], 1)], [(lines[0][0], lines[0][1] - 1)])
        )
        carrier, service = carrier_of(world, partial)
        world.erp.despatch(partial, carrier=carrier, service=service, tracking="I-1", lines=first)
        sync("despatches", "--once", config=config, env=env)
        world.erp.despatch(partial, carrier=carrier, service=service, tracking="I-2", lines=rest)
        sync("despatches", "--once", config=config, env=env)
        sync("despatches", "--once", config=config, env=env)  # nothing new: nothing invoiced again

        invoices = invoicing_of(world.magento)
        raw = next(o for o in world.magento if o["increment_id"] == partial)
        mine = [i for i in invoices.invoices.values() if i["order_id"] == raw["entity_id"]]
        assert len(mine) == 2 and all(i["state"] == 2 for i in mine)  # two shipments, two captured invoices
        for item in raw["items"]:
            assert item["qty_invoiced"] == item["qty_shipped"]  # exactly what shipped, once
        assert invoices.invoice_calls == 2
    finally:
        world.stop()
