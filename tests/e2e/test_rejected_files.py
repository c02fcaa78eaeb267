"""A file the ERP drops that cannot be read goes to error/ whole and appears in the one exception queue."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def test_a_truncated_item_export_is_parked_as_an_exception_and_applies_nothing(tmp_path: Path) -> None:
    world = World(trading_day(13, 30, faults=FaultMix.none()), erp_kind="files")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        assert trueup("sync", "items", "-c", str(config), env=env).returncode == 0
        root = Path(world.erp.erp_config()["files"]["root"])
        # The ERP's export job dies half way through writing a newer item file.
        bad = root / "inbound" / "pending" / "ITEMS_20991231T235959.csv"
        bad.write_text('record,item_id,sku,barcode,name,active\nitem,"IT-9', encoding="utf-8")
        synced = trueup("sync", "items", "-c", str(config), env=env)
        assert synced.returncode == 0, synced.stderr
        assert (root / "inbound" / "error" / bad.name).exists()
        assert not bad.exists()
        listed = json.loads(trueup("exceptions", "list", "--json", "-c", str(config), env=env).stdout)
        rejected = [row for row in listed if row["kind"] == "input.rejected"]
        erp_name = world.erp.erp_config()["name"]
        assert [row["key"] for row in rejected] == [f"{erp_name}:{bad.name}"]
        row = rejected[0]
        assert row["reason"] == "malformed_record" and row["system"] == erp_name
        assert "Resolution:" in row["detail"] and bad.name in row["detail"]
        # Nothing from the bad file was applied: orders still post against the good item master.
        posted = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert posted.returncode == 0, posted.stderr
        assert sum(world.erp_order_counts().values()) == 30
    finally:
        world.stop()
