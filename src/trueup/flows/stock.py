"""ERP stock → storefront source quantities: only sellable stock, only what changed, in batches (R-STK-1…5).

observe: read the ERP's snapshot (`StockSource`), plan it against the last confirmed push (`pushed_stock`)
with the pure planner (`stock_plan.py`), and enqueue one ledger row per batch, keyed by
(ERP, snapshot time + plan hash, batch number), in lane `stock`, locked by SKU partition.
handle: push each claimed batch (`StockSink.push_stock_batch`); the runtime records the outcome, and the
store writes a done batch's rows into `pushed_stock` in the same transaction.
check_drift: the storefront's source items against `pushed_stock`, leaving out pairs in flight; a drift
that lasts past `drift_age` parks as `stock_drift` (owner warehouse).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from trueup.errors import Retriable, Skippable
from trueup.model.exceptions import Reason
from trueup.model.stock import PUSH_KIND, STOCK_LANE, StockRules, batch_payload, batch_rows
from trueup.model.work import Done, InputRejection, Job, NewWork, Outcome, Park, Problem, Retry
from trueup.ports import Clock, DriftFindings, ExceptionQueue, StockSink, StockSource, StorefrontStock

Pair = tuple[str, str]
ENQUEUE_CHUNK = 200  # ledger rows per enqueue transaction


class StockState(Protocol):
    """trueup's own record of stock pushes (kept by the store)."""

    async def pushed(self) -> list[tuple[str, str, int]]: ...

    async def in_flight(self) -> list[tuple[str, str, int]]: ...

    async def note_drift(self, findings: Sequence[tuple[str, str, int, int]]) -> dict[Pair, datetime]:
        """Remember drifts seen (forgetting those gone); returns when each was first seen."""
        ...


@dataclass(frozen=True, slots=True)
class StockPlanSummary:
    rows: int  # sellable SKU × source pairs in the snapshot
    changed: int
    batches: int
    version: str


@dataclass(frozen=True, slots=True)
class DriftReport:
    findings: int
    parked: int
    units_at_risk: int


class StockFlow:
    name = "stock"
    lane = STOCK_LANE

    def __init__(
        self,
        source: StockSource,
        sink: StockSink,
        state: StockState,
        exceptions: ExceptionQueue,
        rules: StockRules,
        clock: Clock,
        *,
        storefront: StorefrontStock | None = None,
        batch_size: int = 500,
        drift_tolerance: int = 0,
        drift_age: timedelta = timedelta(minutes=15),
        findings: DriftFindings | None = None,
    ) -> None:
        # With `findings`, drift exceptions clear themselves when the drift is gone and reopen when it is
        # back (store/drift.py); without, each lasting drift parks once.
        self.findings = findings
        self.source = source
        self.sink = sink
        self.state = state
        self.exceptions = exceptions
        self.rules = rules
        self.clock = clock
        self.storefront = storefront
        self.batch_size = batch_size
        self.drift_tolerance = drift_tolerance
        self.drift_age = drift_age
        self.full = False  # `trueup sync stock --full`: ignore pushed_stock, push every pair
        self.last_plan: StockPlanSummary | None = None
        self.pushed_rows = 0
        self.api_calls = 0

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        # The planner (and Polars under it) loads at the first plan, not at every start: `sync orders`
        # never plans stock, and Polars is a seventh of the engine's start-up.
        import polars as pl

        from trueup.flows.stock_plan import (
            cut_batches,
            levels_frame,
            plan_changes,
            plan_version,
            position_frame,
            sellable_frame,
            unmapped_locations,
        )

        # Each page becomes columns at once, so a 1M-row snapshot never lives as 1M records at a time.
        pages: list[pl.DataFrame] = []
        taken_at: datetime | None = None
        async for snapshot in self.source.stock():
            pages.append(levels_frame(snapshot.levels))
            taken_at = snapshot.taken_at if taken_at is None else max(taken_at, snapshot.taken_at)
        frame = pl.concat(pages) if pages else levels_frame(())
        del pages
        if taken_at is None or frame.is_empty():
            return  # no snapshot (a files ERP with no new stock file): nothing to plan, nothing to zero
        await self._report_unmapped(unmapped_locations(frame, self.rules))
        sellable = sellable_frame(frame, self.rules)
        pushed = position_frame([] if self.full else await self.state.pushed())
        changes = plan_changes(sellable, pushed, full=self.full)
        batches = cut_batches(changes, self.batch_size)
        version = f"{taken_at:%Y%m%dT%H%M%S}.{plan_version(batches, full=self.full)}"
        self.last_plan = StockPlanSummary(sellable.height, changes.height, len(batches), version)
        rows = [
            NewWork(
                kind=PUSH_KIND,
                key=f"{self.source.name}:{version}:{b.number:06d}",
                lane=STOCK_LANE,
                lock=f"stock:{b.partition}",
                payload=batch_payload(b.rows),
                source_version=version,
            )
            for b in batches
        ]
        if not rows:
            yield [], version
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            yield rows[start : start + ENQUEUE_CHUNK], version

    async def _report_unmapped(self, locations: list[str]) -> None:
        """One finding per unmapped location, not one per row (the ledger key makes it once ever)."""
        if locations:
            await self.exceptions.park_rejections(
                [
                    InputRejection(
                        source=self.source.name,
                        key=f"location:{loc}",
                        message=f"ERP location {loc!r} has stock but no storefront source in "
                        "[stock.locations]; its stock is left out. Resolution: map it in [stock.locations] "
                        "in trueup.toml (or leave it out on purpose) and resolve this exception.",
                        reason=Reason.UNMAPPED_LOCATION,
                        field="location",
                    )
                    for loc in locations
                ]
            )

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        # Batches claimed together never share a lock (per-lock FIFO), so they may go at once; the
        # storefront client's own concurrency limit paces them.
        return list(await asyncio.gather(*(self.push_stock_batch(job) for job in jobs)))

    async def push_stock_batch(self, job: Job) -> Outcome:
        rows = batch_rows(job.payload)
        try:
            report = await self.sink.push_stock_batch(rows)
        except Retriable as exc:
            return Retry(job, str(exc), retry_after=exc.retry_after)
        except Skippable as exc:
            return Park(job, Problem.of(exc.reason, str(exc), system=self.sink.name))
        self.api_calls += report.api_calls
        refused = report.rejected
        self.pushed_rows += len(rows) - sum(1 for r in rows if (r.sku, r.source_code) in refused)
        if report.rejected:
            # Parked per SKU (once: the key is the SKU); the batch is done for the rows the storefront took,
            # and only those reach pushed_stock, so a refused SKU is planned again on the next pass.
            parks = [
                _refused_sku(self.sink.name, sku, code, why) for (sku, code), why in sorted(refused.items())
            ]
            await self.exceptions.park_rejections(parks)
            taken = [
                (r.sku, r.source_code, r.quantity) for r in rows if (r.sku, r.source_code) not in refused
            ]
            job = replace(job, payload=batch_payload(taken))
        return Done(job, f"{len(rows)} rows, {len(report.rejected)} refused, {report.api_calls} calls")

    async def check_drift(self) -> DriftReport:
        """Compare the storefront's source items with trueup's confirmed pushes (R-MON-2)."""
        from trueup.flows.stock_plan import drift_frame, position_frame

        if self.storefront is None:
            return DriftReport(0, 0, 0)
        shown: list[tuple[str, str, int]] = []
        async for page in self.storefront.source_items():
            shown += [(r.sku, r.source_code, r.quantity) for r in page]
        found = drift_frame(
            position_frame(await self.state.pushed()),
            position_frame(shown),
            position_frame(await self.state.in_flight()),
            tolerance=self.drift_tolerance,
        )
        findings = [(str(s), str(c), int(e), int(a)) for s, c, e, a, _ in found.iter_rows()]
        first_seen = await self.state.note_drift(findings)
        now = self.clock.now()
        lasting = [f for f in findings if now - first_seen.get((f[0], f[1]), now) >= self.drift_age]
        if self.findings is not None:
            await self.findings.report(Reason.STOCK_DRIFT, [self._drift_exception(*f) for f in lasting])
        elif lasting:
            await self.exceptions.park_rejections([self._drift_exception(*f) for f in lasting])
        units = int(found.get_column("units").sum()) if found.height else 0
        return DriftReport(len(findings), len(lasting), units)

    def _drift_exception(self, sku: str, source_code: str, expected: int, actual: int) -> InputRejection:
        risk = actual - expected
        what = f"{risk} units may be oversold" if risk > 0 else f"{-risk} units are held back from sale"
        return InputRejection(
            source=self.storefront.name if self.storefront else "storefront",
            key=f"stock:{sku}@{source_code}",
            message=f"SKU {sku} at source {source_code}: the storefront shows {actual}, the ERP's sellable "
            f"figure is {expected} ({what}). Resolution: find who changed the storefront's stock outside "
            "trueup, then run `trueup sync stock --full` and resolve this exception.",
            reason=Reason.STOCK_DRIFT,
            field="quantity",
        )


def _refused_sku(storefront: str, sku: str, source_code: str, why: str) -> InputRejection:
    return InputRejection(
        source=storefront,
        key=f"stock:{sku}@{source_code}",
        message=f"the storefront refused the stock of SKU {sku} at source {source_code}: {why}. Resolution: "
        "create the source or the product in the storefront, or correct [stock.locations] or the SKU in the "
        "ERP, then resolve this exception.",
        reason=Reason.STOCK_PUSH_REJECTED,
        field="sku",
    )


class DriftCheck:
    """The stock drift check as a periodic task of `trueup run`."""

    name = "stock drift"

    def __init__(self, flow: StockFlow) -> None:
        self.flow = flow

    async def sync(self) -> DriftReport:
        return await self.flow.check_drift()
