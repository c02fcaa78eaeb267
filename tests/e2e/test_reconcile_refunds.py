"""Storefront credit memos in the reconciliation: a refund the ERP never credited is found for finance
(daily check and month-end close), it clears once the refund flow posts the credit note, and a credit note
keyed differently in the ERP is a `credit_note_mismatch`. Against the REST ERP sandbox and the Magento
emulator over HTTP."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cli_env, trueup, write_config
from trueup.config import dump_toml
from trueup.sandbox.magento_refunds import refunds_of
from trueup.sandbox.rest_erp_sandbox import RestErpSandbox
from trueup.sandbox.world import World


def _check(config: Path, env: dict[str, str]) -> dict[str, Any]:
    result = trueup("check", "ledger", "--json", "-c", str(config), env=env)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def _listed(config: Path, env: dict[str, str], reason: str) -> list[dict[str, Any]]:
    out = trueup("exceptions", "list", "--reason", reason, "--json", "-c", str(config), env=env)
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def test_a_refund_the_erp_never_credited_is_found_and_clears_once_posted(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    data = tomllib.loads(config.read_text())
    data["checks"] = {"reconcile": {"enabled": True, "grace_hours": 0}}
    config.write_text(dump_toml(data), encoding="utf-8")
    synced = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert synced.returncode == 0, synced.stderr[-3000:]
    erp = small_world.erp
    assert isinstance(erp, RestErpSandbox)
    posted = sorted(erp.state.by_external_id)
    for n, key in enumerate(posted):  # the REST ERP invoices at despatch
        erp.despatch(key, carrier="RM", service="TRACKED48", tracking=f"T{n}")
    refunded, keyed_wrong = posted[0], posted[1]
    memos = refunds_of(small_world.magento)
    full = memos.refund_by_hand(refunded, [], restock=True, shipping=None)
    memos.refund_by_hand(keyed_wrong, [], shipping=None)

    first = _check(config, env)
    assert first["refunds"] == 2 and first["findings_by_kind"]["refund_without_credit_note"] == 2
    assert first["found"] == 2 + first["findings_by_kind"]["ledger_orphaned"]  # + the orders never posted
    rows = _listed(config, env, "refund_without_credit_note")
    assert sorted(row["key"] for row in rows) == [refunded, keyed_wrong]
    grand = Decimal(str(memos.memos[full]["grand_total"]))
    assert {row["owner"] for row in rows} == {"finance"}
    assert next(r for r in rows if r["key"] == refunded)["impact_minor"] == int(grand * 100)

    month = datetime.now(UTC).strftime("%Y-%m")
    closed = trueup("close", "--month", month, "--json", "--out", str(tmp_path), "-c", str(config), env=env)
    assert closed.returncode == 1, closed.stderr[-3000:]
    summary = json.loads(closed.stdout)
    assert summary["findings_by_kind"]["refund_without_credit_note"] == 2
    assert not any("not read" in note for note in summary["notes"])

    refunds = trueup("sync", "refunds", "--once", "--json", "-c", str(config), env=env)
    assert refunds.returncode == 0, refunds.stderr[-3000:]
    assert json.loads(refunds.stdout)["credit_notes"]["posted"] == 2
    for entry in erp.state.ledger:  # a person in the ERP re-keys one credit note 2.50 short
        if entry["kind"] == "credit_note" and entry["external_id"] == keyed_wrong:
            entry["net"] = str(Decimal(entry["net"]) - Decimal("2.50"))
            entry["gross"] = str(Decimal(entry["gross"]) - Decimal("2.50"))

    second = _check(config, env)
    assert second["findings_by_kind"]["refund_without_credit_note"] == 0
    assert second["findings_by_kind"]["credit_note_mismatch"] == 1
    assert second["findings_by_kind"]["ledger_unknown"] == 0
    assert second["cleared"] == 2 and second["found"] == first["found"] - 1
    assert _listed(config, env, "refund_without_credit_note") == []
    shown = _listed(config, env, "credit_note_mismatch")
    assert [row["key"] for row in shown] == [keyed_wrong] and shown[0]["impact_minor"] == 250


def test_payout_differences_go_to_finance_and_clear_when_the_files_agree(
    tmp_path: Path, small_world: World
) -> None:
    env = cli_env(small_world)
    config = write_config(tmp_path / "trueup.toml", small_world)
    synced = trueup("sync", "orders", "--once", "-c", str(config), env=env)
    assert synced.returncode == 0, synced.stderr[-3000:]
    orders = {o["increment_id"]: Decimal(str(o["grand_total"])) for o in small_world.magento}
    first, second = sorted(orders)[:2]
    header = (
        "id,Type,Source,Amount,Fee,Net,Currency,Created (UTC),Available On (UTC),Description,"
        "order_id (metadata)"
    )
    day = datetime.now(UTC).strftime("%Y-%m-%d 10:00:00")

    def charge(n: int, order: str, amount: Decimal) -> str:
        net = amount - Decimal("0.50")
        return f"txn_{n},charge,ch_{n},{amount},0.50,{net},gbp,{day},{day},Order #{order},{order}"

    wrong = tmp_path / "stripe_wrong.csv"
    wrong.write_text(
        "\n".join(
            [
                header,
                charge(1, first, orders[first]),
                charge(2, second, orders[second] - 1),
                charge(3, "", Decimal(9)),
            ]
        )
        + "\n"
    )
    month = datetime.now(UTC).strftime("%Y-%m")

    def close(*payouts: str) -> dict[str, Any]:
        ran = trueup(
            "close", "--month", month, *payouts, "--json", "--out", str(tmp_path), "-c", str(config), env=env
        )
        assert ran.returncode in (0, 1), ran.stderr[-3000:]
        body: dict[str, Any] = json.loads(ran.stdout)
        return body

    close("--payouts", str(wrong))
    assert [row["key"] for row in _listed(config, env, "payout_unmatched")] == ["stripe:txn_3"]
    differs = _listed(config, env, "payout_amount_mismatch")
    assert [row["key"] for row in differs] == [f"{second}:GBP"] and differs[0]["impact_minor"] == 100
    assert {row["owner"] for row in differs} == {"finance"}

    (tmp_path / "payouts").mkdir()  # the corrected export, in the configured payouts folder
    data = tomllib.loads(config.read_text())
    data["checks"] = {"reconcile": {"payouts_folder": "payouts"}}
    config.write_text(dump_toml(data), encoding="utf-8")
    right = tmp_path / "payouts" / "stripe_right.csv"
    right.write_text(
        "\n".join([header, charge(1, first, orders[first]), charge(2, second, orders[second])]) + "\n"
    )
    close()  # the corrected export: the order's difference clears; the stray line is not in it, stays
    assert _listed(config, env, "payout_amount_mismatch") == []
    assert [row["key"] for row in _listed(config, env, "payout_unmatched")] == ["stripe:txn_3"]
