"""ERP price list → storefront prices (base, special, tier): only what changed, in batches (R-CAT-2).

observe: read the ERP's price list (`PriceSource`) in the storefront's currency, plan it against the last
confirmed prices (`pushed_prices`) with the pure planner (`price_plan.py`), and enqueue one ledger row per
batch in lane `catalog`. handle: push each batch (`PriceSink.push_price_batch`); a row the storefront
refuses (no such product, a negative price) parks once as `price_rejected`, and only the rows it took
reach `pushed_prices`, in the same transaction as the batch's outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from trueup.errors import Retriable
from trueup.model.exceptions import Reason
from trueup.model.prices import CATALOG_LANE, PRICE_KIND, price_payload, price_rows
from trueup.model.work import Done, InputRejection, Job, NewWork, Outcome, Retry
from trueup.ports import DriftFindings, ExceptionQueue, PriceSink, PriceSource, StorefrontPrices

DRIFT_READ = 500  # SKUs per base-prices-information request


class PriceState(Protocol):
    async def pushed_prices(self) -> list[tuple[str, str, str, int, str]]: ...

    async def prices_in_flight(self) -> list[tuple[str, str, str, int]]: ...


@dataclass(frozen=True, slots=True)
class PriceDriftReport:
    findings: int
    parked: int


@dataclass(frozen=True, slots=True)
class PricePlanSummary:
    listed: int
    changed: int
    batches: int
    version: str


class PriceFlow:
    name = "prices"
    lane = CATALOG_LANE

    def __init__(
        self,
        source: PriceSource,
        sink: PriceSink,
        state: PriceState,
        exceptions: ExceptionQueue,
        *,
        currency: str,
        batch_size: int = 500,
        storefront: StorefrontPrices | None = None,
        drift_tolerance: Decimal = Decimal(0),
        findings: DriftFindings | None = None,
    ) -> None:
        self.findings = findings  # as the stock flow's: drift that clears itself and reopens
        self.storefront = storefront
        self.drift_tolerance = drift_tolerance
        self.source = source
        self.sink = sink
        self.state = state
        self.exceptions = exceptions
        self.currency = currency
        self.batch_size = batch_size
        self.full = False
        self.last_plan: PricePlanSummary | None = None
        self.pushed = 0
        self.rejected = 0
        self.api_calls = 0

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        import polars as pl  # at the first plan, not at every start (see StockFlow.observe)

        from trueup.flows.price_plan import cut_price_batches, plan_prices, price_frame, rows_frame

        pages = [price_frame(page, self.currency) async for page in self.source.prices()]
        if not pages:
            return
        listed = pl.concat(pages).unique(["sku", "kind", "customer_group", "min_qty"], keep="last")
        pushed = rows_frame([] if self.full else await self.state.pushed_prices())
        changes = plan_prices(listed, pushed, full=self.full)
        batches = cut_price_batches(changes, self.batch_size)
        digest = hashlib.sha256(b"full" if self.full else b"delta")
        for _, _, batch in batches:
            digest.update(repr(batch).encode())
        # The pass's start is in the key: a price list that changes and changes back must push again.
        version = f"{started:%Y%m%dT%H%M%S}.{digest.hexdigest()[:16]}"
        self.last_plan = PricePlanSummary(listed.height, changes.height, len(batches), version)
        rows = [
            NewWork(
                kind=PRICE_KIND,
                key=f"{self.source.name}:{version}:{number:06d}",
                lane=CATALOG_LANE,
                lock=f"price:{partition}",
                payload=price_payload(batch),
                source_version=version,
            )
            for number, partition, batch in batches
        ]
        if not rows:
            yield [], version
        for start in range(0, len(rows), 200):
            yield rows[start : start + 200], version

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        return list(await asyncio.gather(*(self.push_price_batch(job) for job in jobs)))

    async def push_price_batch(self, job: Job) -> Outcome:
        rows = price_rows(job.payload)
        try:
            report = await self.sink.push_price_batch(rows)
        except Retriable as exc:
            return Retry(job, str(exc), retry_after=exc.retry_after)
        self.api_calls += report.api_calls
        refused = report.rejected
        self.pushed += len(rows) - len(refused)
        self.rejected += len(refused)
        if refused:
            await self.exceptions.park_rejections(
                [_refused(self.sink.name, key, why) for key, why in sorted(refused.items())]
            )
            taken = [
                (r.sku, r.kind, r.customer_group, r.min_qty, r.price) for r in rows if r.key not in refused
            ]
            job = replace(job, payload=price_payload(taken))
        return Done(job, f"{len(rows)} prices, {len(refused)} refused, {report.api_calls} calls")

    async def check_drift(self) -> PriceDriftReport:
        """Base, special and tier prices the storefront shows against the last confirmed push (R-MON-2),
        leaving out prices a batch in flight is about to set. Each drift is a `price_drift` exception with
        the money at risk per unit."""
        if self.storefront is None:
            return PriceDriftReport(0, 0)
        in_flight = set(await self.state.prices_in_flight())
        expected = {
            (r[0], r[1], r[2], r[3]): Decimal(r[4])
            for r in await self.state.pushed_prices()
            if (r[0], r[1], r[2], r[3]) not in in_flight
        }
        skus = sorted({key[0] for key in expected})
        shown: dict[tuple[str, str, str, int], Decimal] = {}
        for start in range(0, len(skus), DRIFT_READ):
            shown |= await self.storefront.shown_prices(skus[start : start + DRIFT_READ])
        drifts = [
            (key, want, shown.get(key))
            for key, want in sorted(expected.items())
            if shown.get(key) is None or abs(want - shown[key]) > self.drift_tolerance
        ]
        found = [_drift(self.storefront.name, key, want, got, self.currency) for key, want, got in drifts]
        if self.findings is not None:
            await self.findings.report(Reason.PRICE_DRIFT, found)
        elif found:
            await self.exceptions.park_rejections(found)
        return PriceDriftReport(len(drifts), len(drifts))


def _drift(
    storefront: str, key: tuple[str, str, str, int], want: Decimal, got: Decimal | None, currency: str
) -> InputRejection:
    sku, kind, group, qty = key
    what = f"{kind} price" if kind != "tier" else f"tier price for {group} from {qty}"
    shows = f"no {what}" if got is None else f"{_money(got)} {currency}"
    risk = "" if got is None else f"; {_money(abs(want - got))} {currency} a unit at risk"
    # A base price keeps the key it always had, so a drift found before this check read every kind is the
    # same exception.
    tail = "" if kind == "base" else f":{kind}" + (f":{group}:{qty}" if kind == "tier" else "")
    return InputRejection(
        source=storefront,
        key=f"price:{sku}{tail}:drift",
        message=f"SKU {sku}: the storefront shows {shows} as its {what}, the ERP's price list says "
        f"{_money(want)} {currency}{risk}. Resolution: find who changed the price in the storefront "
        "outside trueup, then run `trueup sync prices --full` and resolve this exception.",
        reason=Reason.PRICE_DRIFT,
        field="price",
    )


def _money(amount: Decimal) -> str:
    """At least two decimal places, and every place the amount has (never rounded)."""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:f}" if cents == amount else f"{amount.normalize():f}"


def _refused(storefront: str, key: tuple[str, str, str, int], why: str) -> InputRejection:
    sku, kind, group, qty = key
    what = f"{kind} price" if kind != "tier" else f"tier price for {group} from {qty}"
    return InputRejection(
        source=storefront,
        key=f"price:{sku}:{kind}:{group}:{qty}",
        message=f"the storefront refused the {what} of SKU {sku}: {why}. Resolution: create the product in "
        "the storefront (or correct the SKU or the price in the ERP's price list), then resolve this "
        "exception; the price is offered again on every pass.",
        reason=Reason.PRICE_REJECTED,
        field="price",
    )


class PriceDriftCheck:
    """The price drift check as a periodic task of `trueup run`."""

    name = "price drift"

    def __init__(self, flow: PriceFlow) -> None:
        self.flow = flow

    async def sync(self) -> PriceDriftReport:
        return await self.flow.check_drift()
