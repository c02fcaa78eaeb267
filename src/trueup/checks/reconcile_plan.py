"""The daily reconciliation's planner: engine findings → exception-queue findings and clears. Pure.

One queue row per order and reason (`check.<reason>`, keyed by the order id): several lines of one order
with the same kind of difference are one finding, their money at risk summed. A finding open in the queue
whose order was checked again and agrees now is cleared; one a person resolved or ignored stays theirs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

import polars as pl

from trueup.checks.reconcile import JOURNALS, KINDS
from trueup.model.checks import Clear, Finding, SweepWrite
from trueup.model.exceptions import REASONS, Reason
from trueup.model.work import Problem, Status

OPEN = (str(Status.PARKED), str(Status.TODO))
RECONCILE_REASONS = tuple(Reason(str(k)) for k in KINDS)


def _amount(minor: int | None) -> str:
    return "none" if minor is None else str(Decimal(minor) / 100)


def plan_findings(
    findings: pl.DataFrame, queue: Mapping[tuple[str, str], str], checked: Collection[str], *, erp: str
) -> SweepWrite:
    """`queue`: (reason, order id) → status of the reconciliation findings the queue holds; `checked`: the
    order ids this run looked at (both sides)."""
    per_order = (
        findings.group_by("order_id", "reason")
        .agg(
            pl.col("currency").first(),
            pl.col("storefront").sum(),
            pl.col("erp").sum(),
            pl.col("money_at_risk").sum(),
            pl.col("rule").first(),
            pl.len().alias("rows"),
        )
        .sort("order_id", "reason")
    )
    found: list[Finding] = []
    for row in per_order.iter_rows(named=True):
        reason = Reason(row["reason"])
        lines = f" ({row['rows']} lines)" if row["rows"] > 1 else ""
        message = (
            f"{REASONS[reason].title}: order {row['order_id']}{lines}: "
            f"storefront {_amount(row['storefront'])}, ERP {_amount(row['erp'])} {row['currency'] or ''}; "
            f"{row['rule']}. "
            f"Suggested journal: {JOURNALS[reason]}."
        )
        problem = Problem.of(
            reason, message, impact_minor=row["money_at_risk"], currency=row["currency"], system=erp
        )
        key = (str(reason), row["order_id"])
        found.append(Finding(row["order_id"], problem, new=queue.get(key) not in OPEN))
    now_found = {(str(f.problem.reason), f.key) for f in found}
    clears = [
        Clear(reason, key, "the reconciliation found the storefront and the ERP agree now")
        for (reason, key), status in sorted(queue.items())
        if status in OPEN and (reason, key) not in now_found and key in checked
    ]
    return SweepWrite(findings=found, clears=clears)
