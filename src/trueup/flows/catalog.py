"""ERP item master → storefront products: technical attributes only, only what changed (R-CAT-1…3, R-OWN-2).

observe: read the whole item master (`CatalogSource`), plan it against the last confirmed pushes
(`pushed_items`) with the pure planner (`item_plan.py`), raise what must not be sent (a duplicate SKU, a
renamed SKU, a dynamic bundle SKU) as exceptions, and enqueue one ledger row per batch in lane `items`.
handle: push each batch (`CatalogSink.push_item_batch`); a product the storefront refuses parks once per SKU
as `item_rejected`, and only the products it took reach `pushed_items`, in the same transaction as the
batch's outcome. Descriptions, images and SEO are never part of a row: the storefront's people own them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from trueup.errors import Retriable, Skippable
from trueup.flows.item_plan import Finding, plan_items
from trueup.model.catalog import ITEM_KIND, ITEM_LANE, Pushed, item_payload, item_rows
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem
from trueup.model.partition import partition_of
from trueup.model.work import Done, InputRejection, Job, NewWork, Outcome, Park, Problem, Retry
from trueup.ports import CatalogSink, CatalogSource, DriftFindings, ExceptionQueue

ENQUEUE_CHUNK = 200
STANDING = (Reason.DUPLICATE_SKU, Reason.DYNAMIC_BUNDLE_SKU)  # states of the item master, not events


class CatalogState(Protocol):
    async def pushed_items(self) -> Mapping[str, Pushed]: ...


@dataclass(frozen=True, slots=True)
class CatalogPlanSummary:
    listed: int
    changed: int
    batches: int
    findings: int
    version: str


class CatalogFlow:
    name = "catalog"
    lane = ITEM_LANE

    def __init__(
        self,
        source: CatalogSource,
        sink: CatalogSink,
        state: CatalogState,
        exceptions: ExceptionQueue,
        *,
        batch_size: int = 100,
        barcode_attribute: str = "ean",
        findings: DriftFindings | None = None,
    ) -> None:
        # With `findings`, a duplicate or bundle SKU is a standing finding: it clears itself once the item
        # master is put right, and reopens if it comes back. A rename is an event: it parks once.
        self.findings = findings
        self.source = source
        self.sink = sink
        self.state = state
        self.exceptions = exceptions
        self.batch_size = batch_size
        self.barcode_attribute = barcode_attribute
        self.full = False
        self.last_plan: CatalogPlanSummary | None = None
        self.pushed = 0
        self.created = 0
        self.rejected = 0
        self.api_calls = 0

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        items: list[ErpItem] = []
        async for page in self.source.items():
            items += page
        if not items:
            return  # no item master read: nothing to plan (an empty master never means "delete all")
        plan = plan_items(
            items,
            {} if self.full else await self.state.pushed_items(),
            barcode_attribute=self.barcode_attribute,
            full=self.full,
        )
        events = [
            self._finding(f) for f in plan.findings if self.findings is None or f.reason not in STANDING
        ]
        if events:
            await self.exceptions.park_rejections(events)
        if self.findings is not None:
            for reason in STANDING:
                await self.findings.report(
                    reason, [self._finding(f) for f in plan.findings if f.reason == reason]
                )
        by_partition: dict[int, list[int]] = {}
        for index, row in enumerate(plan.changes):
            by_partition.setdefault(partition_of(row.sku), []).append(index)
        batches = [
            (partition, [plan.changes[i] for i in indexes[start : start + self.batch_size]])
            for partition, indexes in sorted(by_partition.items())
            for start in range(0, len(indexes), self.batch_size)
        ]
        digest = hashlib.sha256(b"full" if self.full else b"delta")
        for _, batch in batches:
            digest.update(item_payload(batch).encode())
        # The pass's start is in the key: an item that changes and changes back must be sent again.
        version = f"{started:%Y%m%dT%H%M%S}.{digest.hexdigest()[:16]}"
        self.last_plan = CatalogPlanSummary(
            plan.listed, len(plan.changes), len(batches), len(plan.findings), version
        )
        rows = [
            NewWork(
                kind=ITEM_KIND,
                key=f"{self.source.name}:{version}:{number:06d}",
                lane=ITEM_LANE,
                lock=f"item:{partition}",
                payload=item_payload(batch),
                source_version=version,
            )
            for number, (partition, batch) in enumerate(batches)
        ]
        if not rows:
            yield [], version
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            yield rows[start : start + ENQUEUE_CHUNK], version

    def _finding(self, finding: Finding) -> InputRejection:
        return InputRejection(
            source=self.source.name,
            key=finding.key,
            message=finding.message,
            reason=finding.reason,
            field="sku",
        )

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        return list(await asyncio.gather(*(self.push_item_batch(job) for job in jobs)))

    async def push_item_batch(self, job: Job) -> Outcome:
        rows = item_rows(job.payload)
        try:
            report = await self.sink.push_item_batch(rows)
        except Retriable as exc:
            return Retry(job, str(exc), retry_after=exc.retry_after)
        except Skippable as exc:
            return Park(job, Problem.of(exc.reason, str(exc), system=self.sink.name))
        self.api_calls += report.api_calls
        self.created += report.created
        refused = report.rejected
        self.pushed += len(rows) - sum(1 for r in rows if r.sku in refused)
        self.rejected += sum(1 for r in rows if r.sku in refused)
        if refused:
            await self.exceptions.park_rejections(
                [_refused(self.sink.name, sku, why) for sku, why in sorted(refused.items())]
            )
            job = replace(job, payload=item_payload([r for r in rows if r.sku not in refused]))
        return Done(job, f"{len(rows)} products, {len(refused)} refused, {report.api_calls} calls")


def _refused(storefront: str, sku: str, why: str) -> InputRejection:
    return InputRejection(
        source=storefront,
        key=f"item:{sku}",
        message=f"the storefront refused the product {sku}: {why}. Resolution: correct the item in the ERP "
        "(or create the attribute option in the storefront), then resolve this exception; the item is "
        "offered again on every pass.",
        reason=Reason.ITEM_REJECTED,
        field="sku",
    )
