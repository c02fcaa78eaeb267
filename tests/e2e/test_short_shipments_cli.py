"""`trueup sync despatches` against the sandboxes when the ERP closes an order short: one `short_shipment`
exception for e-commerce with the units and money to refund, or (configured) one offline credit memo in
Magento for the missing units, never two however often the despatches are synced."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from tests.e2e.test_fulfilment_cli import carrier_of, lines_of, posted_ids, shipments_of, sync
from trueup.config import dump_toml
from trueup.sandbox.magento_refunds import refunds_of
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def short_order(world: World) -> tuple[str, list[tuple[str, int]], tuple[str, int]]:
    """A posted order with more than one unit, its lines less one unit of the last, and what is left."""
    order_id = next(o for o in posted_ids(world) if sum(q for _, q in lines_of(world, o)) > 1)
    lines = lines_of(world, order_id)
    sku, qty = lines[-1]
    return order_id, lines[:-1] + ([(sku, qty - 1)] if qty > 1 else []), (sku, 1)


def unit_price_minor(world: World, order_id: str, sku: str) -> int:
    raw = next(o for o in world.magento if o["increment_id"] == order_id)
    by_id = {i["item_id"]: i for i in raw["items"]}
    for item in raw["items"]:
        parent = by_id.get(item.get("parent_item_id"))
        money = parent if parent is not None and parent["product_type"] == "configurable" else item
        if item["sku"] == sku and item.get("product_type") != "configurable":
            row = money["row_total_incl_tax"] - money.get("discount_amount", 0)
            return round(row / money["qty_ordered"] * 100)
    raise AssertionError(sku)


def exceptions(config: Path, env: dict[str, str], reason: str) -> list[dict[str, Any]]:
    listed = trueup("exceptions", "list", "--reason", reason, "--json", "-c", str(config), env=env)
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    return rows


def test_a_short_shipment_is_one_exception_for_ecommerce_with_units_and_money(tmp_path: Path) -> None:
    world = World(trading_day(33, 12, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        order_id, shipped, (sku, missing) = short_order(world)
        whole = next(o for o in posted_ids(world) if o != order_id)
        carrier, service = carrier_of(world, order_id)
        world.erp.despatch(
            order_id, carrier=carrier, service=service, tracking="S-1", lines=shipped, closes_order=True
        )
        carrier, service = carrier_of(world, whole)  # despatched whole: complete, and not short
        world.erp.despatch(whole, carrier=carrier, service=service, tracking="W-1", lines=[])

        first = sync("despatches", "--once", "--json", config=config, env=env)
        assert first["shipments"]["created"] == 2 and first["shipments"]["parked"] == 0
        assert len(shipments_of(world, order_id)) == 1
        (row,) = exceptions(config, env, "short_shipment")
        assert row["owner"] == "ecommerce"
        assert row["impact_minor"] == missing * unit_price_minor(world, order_id, sku)
        assert f"{missing} unit(s) never shipped ({missing} x {sku})" in row["detail"]
        again = sync("despatches", "--once", "--json", config=config, env=env)
        assert again["pass"] == {} and len(exceptions(config, env, "short_shipment")) == 1
    finally:
        world.stop()


def test_configured_a_short_shipment_is_one_offline_credit_memo(tmp_path: Path) -> None:
    world = World(trading_day(34, 12, faults=FaultMix.none()), erp_kind="prima")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        data = tomllib.loads(config.read_text(encoding="utf-8"))
        data["flows"].setdefault("despatches", {})["short_ship"] = "credit_memo"
        config.write_text(dump_toml(data), encoding="utf-8")
        sync("orders", "--once", config=config, env=env)
        order_id, shipped, (sku, missing) = short_order(world)
        carrier, service = carrier_of(world, order_id)
        world.erp.despatch(
            order_id, carrier=carrier, service=service, tracking="S-2", lines=shipped, closes_order=True
        )
        sync("despatches", "--once", "--json", config=config, env=env)
        sync("despatches", "--once", "--json", config=config, env=env)
        raw = next(o for o in world.magento if o["increment_id"] == order_id)
        memos = [m for m in refunds_of(world.magento).memos.values() if m["order_id"] == raw["entity_id"]]
        assert len(memos) == 1 and refunds_of(world.magento).refund_calls == 1
        (memo,) = memos
        assert sum(i["qty"] for i in memo["items"]) == missing and memo["shipping_incl_tax"] == 0
        assert round(memo["grand_total"] * 100) == missing * unit_price_minor(world, order_id, sku)
        assert exceptions(config, env, "short_shipment") == []
    finally:
        world.stop()
