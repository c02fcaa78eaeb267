"""The issue's story end to end, in a real browser: the order flow parks orders whose shipping method has
no carrier; the warehouse logs in to the dashboard, sees them, has the carrier mapped, bulk-retries them
with a note; the next pass posts them, the exceptions clear, and the audit shows who. Finance cannot act on
them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_env, trueup, write_config
from tests.web.browser import chromium, login, served
from trueup.sandbox.scenario import CARRIERS, UNMAPPED_METHOD
from trueup.sandbox.world import World
from trueup.store import Store
from trueup.web.app import Web, create_app


@pytest.mark.slow
def test_warehouse_maps_the_carrier_and_bulk_retries_from_the_dashboard(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert trueup("sync", "orders", "--once", "-c", str(config), env=env).returncode == 0
    for name, role in (("wendy", "warehouse"), ("fred", "finance")):
        added = trueup(
            "users",
            "add",
            name,
            "--role",
            role,
            "-c",
            str(config),
            env={**env, "TRUEUP_PASSWORD": f"{name}-secret-1"},
        )
        assert added.returncode == 0, added.stderr
    expected = sorted(k for k, v in small_world.scenario.expected.items() if v == "unmapped_carrier")
    assert expected

    store = Store(f"sqlite:///{tmp_path / 'trueup.db'}", create=False)
    try:
        with served(create_app(Web(store))) as base, chromium() as browser:
            finance = login(browser, base, "fred", "fred-secret-1")
            finance.goto(f"{base}/exceptions?reason=unmapped_carrier")
            assert finance.locator("tbody input[type=checkbox]").count() == 0  # sees them, cannot act

            wendy = login(browser, base, "wendy", "wendy-secret-1")
            wendy.goto(f"{base}/exceptions?reason=unmapped_carrier")
            rows = wendy.locator("tbody tr")
            assert sorted(r.split("\t")[2] for r in rows.all_inner_texts()) == expected
            assert UNMAPPED_METHOD in wendy.locator("tbody").inner_text()

            write_config(config, small_world, carriers={**CARRIERS, UNMAPPED_METHOD: "DPD/SAMEDAY"})
            for box in wendy.locator("tbody input[type=checkbox]").all():
                box.check()
            wendy.fill("#act input[name=note]", "mapped the same-day method to DPD/SAMEDAY")
            wendy.click("#act button[value=retry]")
            assert f"retry: {len(expected)} of {len(expected)} done" in wendy.locator(".flash").inner_text()
            assert wendy.locator("tbody input[type=checkbox]").count() == 0  # out of the open queue

            again = trueup("sync", "orders", "--once", "-c", str(config), env=env)
            assert again.returncode == 0, again.stderr
            assert all(small_world.erp_order_counts().get(key) == 1 for key in expected)

            wendy.goto(f"{base}/exceptions?reason=unmapped_carrier")
            assert "Nothing matches." in wendy.locator("tbody").inner_text()
            wendy.goto(f"{base}/trace?q={expected[0]}")
            trace = wendy.locator(f"#trace-{expected[0]}").inner_text()
            assert "posted" in trace and "ERP reference" in trace
    finally:
        store.close()
    shown = json.loads(trueup("exceptions", "show", expected[0], "--json", "-c", str(config), env=env).stdout)
    assert shown["status"] == "done"
    assert [(a["actor"], a["action"], a["note"]) for a in shown["audit"]] == [
        ("web:wendy", "retry", "mapped the same-day method to DPD/SAMEDAY")
    ]
