"""The daily sales-to-ledger reconciliation as a periodic task of `trueup run` (and `trueup check ledger`).

Each run reads the ERP's postings of the last `window_days` and the storefront's orders placed from
`lookback_days` before that, reconciles them, and writes the findings into the one exception queue (finance
owns every reason), re-checking the open ones: a finding whose order agrees now is cleared.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from trueup.checks import reconcile as r
from trueup.checks.reconcile_plan import RECONCILE_REASONS, plan_findings
from trueup.finance.gather import gather
from trueup.model.checks import SweepWrite
from trueup.ports import Clock, CreditMemoSource, LedgerSource, OrderSource
from trueup.runtime.backend import EmbeddedBackend
from trueup.store import checks
from trueup.store.reconcile import finding_statuses


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    window_days: int = 7
    lookback_days: int = 30
    grace: timedelta = timedelta(hours=24)
    tolerances: r.Tolerances = field(default_factory=r.Tolerances)


def due_findings(
    findings: pl.DataFrame, placed: pl.DataFrame, window_start: date, newest: date
) -> pl.DataFrame:
    """Drop what is not a difference yet: an order placed (a refund made) within the grace (the ERP may not
    have invoiced it, or credited it), or before the window (its document may be older than the postings
    read)."""

    def early(kind: str) -> pl.Series:
        docs = placed.filter(pl.col("kind") == kind)
        return docs.filter((pl.col("posted_on") < window_start) | (pl.col("posted_on") > newest))["order_id"]

    not_due = (
        (pl.col("reason") == str(r.ORPHANED)) & pl.col("order_id").is_in(early(r.INVOICE).implode())
    ) | ((pl.col("reason") == str(r.NO_CREDIT)) & pl.col("order_id").is_in(early(r.CREDIT).implode()))
    return findings.filter(~not_due)


class ReconcileTask:
    name = "reconcile"

    def __init__(
        self,
        source: OrderSource,
        ledger: LedgerSource,
        backend: EmbeddedBackend,
        clock: Clock,
        settings: ReconcileSettings,
        *,
        erp: str,
        memos: CreditMemoSource | None = None,
    ) -> None:
        self.source, self.ledger, self.backend, self.clock = source, ledger, backend, clock
        self.settings, self.system, self.memos = settings, erp, memos

    async def sync(self) -> dict[str, object]:
        now = self.clock.now()
        s = self.settings
        period = r.Period(now.date() - timedelta(days=s.window_days - 1), now.date())
        sf, erp, notes = await gather(
            self.source,
            self.ledger,
            period,
            now,
            orders_from=period.start - timedelta(days=s.lookback_days),
            memos=self.memos,
        )
        found = await asyncio.to_thread(r.reconcile, sf, erp, s.tolerances)
        found = due_findings(found, sf.documents, period.start, (now - s.grace).date())
        checked = set(sf.documents["order_id"].to_list()) | set(erp.documents["order_id"].to_list())

        def statuses() -> dict[tuple[str, str], str]:
            with self.backend.store.tx() as conn:
                return finding_statuses(conn, RECONCILE_REASONS)

        write = plan_findings(found, await self.backend.call(statuses), checked, erp=self.system)

        def apply(write: SweepWrite = write) -> None:
            with self.backend.store.tx() as conn:
                checks.write_sweep(
                    conn, write, now, order_kind="", link_kind="", storefront="", check="reconciliation"
                )

        await self.backend.call(apply)
        return {
            "period": [str(period.start), str(period.end)],
            "orders": sf.documents.filter(pl.col("kind") == r.INVOICE).height,
            "refunds": sf.documents.filter(pl.col("kind") == r.CREDIT).height,
            "ledger": erp.documents.height,
            "found": len(write.findings),
            "new": sum(f.new for f in write.findings),
            "cleared": len(write.clears),
            "findings_by_kind": r.counts(found),
            "notes": notes,
        }
