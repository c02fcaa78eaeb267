"""Shadow mode (`trueup shadow`): trueup's plan against what an incumbent integration posted to the REST ERP
sandbox. The incumbent here is trueup's own posting, then seeded with one difference of each kind on
distinct orders; the cutover report must find exactly those, and nothing is written to the ERP."""

from __future__ import annotations

import csv
import json
from copy import deepcopy
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.rest_erp_sandbox import RestErpSandbox
from trueup.sandbox.world import World


def test_the_cutover_report_finds_exactly_the_seeded_differences(tmp_path: Path, small_world: World) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    synced = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert synced.returncode == 0, synced.stderr[-3000:]
    erp = small_world.erp
    assert isinstance(erp, RestErpSandbox)
    state = erp.state
    posted = sorted(state.by_external_id)
    not_posted = sorted(k for k, v in small_world.scenario.expected.items() if v != "post")
    assert len(posted) >= 6 and not_posted

    def body(key: str) -> dict[str, Any]:
        return state.find(key)[0]

    missing, lines, tax, address, carrier = posted[:5]
    for sales_order_id in state.by_external_id.pop(missing):  # the incumbent never posted it
        del state.sales_orders[sales_order_id]
    line = body(lines)["lines"][0]
    line["qty"] = str(Decimal(line["qty"]) + 1)  # one unit too many, same money
    body(tax)["tax_total"] = str(Decimal(body(tax)["tax_total"]) - Decimal("0.37"))
    body(address)["ship_to"]["postcode"] = "ZZ9 9ZZ"
    body(carrier)["carrier"] = "ACME"
    extra = deepcopy(body(posted[5]))  # an order trueup would park, posted by the incumbent anyway
    extra["external_id"] = not_posted[0]
    state.store_sales_order(extra)
    count = len(state.sales_orders)

    out = tmp_path / "shadow"
    ran = trueup("shadow", "--since", "2000-01-01", "--out", str(out), "--json", "-c", str(config), env=env)
    assert ran.returncode == 1, ran.stderr[-3000:]
    summary = json.loads(ran.stdout)
    assert len(state.sales_orders) == count  # read only
    assert summary["differences_by_kind"] == {
        "missing": 1,
        "extra": 1,
        "lines": 1,
        "tax": 1,
        "total": 0,  # the grand totals agree: the tax was keyed lower, the net higher
        "address": 1,
        "carrier": 1,
    }
    with (out / "shadow-20000101.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    found = {(row["order_id"], row["kind"]) for row in rows}
    assert found == {
        (missing, "missing"),
        (not_posted[0], "extra"),
        (lines, "lines"),
        (tax, "tax"),
        (address, "address"),
        (carrier, "carrier"),
    }
    risk = {(row["order_id"], row["kind"]): Decimal(row["money_at_risk"]) for row in rows}
    assert risk[(tax, "tax")] == Decimal("0.37")
    assert risk[(missing, "missing")] > 0 and risk[(lines, "lines")] > 0
    report = json.loads((out / "shadow-20000101.json").read_text())
    assert report["orders_differing"] == 6 and len(report["differences"]) == 6
    html = (out / "shadow-20000101.html").read_text()
    assert "ZZ9 9ZZ" in html and "<script" not in html

    before = trueup(
        "shadow", "--since", "2000-01-01", "--until", "2000-01-02", "--out", str(out), "--json",
        "-c", str(config), env=env,
    )  # fmt: skip
    assert before.returncode == 0, before.stderr[-3000:]  # no order placed then: nothing differs
    assert json.loads(before.stdout)["orders"] == 0
