"""`trueup sync refunds` as a real process against the sandboxes: a storefront refund becomes one ERP credit
note with its lines, VAT and shipping; lines back to stock are booked into the ERP's stock; the flow switched
off still finds refund drift; a refund read before its order is posted waits, then posts."""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.config import dump_toml
from trueup.sandbox.magento_refunds import refunds_of
from trueup.sandbox.scenario import FaultMix
from trueup.sandbox.world import World, trading_day


def sync(*args: str, config: Path, env: dict[str, str]) -> dict[str, Any]:
    result = trueup("sync", *args, "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout) if "--json" in args else {}


def posted_ids(world: World) -> list[str]:
    return sorted(k for k, v in world.scenario.expected.items() if v == "post")


def simple_line(world: World, order_id: str) -> tuple[str, int] | None:
    """A plain simple line of the order (SKU, quantity), if it has one."""
    raw = next(o for o in world.magento if o["increment_id"] == order_id)
    for item in raw["items"]:
        if item["product_type"] == "simple" and not item.get("parent_item_id") and item["row_total_incl_tax"]:
            return str(item["sku"]), int(item["qty_ordered"])
    return None


def with_refunds(config: Path, **refunds: Any) -> Path:
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    data.setdefault("flows", {})["refunds"] = refunds
    config.write_text(dump_toml(data), encoding="utf-8")
    return config


def test_a_refund_with_restock_posts_one_credit_note_and_books_the_units_back(tmp_path: Path) -> None:
    world = World(trading_day(41, 30, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        orders = [(o, line) for o in posted_ids(world) if (line := simple_line(world, o)) is not None]
        (restocked, (sku, qty)), (plain, _) = orders[0], orders[1]
        erp = world.erp.state  # type: ignore[attr-defined]
        item_id = next(i["item_id"] for i in erp.items.values() if i["sku"] == sku)
        before = sum(v["on_hand"] for k, v in erp.stock.items() if k[0] == item_id)
        refunds = refunds_of(world.magento)
        with_stock = refunds.refund_by_hand(restocked, [(sku, qty)], restock=True, shipping=None)
        without = refunds.refund_by_hand(plain, [], adjustment_negative=Decimal("1.50"))

        first = sync("refunds", "--once", "--json", config=config, env=env)
        assert first["credit_notes"] == {"posted": 2, "waiting": 0, "parked": 0}
        assert first["restocked_units"] == qty and first["findings_by_kind"] == {}
        counts = world.erp.credit_note_counts()
        assert counts == {f"{with_stock:09d}": 1, f"{without:09d}": 1}
        after = sum(v["on_hand"] for k, v in erp.stock.items() if k[0] == item_id)
        assert after - before == qty  # the returned units are back on hand in the ERP

        memo = refunds.memos[with_stock]
        note = erp.credit_notes[erp.credit_notes_by_external_id[f"{with_stock:09d}"][0]]
        assert Decimal(note["total"]) == memo["grand_total"]  # lines, VAT and shipping refunded
        assert Decimal(note["shipping"]["tax"]) == memo["shipping_tax_amount"] > 0
        assert [ln["restock"] for ln in note["lines"]] == [True]
        other = erp.credit_notes[erp.credit_notes_by_external_id[f"{without:09d}"][0]]
        assert Decimal(other["adjustment"]) == Decimal("-1.50") and not any(
            ln["restock"] for ln in other["lines"]
        )

        # A second pass changes nothing: the credit memo id is the idempotency key.
        again = sync("refunds", "--once", "--json", config=config, env=env)
        assert again["pass"] == {} and world.erp.credit_note_counts() == counts
        assert sum(v["on_hand"] for k, v in erp.stock.items() if k[0] == item_id) == after
    finally:
        world.stop()


def test_refunds_switched_off_are_watched_and_become_refund_drift(tmp_path: Path, db_url: str) -> None:
    world = World(trading_day(42, 10, faults=FaultMix.none()), erp_kind="stokly")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world, database_url=db_url)  # SQLite and PostgreSQL
        with_refunds(config, enabled=False, drift_grace_hours=0)
        sync("orders", "--once", config=config, env=env)
        order_id = posted_ids(world)[0]
        memo_id = refunds_of(world.magento).refund_by_hand(order_id, [], restock=True)
        memo = refunds_of(world.magento).memos[memo_id]

        watched = sync("refunds", "--once", "--json", config=config, env=env)
        assert watched["enabled"] is False
        assert watched["credit_notes"] == {"posted": 0, "waiting": 1, "parked": 0}
        assert watched["findings_by_kind"] == {"refund_drift": 1}
        assert world.erp.credit_note_counts() == {}  # nothing posted: the flow is off
        listed = trueup(
            "exceptions", "list", "--reason", "refund_drift", "--json", "-c", str(config), env=env
        )
        (row,) = json.loads(listed.stdout)
        assert row["owner"] == "finance"
        assert row["impact_minor"] == int(memo["grand_total"] * 100)

        # Switched on: the waiting memo is posted, once, and its units booked back by a stock adjustment.
        with_refunds(config, enabled=True, drift_grace_hours=0)
        posted = sync("refunds", "--once", "--json", config=config, env=env)
        assert posted["credit_notes"]["posted"] == 1 and posted["restocked_units"] > 0
        assert world.erp.credit_note_counts() == {f"{memo_id:09d}": 1}
        adjustments = world.erp.state.adjustments  # type: ignore[attr-defined]
        assert sum(i["quantity"] for a in adjustments for i in a["items"]) == posted["restocked_units"]
    finally:
        world.stop()


def test_a_refund_before_its_order_is_posted_waits_then_posts(tmp_path: Path) -> None:
    # The files ERP: an order file is only sent until the ERP's batch takes it (when this process looks).
    world = World(trading_day(43, 6, faults=FaultMix.none()), erp_kind="files")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)  # the order file is written, not yet taken
        order_id, (sku, _) = next((o, ln) for o in posted_ids(world) if (ln := simple_line(world, o)))
        memo_id = refunds_of(world.magento).refund_by_hand(order_id, [(sku, 1)])  # one unit back

        early = sync("refunds", "--once", "--json", config=config, env=env)
        assert early["credit_notes"] == {"posted": 0, "waiting": 1, "parked": 0}

        world.erp.run_batch()  # type: ignore[attr-defined]  # the ERP's nightly import takes the order file
        sync("orders", "--once", config=config, env=env)  # its acknowledgement: the order is posted
        later = sync("refunds", "--once", "--json", config=config, env=env)
        assert later["credit_notes"] == {"posted": 1, "waiting": 0, "parked": 0}
        assert world.erp.credit_note_counts() == {f"{memo_id:09d}": 1}
    finally:
        world.stop()


def test_an_order_cancelled_after_posting_is_an_exception_for_the_warehouse(tmp_path: Path) -> None:
    from trueup.sandbox.magento_invoices import invoicing_of

    # Prima's cancel request is not public: its connector cannot cancel, the warehouse must.
    world = World(trading_day(46, 10, faults=FaultMix.none()), erp_kind="prima")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        order_id = posted_ids(world)[0]
        raw = next(o for o in world.magento if o["increment_id"] == order_id)
        assert invoicing_of(world.magento).cancel(int(raw["entity_id"])) is True  # in the Magento admin

        first = sync("cancellations", "--once", "--json", config=config, env=env)
        assert first["cancellations"] == {"parked": 1}
        args = ("exceptions", "list", "--reason", "cancelled_after_post", "--json", "-c", str(config))
        (row,) = json.loads(trueup(*args, env=env).stdout)
        assert row["owner"] == "warehouse" and row["impact_minor"] == int(raw["grand_total"] * 100)
        again = sync("cancellations", "--once", "--json", config=config, env=env)
        assert again["pass"] == {} and again["cancellations"] == {"parked": 1}  # raised once
    finally:
        world.stop()


def test_a_cancellation_after_posting_cancels_in_the_rest_erp_once_and_a_despatched_one_parks(
    tmp_path: Path,
) -> None:
    from trueup.sandbox.magento_invoices import invoicing_of
    from trueup.sandbox.rest_erp_sandbox import RestErpSandbox

    world = World(trading_day(47, 10, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        assert isinstance(world.erp, RestErpSandbox)
        waiting, gone = posted_ids(world)[:2]
        world.erp.despatch(gone, carrier="RM", service="TRACKED48", tracking="G-1")  # it has left
        for order_id in (waiting, gone):
            raw = next(o for o in world.magento if o["increment_id"] == order_id)
            assert invoicing_of(world.magento).cancel(int(raw["entity_id"])) is True

        first = sync("cancellations", "--once", "--json", config=config, env=env)
        assert first["cancellations"] == {"done": 1, "parked": 1}
        (sales_order,) = world.erp.state.find(waiting)
        assert sales_order["status"] == "cancelled"
        args = ("exceptions", "list", "--reason", "cancelled_after_post", "--json", "-c", str(config))
        (row,) = json.loads(trueup(*args, env=env).stdout)
        assert gone in row["key"] and "already_despatched" in row["detail"]
        again = sync("cancellations", "--once", "--json", config=config, env=env)
        assert again["pass"] == {} and again["cancellations"] == {"done": 1, "parked": 1}
    finally:
        world.stop()
