"""The issue's story end to end, in a real browser: the order flow parks orders whose shipping method has
no carrier; the warehouse logs in to the dashboard, sees them, maps the carrier from the exception's page
(map-and-retry, with a note), which retries every order that used the method; the next sync pass posts
them, the exceptions clear, and the history shows who did it. Finance cannot act on them; customer service
sees the order's trace and cannot act."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_env, trueup, write_config
from tests.web.browser import chromium, login, served
from trueup.sandbox.scenario import UNMAPPED_METHOD
from trueup.sandbox.world import World
from trueup.store import Store
from trueup.web.app import Web, create_app


@pytest.mark.slow
def test_warehouse_maps_the_carrier_from_the_dashboard_and_the_exceptions_clear(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    assert trueup("sync", "orders", "--once", "-c", str(config), env=env).returncode == 0
    for name, role in (("wendy", "warehouse"), ("fred", "finance"), ("carl", "cx")):
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
    note = "premium same-day ships with DPD/SAMEDAY"

    store = Store(f"sqlite:///{tmp_path / 'trueup.db'}", create=False)
    try:
        with served(create_app(Web(store))) as base, chromium() as browser:
            wendy = login(browser, base, "wendy", "wendy-secret-1")
            wendy.goto(f"{base}/exceptions?reason=unmapped_carrier")
            rows = wendy.locator("tbody tr")
            assert sorted(r.split("\t")[2] for r in rows.all_inner_texts()) == expected
            assert UNMAPPED_METHOD in wendy.locator("tbody").inner_text()
            first = wendy.locator(f"tbody tr:has-text('{expected[0]}') a").first
            first.click()  # the exception's page
            detail_url = wendy.url
            assert UNMAPPED_METHOD in wendy.locator("#map").inner_text()

            finance = login(browser, base, "fred", "fred-secret-1")
            finance.goto(f"{base}/exceptions?reason=unmapped_carrier")
            assert finance.locator("tbody input[type=checkbox]").count() == 0  # sees them, cannot act
            finance.goto(detail_url)
            assert "may not act" in finance.content() and finance.locator("#map").count() == 0
            csrf = finance.locator("input[name=csrf]").first.get_attribute("value")
            ident = detail_url.rsplit("/", 1)[1]
            forged = finance.request.post(
                f"{base}/exceptions/act",
                form={
                    "csrf": csrf or "",
                    "ids": ident,
                    "action": "map_and_retry",
                    "target": "RM/TRACKED48",
                    "note": "not mine",
                    "back": "/",
                },
                max_redirects=0,
            )
            assert forged.status == 403

            wendy.fill("#map input[name=target]", "DPD/SAMEDAY")
            wendy.fill("#map input[name=note]", note)
            wendy.click("#map button[value=map_and_retry]")
            n = len(expected)
            assert f"map_and_retry: {n} of {n} done" in wendy.locator(".flash").inner_text()
            assert wendy.locator("#status").inner_text() == "todo"
            wendy.goto(f"{base}/exceptions?reason=unmapped_carrier")
            assert "Nothing matches." in wendy.locator("tbody").inner_text()  # out of the open queue

            again = trueup("sync", "orders", "--once", "-c", str(config), env=env)  # the next pass
            assert again.returncode == 0, again.stderr
            assert all(small_world.erp_order_counts().get(key) == 1 for key in expected)

            wendy.goto(detail_url)
            assert wendy.locator("#status").inner_text() == "done"
            history = wendy.locator("#history tbody tr").all_inner_texts()
            events = [row.split("\t")[1] for row in history]
            assert events == ["raised", "action", "cleared"]
            assert "web:wendy" in history[1] and "map_and_retry" in history[1] and note in history[1]

            carl = login(browser, base, "carl", "carl-secret-1")
            carl.goto(f"{base}/trace?q={expected[0]}")
            trace = carl.locator(f"#trace-{expected[0]}").inner_text()
            assert "posted" in trace and "ERP reference" in trace
            carl.goto(detail_url)
            assert "may not act" in carl.content()
            assert carl.locator("#map").count() == 0 and carl.locator("#act").count() == 0
    finally:
        store.close()
    shown = json.loads(trueup("exceptions", "show", expected[0], "--json", "-c", str(config), env=env).stdout)
    assert shown["status"] == "done"
    assert [(a["actor"], a["action"], a["note"]) for a in shown["audit"]] == [
        ("web:wendy", "map_and_retry", note)
    ]
