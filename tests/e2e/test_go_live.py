"""Go-live: orders placed before `[flows.orders] start_from` are never posted; `sync orders --since` backfills
them on purpose; and a real store without a go-live moment is refused before its first pass."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.config import dump_toml
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def placed(order: dict[str, str]) -> datetime:
    return datetime.fromisoformat(order["created_at"])


def test_orders_placed_before_go_live_are_never_posted_until_a_deliberate_backfill(
    tmp_path: Path, db_url: str
) -> None:
    """On both databases: the backfill keeps a cursor of its own, which must fit the cursors table."""
    world = World(trading_day(31, 300, faults=FaultMix(pending_payment=0.0)))
    world.start()
    try:
        orders = sorted(world.scenario.orders, key=placed)
        go_live = placed(orders[len(orders) // 2])
        config = write_config(tmp_path / "trueup.toml", world, database_url=db_url)
        data = tomllib.loads(config.read_text())
        data["flows"]["orders"]["start_from"] = go_live
        config.write_text(dump_toml(data), encoding="utf-8")
        should_post = {k for k, v in world.scenario.expected.items() if v == "post"}
        after = {o["increment_id"] for o in orders if placed(o) >= go_live} & should_post
        before = should_post - after
        assert after and before
        env = cli_env(world)

        first = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        assert set(world.erp_order_counts()) == after  # nothing placed before go-live reached the ERP

        again = trueup("sync", "orders", "--once", "-c", str(config), env=env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert set(world.erp_order_counts()) == after

        backfill = placed(orders[0]).isoformat()
        filled = trueup("sync", "orders", "--once", "--since", backfill, "-c", str(config), env=env)
        assert filled.returncode == 0, filled.stderr[-2000:]
        counts = world.erp_order_counts()
        assert set(counts) == should_post
        assert set(counts.values()) == {1}
    finally:
        world.stop()


def test_a_real_store_without_a_go_live_moment_is_refused_before_its_first_pass(tmp_path: Path) -> None:
    world = World(trading_day(32, 5))
    world.start()
    try:
        config = write_config(tmp_path / "trueup.toml", world)
        data = tomllib.loads(config.read_text())
        data["storefront"]["base_url"] = "https://shop.example.co.uk/rest/default"
        config.write_text(dump_toml(data), encoding="utf-8")
        env = cli_env(world)

        check = trueup("check", "-c", str(config), env=env)
        assert check.returncode == 2
        assert "start_from is not set" in check.stderr and "Resolution:" in check.stderr

        sync = trueup("sync", "orders", "--once", "--skip-items", "-c", str(config), env=env)
        assert sync.returncode == 2
        assert "start_from is not set" in sync.stderr
        assert world.erp_order_counts() == {}

        data["flows"]["orders"]["start_from"] = datetime(2026, 12, 1)
        config.write_text(dump_toml(data), encoding="utf-8")
        assert trueup("check", "-c", str(config), env=env).returncode == 0
    finally:
        world.stop()


def test_a_since_that_is_not_a_date_is_a_clear_error(tmp_path: Path, small_world: World) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    bad = trueup("sync", "orders", "--once", "--since", "last tuesday", "-c", str(config), env=cli_env())
    assert bad.returncode == 2
    assert "--since 'last tuesday' is not a date-time" in bad.stderr
