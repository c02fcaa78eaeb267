"""What the daily reconciliation does not file yet: an order or a refund within the grace, or before the
window, is not expected in the ERP's ledger."""

from __future__ import annotations

from datetime import date

import polars as pl

from trueup.checks import reconcile as r
from trueup.runtime.reconcile_task import due_findings


def test_a_refund_within_the_grace_or_before_the_window_is_not_due_yet() -> None:
    placed = pl.DataFrame(
        {
            "order_id": ["old", "new", "ok", "ok", "late-refund", "late-refund"],
            "kind": [r.INVOICE, r.INVOICE, r.INVOICE, r.CREDIT, r.INVOICE, r.CREDIT],
            "posted_on": [date(2026, 11, 1), date(2026, 11, 29), date(2026, 11, 20), date(2026, 11, 21),
                          date(2026, 11, 20), date(2026, 11, 29)],
        }
    )  # fmt: skip
    findings = pl.DataFrame(
        {
            "order_id": ["old", "new", "ok", "ok", "late-refund"],
            "reason": [str(r.ORPHANED), str(r.ORPHANED), str(r.ORPHANED), str(r.NO_CREDIT), str(r.NO_CREDIT)],
        }
    )
    due = due_findings(findings, placed, window_start=date(2026, 11, 10), newest=date(2026, 11, 28))
    assert sorted(due.iter_rows()) == [("ok", str(r.ORPHANED)), ("ok", str(r.NO_CREDIT))]
