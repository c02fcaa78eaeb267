"""The dashboard in a real browser (Debian's chromium through Playwright) against a real server on loopback:
warehouse acts on its own exception and the audit names them; finance cannot act on it; customer service
sees an order's trace and cannot act. Screenshots for the README are written to docs/img/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.browser import chromium, login
from tests.web.browser import served as serve_app
from tests.web.rig import PASSWORDS, START, ids_by_key, seed
from trueup.web.app import Web, create_app

# The README's screenshots are refreshed with TRUEUP_SCREENSHOTS=docs/img; otherwise they go to a temp dir.
SHOTS = os.environ.get("TRUEUP_SCREENSHOTS")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    store = seed(tmp_path / "web.db")
    with serve_app(create_app(Web(store, clock=lambda: START))) as base:
        yield base, store
    store.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _history(store: Any) -> None:
    """Six hours of snapshots: an order waits from the third hour on, and is posted in the last."""
    from datetime import timedelta

    from sqlalchemy import update

    from trueup.store.schema import work
    from trueup.web.snapshots import take

    with store.tx() as conn:
        for hours in range(6, -1, -1):
            at = START - timedelta(hours=hours)
            late = 3 >= hours >= 1
            conn.execute(
                update(work)
                .where(work.c.key == "100000004")
                .values(status="todo" if late else "done", next_at=START - timedelta(hours=3, minutes=20))
            )
            take(conn, at)


def _login(browser: Any, base: str, role: str) -> Any:
    return login(browser, base, role, PASSWORDS[role])


@pytest.mark.slow
def test_warehouse_acts_finance_cannot_cx_traces(
    served: tuple[str, Any], browser: Any, tmp_path: Path
) -> None:
    base, store = served
    img = Path(SHOTS) if SHOTS else tmp_path
    ids = ids_by_key(store)
    ident = ids["100000001"]
    img.mkdir(parents=True, exist_ok=True)

    _history(store)
    warehouse = _login(browser, base, "warehouse")
    warehouse.goto(f"{base}/")
    assert warehouse.locator("#team-warehouse").is_visible()
    assert warehouse.locator("#health-over-time polyline").count() >= 2
    warehouse.screenshot(path=str(img / "dashboard-overview.png"), full_page=True)
    warehouse.goto(f"{base}/exceptions")
    warehouse.select_option("select[name=owner]", "finance")  # htmx swaps the table in place
    expect(warehouse.locator(f"#row-{ident}")).to_have_count(0)
    expect(warehouse.locator(f"#row-{ids['100000002']}")).to_have_count(1)
    assert "owner=finance" in warehouse.url  # the filter is in the address, to share or reload
    warehouse.goto(f"{base}/exceptions?owner=warehouse")
    row = warehouse.locator(f"#row-{ident}")
    assert "unmapped_carrier" in row.inner_text()
    warehouse.screenshot(path=str(img / "dashboard-exceptions.png"), full_page=True)
    warehouse.goto(f"{base}/exceptions/{ident}")  # its own actions: map-and-retry has its form
    assert warehouse.locator("#map input[name=target]").count() == 1
    assert warehouse.locator("#history").inner_text().count("raised") == 1
    warehouse.screenshot(path=str(img / "dashboard-detail.png"), full_page=True)
    warehouse.goto(f"{base}/exceptions?owner=warehouse")
    row = warehouse.locator(f"#row-{ident}")
    row.locator("input[type=checkbox]").check()
    warehouse.fill("#act input[name=note]", "mapped flatrate_flatrate to DPD/NEXTDAY")
    warehouse.click("#act button[value=retry]")
    assert "retry: 1 of 1 done" in warehouse.locator(".flash").inner_text()
    assert warehouse.locator(f"#row-{ident}").count() == 0  # cleared from the open queue
    warehouse.goto(f"{base}/exceptions/{ident}")
    assert warehouse.locator("#status").inner_text() == "todo"
    audit = warehouse.locator("#audit").inner_text()
    assert "web:warehouse" in audit and "mapped flatrate_flatrate to DPD/NEXTDAY" in audit
    history = warehouse.locator("#history").inner_text()
    assert "raised" in history and "web:warehouse" in history and "retry" in history

    finance = _login(browser, base, "finance")
    finance.goto(f"{base}/exceptions/{ids['100000002']}")  # its own tax variance: accept-and-post first
    buttons = finance.locator("#act button").all_inner_texts()
    assert buttons == ["accept and post", "retry", "resolve", "ignore"]
    assert finance.locator("#map").count() == 0 and finance.locator("#edit").count() == 0
    other = ids["100000003"]  # an ecommerce exception, still open
    finance.goto(f"{base}/exceptions?owner=ecommerce")
    assert finance.locator(f"#row-{other} input[type=checkbox]").count() == 0
    finance.goto(f"{base}/exceptions/{other}")
    assert "may not act" in finance.content() and finance.locator("button[value=retry]").count() == 0
    csrf = finance.locator("input[name=csrf]").first.get_attribute("value")
    forged = finance.request.post(
        f"{base}/exceptions/act",
        form={"csrf": csrf or "", "ids": str(other), "action": "retry", "note": "not mine", "back": "/"},
        max_redirects=0,
    )
    assert forged.status == 403

    cx = _login(browser, base, "cx")
    cx.goto(f"{base}/trace")
    cx.fill("input[name=q]", "cara@example.com")
    cx.click("form[action='/trace'] button")
    trace = cx.locator("#trace-100000004").inner_text()
    assert "SO-4" in trace and "TRK4" in trace and "RM TRACKED48" in trace
    cx.screenshot(path=str(img / "dashboard-trace.png"), full_page=True)
    cx.goto(f"{base}/exceptions/{ids['100000002']}")
    assert cx.locator("button[value=retry]").count() == 0
    assert re.search(r"may not act", cx.content())
