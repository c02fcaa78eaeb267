"""The orphan sweep, end to end: observe by key, plan pure, apply through ports, record in the ledger.

One pass lists the storefront's orders over a trailing window as cheap headers, a page at a time, reads
the ledger's view of each page in one query, plans (`checks.orphans`), reads back in full only the orders
it repairs, and writes each page's repairs, findings and clears in one transaction. Then it asks the ERP
about linked orders (a sample, all, or none), always including those with an open `missing_in_erp`
finding, so that such a finding clears once the ERP knows the order again.

Memory stays flat in the window's size: a page is dropped once written, and the sample is a reservoir.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from trueup.checks.orphans import (
    Candidate,
    OrphanRules,
    Verified,
    plan_missing_in_erp,
    plan_orphans,
    unrepaired,
)
from trueup.errors import Retriable, Skippable
from trueup.model.checks import Finding, SweepWrite
from trueup.model.work import NewWork
from trueup.ports import Clock, OrderIndexSource, OrderSink, SourceOrder, SweepLedger

Verify = Literal["sample", "all", "off"]


@dataclass(frozen=True, slots=True)
class SweepSettings:
    window: timedelta = timedelta(days=7)
    rules: OrphanRules = field(default_factory=OrphanRules)
    verify_in_erp: Verify = "sample"
    sample_size: int = 20
    concurrency: int = 8  # full-order reads and ERP lookups in flight


@dataclass
class SweepResult:
    orders: int = 0  # storefront orders listed in the window
    found: int = 0  # findings open after this sweep: orphaned_order + missing_in_erp
    orphaned: int = 0
    missing_in_erp: int = 0
    repaired: int = 0  # orders the sweep put into the ledger to post
    cleared: int = 0  # findings closed because their cause is gone
    resent: int = 0  # missing_in_erp findings a person retried: sent to the ERP again
    verified: int = 0  # linked orders the ERP was asked about
    unverified: int = 0  # ... whose lookup failed this time (the next sweep asks again)
    findings: list[dict[str, object]] = field(default_factory=list)  # the first 100, for reports

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items()}


class OrphanSweep:
    """A `PeriodicTask` (`trueup run`) and `trueup check orders`. `to_work` turns a re-read order into
    its ledger row exactly as observation does (`flows.orders.observed_work`), so the (kind, key) unique
    constraint keeps a race with observation from ever making a second row."""

    name = "orphan sweep"

    def __init__(
        self,
        index: OrderIndexSource,
        ledger: SweepLedger,
        erp: OrderSink,
        to_work: Callable[[SourceOrder], NewWork],
        clock: Clock,
        settings: SweepSettings,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.index = index
        # Its health is the storefront's: the sweep stops when the storefront's order list does.
        self.system = getattr(index, "name", "storefront")
        self.ledger = ledger
        self.erp = erp
        self.to_work = to_work
        self.clock = clock
        self.settings = settings
        self.rng = rng or random.Random()
        self._limit = asyncio.Semaphore(settings.concurrency)

    async def sync(self) -> SweepResult:
        result = SweepResult()
        now = self.clock.now()
        observed = await self.ledger.observed_until()
        must_verify: list[Candidate] = []
        sample: list[Candidate] = []
        seen_linked = 0
        async for page in self.index.order_index(now - self.settings.window):
            result.orders += len(page)
            views = await self.ledger.order_views([h.key for h in page])
            plan = plan_orphans(page, views, now, self.settings.rules, observed)
            findings, repairs = await self._repair(plan.findings)
            await self.ledger.write_sweep(SweepWrite(repairs, findings, plan.clears, plan.resends))
            result.repaired += len(repairs)
            result.cleared += len(plan.clears)
            result.resent += len(plan.resends)
            self._report(result, findings)
            for c in plan.linked:
                if c.open is not None:
                    must_verify.append(c)
                elif self.settings.verify_in_erp == "all":
                    sample.append(c)
                elif self.settings.verify_in_erp == "sample":
                    # reservoir sampling: every linked order in the window equally likely, in O(n) memory
                    seen_linked += 1
                    if len(sample) < self.settings.sample_size:
                        sample.append(c)
                    else:
                        j = self.rng.randrange(seen_linked)
                        if j < self.settings.sample_size:
                            sample[j] = c
            if self.settings.verify_in_erp == "all" and len(sample) >= 1000:
                await self._verify(sample, result)
                sample = []
        await self._verify([*must_verify, *sample], result)
        return result

    async def _repair(self, findings: Sequence[Finding]) -> tuple[list[Finding], list[NewWork]]:
        """Read back in full each order to repair; a read that fails leaves the finding unrepaired."""

        async def one(f: Finding) -> tuple[Finding, NewWork | None]:
            if f.repair is None:
                return f, None
            async with self._limit:
                try:
                    src = await self.index.fetch_order(f.repair)
                except (Retriable, Skippable) as exc:
                    return unrepaired(f, str(exc)), None
            if src is None:
                return unrepaired(f, f"{self.index.name} no longer has entity {f.repair}"), None
            return f, self.to_work(src)

        done = await asyncio.gather(*(one(f) for f in findings))
        return [f for f, _ in done], [w for _, w in done if w is not None]

    async def _verify(self, candidates: Sequence[Candidate], result: SweepResult) -> None:
        if not candidates:
            return

        async def ask(c: Candidate) -> Verified | None:
            async with self._limit:
                try:
                    return Verified(c, await self.erp.find_sales_order(c.header.key))
                except Retriable:
                    return None

        answers = await asyncio.gather(*(ask(c) for c in candidates))
        verified = [a for a in answers if a is not None]
        result.verified += len(verified)
        result.unverified += len(answers) - len(verified)
        findings, clears = plan_missing_in_erp(verified, self.erp.name)
        await self.ledger.write_sweep(SweepWrite(findings=findings, clears=clears))
        result.cleared += len(clears)
        self._report(result, findings)

    @staticmethod
    def _report(result: SweepResult, findings: Sequence[Finding]) -> None:
        for f in findings:
            result.found += 1
            if f.problem.reason == "orphaned_order":
                result.orphaned += 1
            else:
                result.missing_in_erp += 1
            if len(result.findings) < 100:
                result.findings.append(
                    {
                        "key": f.key,
                        "reason": str(f.problem.reason),
                        "repaired": f.repair is not None,
                        "impact_minor": f.problem.impact_minor,
                        "currency": f.problem.currency,
                        "system": f.problem.system,
                        "message": f.problem.message,
                    }
                )
