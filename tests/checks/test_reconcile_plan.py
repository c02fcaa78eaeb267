"""The daily reconciliation's planner: one queue finding per order and reason, cleared when it agrees."""

from __future__ import annotations

import polars as pl

from trueup.checks import reconcile as r
from trueup.checks.reconcile_plan import plan_findings
from trueup.model.exceptions import Owner


def _findings(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = {"line_no": None, "currency": "GBP", "rule": "x"}
    return pl.DataFrame([{**base, **row} for row in rows], schema=r.FINDING_SCHEMA)


def test_lines_of_one_order_are_one_finding_with_their_money_summed_and_a_journal() -> None:
    found = _findings(
        [
            {"order_id": "1", "reason": str(r.SKU), "line_no": 0, "storefront": 1200, "erp": 1200,
             "difference": 0, "money_at_risk": 1200},
            {"order_id": "1", "reason": str(r.SKU), "line_no": 1, "storefront": 600, "erp": None,
             "difference": 600, "money_at_risk": 600},
        ]
    )  # fmt: skip
    write = plan_findings(found, {}, {"1"}, erp="rest")
    (finding,) = write.findings
    assert finding.key == "1" and finding.new and finding.problem.owner is Owner.FINANCE
    assert finding.problem.impact_minor == 1800 and finding.problem.system == "rest"
    assert "(2 lines)" in finding.problem.message and "Suggested journal:" in finding.problem.message
    assert "Resolution:" in finding.problem.message


def test_open_findings_are_not_new_and_those_that_agree_now_clear_only_if_checked() -> None:
    found = _findings(
        [{"order_id": "2", "reason": str(r.NET), "storefront": 1000, "erp": 990, "difference": 10,
          "money_at_risk": 10}]
    )  # fmt: skip
    queue = {
        (str(r.NET), "2"): "parked",  # still differs: stays, not new
        (str(r.ORPHANED), "3"): "parked",  # checked and agrees now: cleared
        (str(r.ORPHANED), "4"): "parked",  # not looked at in this run: left alone
        (str(r.TAX), "5"): "resolved",  # a person's decision: never touched
    }
    write = plan_findings(found, queue, {"2", "3", "5"}, erp="rest")
    assert [(f.key, f.new) for f in write.findings] == [("2", False)]
    assert [(c.reason, c.key) for c in write.clears] == [(str(r.ORPHANED), "3")]
