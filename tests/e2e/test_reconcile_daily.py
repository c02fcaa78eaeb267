"""The daily reconciliation (`trueup check ledger`, scheduled in `trueup run`): findings into the one
exception queue for finance, re-checked until they clear, against the REST ERP sandbox's ledger."""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.config import dump_toml
from trueup.sandbox.rest_erp_sandbox import RestErpSandbox
from trueup.sandbox.world import World


def _check(config: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = trueup("check", "ledger", "--json", "-c", str(config), env=env)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def test_unposted_sales_are_found_for_finance_and_clear_once_the_erp_invoices_them(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    data = tomllib.loads(config.read_text())
    data["checks"] = {"reconcile": {"enabled": True, "grace_hours": 0}}
    config.write_text(dump_toml(data), encoding="utf-8")
    synced = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert synced.returncode == 0, synced.stderr[-3000:]

    # The REST ERP invoices at despatch: nothing is invoiced yet, so every sale is not in the ledger.
    code, first = _check(config, env)
    assert code == 1 and first["ledger"] == 0
    assert first["found"] == first["findings_by_kind"]["ledger_orphaned"] == first["orders"] > 0
    listed = json.loads(
        trueup(
            "exceptions",
            "list",
            "--reason",
            "ledger_orphaned",
            "--limit",
            "1000",
            "--json",
            "-c",
            str(config),
            env=env,
        ).stdout
    )
    assert len(listed) == first["found"] and {row["owner"] for row in listed} == {"finance"}

    erp = small_world.erp
    assert isinstance(erp, RestErpSandbox)
    posted = sorted(erp.state.by_external_id)
    for n, key in enumerate(posted):
        erp.despatch(key, carrier="RM", service="TRACKED48", tracking=f"T{n}")
    wrong = posted[0]
    for entry in erp.state.ledger:  # a person in the ERP keys the VAT wrong on one invoice
        if entry["external_id"] == wrong:
            entry["tax"] = str(Decimal(entry["tax"]) + 5)
            entry["gross"] = str(Decimal(entry["gross"]) + 5)

    code, second = _check(config, env)
    assert code == 1 and second["ledger"] == len(posted)
    assert second["cleared"] == len(posted)  # every invoiced order's finding clears, the wrong one's too
    assert second["findings_by_kind"]["ledger_orphaned"] == first["found"] - len(posted)
    assert second["findings_by_kind"]["ledger_tax_mismatch"] == 1
    assert sum(second["findings_by_kind"].values()) == second["found"]
    shown = json.loads(
        trueup(
            "exceptions", "list", "--reason", "ledger_tax_mismatch", "--json", "-c", str(config), env=env
        ).stdout
    )
    assert [row["key"] for row in shown] == [wrong] and shown[0]["impact_minor"] == 500

    code, third = _check(config, env)  # nothing changed: no new findings, nothing filed twice
    assert third["new"] == 0 and third["found"] == second["found"] and third["cleared"] == 0
