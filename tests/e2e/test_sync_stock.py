"""`trueup sync stock` through the CLI, in a real process, against the sandbox Magento and the REST ERP
(HTTP) and Merret (stock files over real SFTP): the ERP's sellable stock reaches Magento's sources, only
moves are pushed afterwards, and a lasting drift shows in `trueup exceptions list`."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.config import dump_toml
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.stock_day import StockDay, active_skus
from trueup.sandbox.world import World, trading_day


@pytest.fixture(params=["rest", "merret"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    w = World(trading_day(5, 20, faults=FaultMix(pending_payment=0.0)), erp_kind=str(request.param))
    w.start()
    yield w
    w.stop()


def sync_stock(config: Path, world: World, *args: str) -> dict[str, object]:
    result = trueup("sync", "stock", "-c", str(config), "--json", *args, env=cli_env(world))
    assert result.returncode == 0, result.stderr[-3000:]
    out: dict[str, object] = json.loads(result.stdout)
    return out


def magento_shows(world: World) -> dict[str, int]:
    return {sku: qty for (sku, _), (qty, _) in world.inventory.items.items()}


@pytest.mark.slow
def test_sync_stock_pushes_sellable_stock_then_only_moves(world: World, tmp_path: Path) -> None:
    config = write_config(tmp_path / "trueup.toml", world)
    data = tomllib.loads(config.read_text())
    data["stock"] = {"batch_size": 10, "drift_age_seconds": 0}
    config.write_text(dump_toml(data))
    day = StockDay(world.erp, active_skus(world.scenario.erp_items, 40), seed=5)
    day.morning_count()

    first = sync_stock(config, world)
    assert first["pushed_rows"] == first["changed"] == 40
    assert magento_shows(world) == day.sellable()
    assert first["drift"] == {"findings": 0, "parked": 0, "units": 0}

    moved = day.moves(0.1)
    second = sync_stock(config, world)
    assert second["pushed_rows"] == second["changed"] == moved
    assert magento_shows(world) == day.sellable()

    # Someone edits a source quantity in Magento's admin: drift, owned by the warehouse, in the queue.
    sku = day.skus[0]
    world.inventory.set_quantity(sku, "default", day.sellable()[sku] + 7)
    third = sync_stock(config, world)
    assert third["drift"] == {"findings": 1, "parked": 1, "units": 7}
    listed = trueup("exceptions", "list", "-c", str(config), "--json", env=cli_env(world))
    assert listed.returncode == 0, listed.stderr
    drift = [row for row in json.loads(listed.stdout) if row["reason"] == "stock_drift"]
    assert len(drift) == 1 and drift[0]["owner"] == "warehouse" and sku in drift[0]["key"]

    # --full pushes every pair again, which puts the edited quantity right.
    full = sync_stock(config, world, "--full")
    assert full["pushed_rows"] == 40 and magento_shows(world) == day.sellable()


@pytest.mark.slow
def test_sync_prices_pushes_the_price_list_and_parks_what_magento_refuses(
    world: World, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "trueup.toml", world)
    skus = active_skus(world.scenario.erp_items, 10)
    for n, sku in enumerate(skus):
        world.erp.set_price(sku, "GBP", f"{20 + n}.95")
    world.prices.products.discard(skus[0])  # the store has not created this one yet
    result = trueup("sync", "prices", "-c", str(config), "--json", env=cli_env(world))
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert (out["pushed"], out["rejected_parked"], out["drift"]["findings"]) == (9, 1, 0)
    assert world.prices.base[skus[1]] == Decimal("21.95")
    listed = trueup("exceptions", "list", "-c", str(config), "--json", env=cli_env(world))
    refused = [row for row in json.loads(listed.stdout) if row["reason"] == "price_rejected"]
    assert len(refused) == 1 and skus[0] in refused[0]["key"]
