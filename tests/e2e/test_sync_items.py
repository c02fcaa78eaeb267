"""`trueup sync items` through the CLI, in a real process, against the sandbox Magento and two ERPs (the REST
ERP over HTTP, Merret's item files over real SFTP): the item map is refreshed as before, then the item
master becomes the store's products (names and status from the ERP, barcodes as a custom attribute), only
changes are sent on the next pass, and `--map-only` sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


@pytest.fixture(params=["rest", "merret"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    w = World(trading_day(6, 20, faults=FaultMix(pending_payment=0.0)), erp_kind=str(request.param))
    w.start()
    yield w
    w.stop()


def sync_items(config: Path, world: World, *args: str) -> dict[str, Any]:
    result = trueup("sync", "items", "-c", str(config), "--json", *args, env=cli_env(world))
    assert result.returncode == 0, result.stderr[-3000:]
    out: dict[str, Any] = json.loads(result.stdout)
    return out


@pytest.mark.slow
def test_sync_items_maps_then_sends_the_item_master_to_the_store(world: World, tmp_path: Path) -> None:
    config = write_config(tmp_path / "trueup.toml", world)
    items = {str(i["sku"]): i for i in world.scenario.erp_items}
    description = {"attribute_code": "description", "value": "Written by the merchandising team."}
    some_sku = sorted(items)[0]
    world.catalog.save({"sku": some_sku, "custom_attributes": [description]})

    mapped_only = sync_items(config, world, "--map-only")
    assert mapped_only["map"]["items"] == len(items) and mapped_only["catalog"] is None
    assert {p["name"] for p in world.catalog.products.values()} == set(items)  # still the seeded names

    first = sync_items(config, world)
    catalog = first["catalog"]
    assert catalog["pushed"] == catalog["changed"] == len(items) - catalog["findings"]
    assert catalog["rejected_parked"] == 0
    for sku, item in items.items():
        product = world.catalog.products[sku]
        assert product["name"] == (item.get("name") or sku)
        assert product["status"] == (1 if item.get("active", True) else 2)
        if item.get("barcode"):
            assert world.catalog.attribute(sku, "ean") == item["barcode"]
    assert world.catalog.attribute(some_sku, "description") == description["value"]  # R-OWN-2

    again = sync_items(config, world)
    assert again["catalog"]["changed"] == again["catalog"]["pushed"] == 0
