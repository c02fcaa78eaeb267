"""`trueup demo --days 30`: a month of trading with seeded ledger variances; the month-end reconciliation
finds every seeded variance on top of what the month's trading left (the default one-day demo is unchanged,
see test_demo_erps.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import cli_env, trueup


def test_a_month_of_trading_finds_every_seeded_variance(tmp_path: Path) -> None:
    result = trueup(
        "demo", "--days", "30", "--orders", "200", "--seed", "4", "--no-serve", "--json",
        env=cli_env(), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    month = summary["reconciliation"]
    assert month["seeded"] == {
        "ledger_orphaned": 3,
        "ledger_net_mismatch": 2,
        "ledger_tax_mismatch": 2,
        "ledger_tax_rounding": 1,
        "refund_without_credit_note": 1,
        "credit_note_mismatch": 1,
        "ledger_unknown": 1,
    }
    assert month["seeded_found"] and month["refunds"] > 0 and month["orders"] == 200
    found, before = month["findings_by_kind"], month["before_seeding"]
    for kind, n in month["seeded"].items():
        assert found[kind] == before.get(kind, 0) + n, kind
    assert summary["outcomes_as_expected"], summary["outcome_mismatches"]
