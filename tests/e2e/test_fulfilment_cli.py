"""`trueup sync despatches` as a real process against the sandboxes: ERP despatches become Magento shipments
with tracking, partials as separate shipments, a manual shipment linked not duplicated, an unknown carrier
parked until mapped and retried, and a despatch seen before its order is posted waiting, then shipping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.connectors.magento.mapping import to_order
from trueup.rules.lines import booked_lines
from trueup.sandbox.magento_shipping import shipping_of
from trueup.sandbox.scenario import CARRIERS, FaultMix
from trueup.sandbox.world import World, trading_day


def sync(*args: str, config: Path, env: dict[str, str]) -> dict[str, Any]:
    result = trueup("sync", *args, "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout) if "--json" in args else {}


def lines_of(world: World, order_id: str) -> list[tuple[str, int]]:
    raw = next(o for o in world.magento if o["increment_id"] == order_id)
    return [(ln.sku, int(ln.qty)) for ln in booked_lines(to_order(raw, "magento"))]


def shipments_of(world: World, order_id: str) -> list[dict[str, Any]]:
    raw = next(o for o in world.magento if o["increment_id"] == order_id)
    return [s for s in shipping_of(world.magento).shipments.values() if s["order_id"] == raw["entity_id"]]


def posted_ids(world: World) -> list[str]:
    return sorted(k for k, v in world.scenario.expected.items() if v == "post")


def carrier_of(world: World, order_id: str) -> tuple[str, str]:
    raw = next(o for o in world.magento if o["increment_id"] == order_id)
    carrier, _, service = CARRIERS[to_order(raw, "magento").shipping.method].partition("/")
    return carrier, service


def test_partials_manual_shipments_and_an_unmapped_carrier_through_the_cli(tmp_path: Path) -> None:
    world = World(trading_day(31, 40, faults=FaultMix.none()))
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        multi = [o for o in posted_ids(world) if sum(q for _, q in lines_of(world, o)) > 1]
        partial, manual, unmapped = multi[0], multi[1], multi[2]

        # Two partial despatches of one order: two shipments, each with its own tracking.
        lines = lines_of(world, partial)
        halves = (
            ([lines[0]], lines[1:])
            if len(lines) > 1
            else ([(lines[0][0], 1)], [(lines[0][0], lines[0][1] - 1)])
        )
        carrier, service = carrier_of(world, partial)
        for tracking, part in zip(("P-1", "P-2"), halves, strict=True):
            world.erp.despatch(partial, carrier=carrier, service=service, tracking=tracking, lines=part)
        # Shipped by hand in the admin (no tracking typed in), then despatched by the ERP.
        shipping_of(world.magento).ship_by_hand(manual, lines_of(world, manual))
        carrier, service = carrier_of(world, manual)
        world.erp.despatch(manual, carrier=carrier, service=service, tracking="M-1", lines=[])
        # A carrier the deployment has not mapped.
        world.erp.despatch(unmapped, carrier="YODEL", service="48HR", tracking="Y-1", lines=[])

        first = sync("despatches", "--once", "--json", config=config, env=env)
        assert first["shipments"] | {"linked_own": 0} == {
            "created": 2, "linked_manual": 1, "linked_own": 0, "parked": 1, "waiting": 0
        }  # fmt: skip
        two = shipments_of(world, partial)
        assert [[t["track_number"] for t in s["tracks"]] for s in two] == [["P-1"], ["P-2"]]
        by_hand = shipments_of(world, manual)
        assert len(by_hand) == 1 and [t["track_number"] for t in by_hand[0]["tracks"]] == ["M-1"]
        assert shipments_of(world, unmapped) == []
        listed = trueup(
            "exceptions",
            "list",
            "--reason",
            "unmapped_despatch_carrier",
            "--json",
            "-c",
            str(config),
            env=env,
        )
        rows = json.loads(listed.stdout)
        assert len(rows) == 1 and rows[0]["owner"] == "warehouse"

        # A second pass changes nothing: the despatch id is the idempotency key.
        again = sync("despatches", "--once", "--json", config=config, env=env)
        assert again["pass"] == {} and len(shipping_of(world.magento).shipments) == 3

        # The warehouse's carrier is mapped, the exception retried: the despatch ships with its tracking.
        config = write_config(
            tmp_path / "trueup.toml", world, carriers={**CARRIERS, "yodel_48": "YODEL/48HR"}
        )
        retried = trueup(
            "exceptions", "retry", "--reason", "unmapped_despatch_carrier", "-m", "mapped", "--actor", "wh1",
            "-c", str(config),
            env=env,
        )  # fmt: skip
        assert retried.returncode == 0, retried.stderr
        last = sync("despatches", "--once", "--json", config=config, env=env)
        assert last["shipments"]["created"] == 3 and last["shipments"]["parked"] == 0
        assert len(shipping_of(world.magento).shipments) == 4
        yodel = shipments_of(world, unmapped)
        assert [(t["track_number"], t["carrier_code"], t["title"]) for t in yodel[0]["tracks"]] == [
            ("Y-1", "custom", "YODEL 48HR")
        ]
    finally:
        world.stop()


def test_a_despatch_before_its_order_is_posted_waits_then_ships(tmp_path: Path) -> None:
    # The files ERP: an order written as a file is only sent until the ERP's batch takes it; its batch runs
    # when this process looks (the sandbox's despatch), so the despatch is read before trueup has heard.
    world = World(trading_day(32, 6, faults=FaultMix.none()), erp_kind="files")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        order_id = posted_ids(world)[0]
        carrier, service = carrier_of(world, order_id)
        world.erp.despatch(order_id, carrier=carrier, service=service, tracking="F-1", lines=[])

        early = sync("despatches", "--once", "--json", config=config, env=env)
        assert early["shipments"]["waiting"] == 1 and shipments_of(world, order_id) == []

        sync("orders", "--once", config=config, env=env)  # the ERP's acknowledgement: the order is posted
        later = sync("despatches", "--once", "--json", config=config, env=env)
        assert later["shipments"]["created"] == 1 and later["shipments"]["waiting"] == 0
        assert [t["track_number"] for t in shipments_of(world, order_id)[0]["tracks"]] == ["F-1"]
    finally:
        world.stop()


def test_merret_despatch_files_over_sftp_become_shipments(tmp_path: Path) -> None:
    world = World(trading_day(33, 12, faults=FaultMix.none()), erp_kind="merret")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world)
        sync("orders", "--once", config=config, env=env)
        posted = posted_ids(world)[:5]
        for n, order_id in enumerate(posted):
            carrier, service = carrier_of(world, order_id)
            world.erp.despatch(order_id, carrier=carrier, service=service, tracking=f"MR-{n}", lines=[])
        result = sync("despatches", "--once", "--json", config=config, env=env)
        assert result["shipments"]["created"] == len(posted)
        for n, order_id in enumerate(posted):
            (shipment,) = shipments_of(world, order_id)
            assert [t["track_number"] for t in shipment["tracks"]] == [f"MR-{n}"]
            order = next(o for o in world.magento if o["increment_id"] == order_id)
            assert order["state"] == "complete"
    finally:
        world.stop()


def with_checks(config: Path, **despatches: float) -> Path:
    import tomllib

    from trueup.config import dump_toml

    data = tomllib.loads(config.read_text(encoding="utf-8"))
    data.setdefault("flows", {})["despatches"] = despatches
    config.write_text(dump_toml(data), encoding="utf-8")
    return config


def test_stalled_orders_and_status_drift_are_findings_with_owner_and_money(
    tmp_path: Path, db_url: str
) -> None:
    # The files ERP's batch runs only when this process looks: a despatch read before its order is
    # acknowledged waits, and past the (zero) grace period that is status drift.
    world = World(trading_day(34, 5, faults=FaultMix.none()), erp_kind="files")
    world.start()
    try:
        env = cli_env(world)
        config = write_config(tmp_path / "trueup.toml", world, database_url=db_url)  # SQLite and PostgreSQL
        with_checks(config, stalled_after_hours=0, drift_grace_hours=0)
        sync("orders", "--once", config=config, env=env)
        waiting = posted_ids(world)[0]
        carrier, service = carrier_of(world, waiting)
        world.erp.despatch(waiting, carrier=carrier, service=service, tracking="W-1", lines=[])
        first = sync("despatches", "--once", "--json", config=config, env=env)
        assert first["findings_by_kind"] == {"status_drift": 1}  # nothing is linked yet: nothing stalled

        sync("orders", "--once", config=config, env=env)  # acknowledged: every order posted
        second = sync("despatches", "--once", "--json", config=config, env=env)
        posted = posted_ids(world)
        # the waiting despatch shipped; the drift finding stays until a person resolves it
        assert second["shipments"]["created"] == 1
        assert second["findings_by_kind"] == {"status_drift": 1, "stalled_order": len(posted) - 1}
        listed = trueup(
            "exceptions", "list", "--reason", "stalled_order", "--json", "-c", str(config), env=env
        )
        rows = json.loads(listed.stdout)
        assert {r["owner"] for r in rows} == {"warehouse"} and all(r["impact_minor"] > 0 for r in rows)
    finally:
        world.stop()
