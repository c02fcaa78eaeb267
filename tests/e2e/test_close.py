"""`trueup close --month`: the month's sales against the sandbox ERP's ledger, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.sandbox.world import World, utcnow


def test_close_reconciles_posted_orders_and_writes_the_report(tmp_path: Path, small_world: World) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    synced = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert synced.returncode in (0, 1), synced.stderr[-3000:]
    month = f"{utcnow():%Y-%m}"
    result = trueup("close", "--month", month, "-c", str(config), "--out", str(tmp_path), "--json", env=env)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    summary = json.loads(result.stdout)
    found = summary["findings_by_kind"]
    # Every order the ERP invoiced agrees with the storefront to the penny; what is left is what never
    # posted (parked by the order flow), and nothing the ERP holds is unknown.
    assert found["ledger_unknown"] == found["ledger_net_mismatch"] == found["ledger_tax_mismatch"] == 0
    assert summary["unreconciled"] == found["ledger_orphaned"]
    book = load_workbook(summary["xlsx"])
    assert "Variances" in book.sheetnames
    assert "<svg" in Path(summary["html"]).read_text()


def test_close_refuses_a_malformed_month(tmp_path: Path, small_world: World) -> None:
    config = write_config(tmp_path / "trueup.toml", small_world)
    result = trueup("close", "--month", "October", "-c", str(config), env=cli_env(small_world))
    assert result.returncode == 2 and "YYYY-MM" in result.stderr
