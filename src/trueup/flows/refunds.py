"""Storefront refunds become ERP credit notes, exactly once; returned units are booked back into ERP stock.

observe: page the storefront's credit memos after the cursor (a key: `<updated_at>|<entity_id>`, never an
         offset); each memo is a ledger row `refund.post` keyed by the memo's id, committed with the cursor.
plan:    a pure function of the memo, the ERP order ref (the order's link) and the item map → a credit note
         with lines (net, VAT, gross per line, the restock flags), shipping refunded and the adjustment, plus
         the stock adjustments for lines back to stock; or why it cannot be one.
apply:   `CreditNoteSink.post_credit_note`, idempotent on the memo id; then the restock through the
         connector's own means: the credit note books it (`restock_on_credit_note`, e.g. Prima's
         Restock="Y"), or a `StockAdjustmentSink` (Stokly), referenced by the memo id so a retry books
         nothing twice; an ERP with neither gets a `restock_not_booked` exception for the warehouse.
record:  the runtime writes Done and the link (external_id = memo id, erp_ref = the ERP credit note).

A memo whose order is not linked yet waits (lock `refund:<order id>`, not the order's own lock, as
despatches do), re-checked when each pass starts (`wake_waiting`). With `[flows.refunds] enabled = false`
the flow only watches (R-REF-3): each memo waits, and is closed when a credit note keyed by hand under its id
appears in the ERP; the refund checks turn what waits past the grace period into `refund_drift` findings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import ValidationError

from trueup.errors import Retriable, Skippable
from trueup.flows.awaiting import park_source_rejections, split_by_order
from trueup.model.erp import CreditNote, CreditNoteLine, StockAdjustment
from trueup.model.exceptions import Reason
from trueup.model.items import ErpItem
from trueup.model.money import to_minor
from trueup.model.refunds import CreditMemo
from trueup.model.work import Done, InputRejection, Job, NewWork, Outcome, Park, Problem, Retry, Wait
from trueup.ports import (
    Clock,
    CreditMemoSource,
    CreditNoteSink,
    ExceptionQueue,
    ItemMap,
    RefundLedger,
    StockAdjustmentSink,
)

KIND = "refund.post"
LANE = "refunds"
LINK_KIND = "credit_note"
LOCK_PREFIX = "refund:"
TOLERANCE = Decimal("0.01")
RESTOCK_REASON = "return to stock"


@dataclass(frozen=True, slots=True)
class RefundRules:
    sku_overrides: Mapping[str, str] = field(default_factory=dict)  # storefront SKU -> ERP SKU
    location: str = ""  # the ERP location returned units go back to; empty: the connector's default
    enabled: bool = True  # False: watch only (R-REF-3)


@dataclass(frozen=True, slots=True)
class Post:
    note: CreditNote
    restock: tuple[StockAdjustment, ...]


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Reason
    message: str
    field: str = "lines"


def erp_sku(sku: str, rules: RefundRules) -> str:
    return rules.sku_overrides.get(sku, sku)


def plan_credit_note(
    memo: CreditMemo, erp_order_ref: str, items: Mapping[str, ErpItem], rules: RefundRules
) -> Post | Refused:
    """The credit note (and the restock) for one credit memo. Pure."""
    lines: list[CreditNoteLine] = []
    restock: list[StockAdjustment] = []
    for n, line in enumerate(memo.lines, start=1):
        sku = erp_sku(line.sku, rules)
        item = items.get(sku)
        if item is None:
            return Refused(Reason.UNKNOWN_SKU, f"line {n}: SKU {sku!r} is not in the ERP item map")
        lines.append(
            CreditNoteLine(
                sku=sku,
                erp_item_id=item.erp_item_id,
                qty=line.qty,
                net=line.net,
                tax=line.tax,
                tax_rate=line.tax_rate,
                gross=line.gross,
                restock=line.back_to_stock,
            )
        )
        if line.back_to_stock:
            restock.append(
                StockAdjustment(
                    sku=sku,
                    erp_item_id=item.erp_item_id,
                    location=rules.location,
                    delta=line.qty,
                    reason=RESTOCK_REASON,
                    reference=memo.increment_id or memo.memo_id,
                )
            )
    counted = sum((ln.gross for ln in memo.lines), Decimal(0)) + memo.shipping_gross + memo.adjustment
    if abs(counted - memo.grand_total) > TOLERANCE * max(1, len(lines)):
        return Refused(
            Reason.TOTALS_MISMATCH,
            f"its lines, shipping and adjustment come to {counted}, its grand total is {memo.grand_total}",
            "grand_total",
        )
    note = CreditNote(
        external_id=memo.increment_id or memo.memo_id,
        order_id=memo.order_id,
        erp_order_ref=erp_order_ref,
        created_at=memo.created_at,
        currency=memo.currency,
        lines=tuple(lines),
        shipping_net=memo.shipping_gross - memo.shipping_tax,
        shipping_tax=memo.shipping_tax,
        adjustment=memo.adjustment,
        total=memo.grand_total,
        reason="storefront credit memo",
    )
    return Post(note, tuple(restock))


def observed_work(memo: CreditMemo) -> NewWork:
    key = memo.increment_id or memo.memo_id
    lock = f"{LOCK_PREFIX}{memo.order_id}"
    return NewWork(KIND, key[:128], LANE, lock[:160], memo.model_dump_json(), "1")


class RefundFlow:
    """Wires the refund flow to its ports. Holds no state between batches."""

    name = "refunds"
    lane = LANE

    def __init__(
        self,
        source: CreditMemoSource,
        sink: CreditNoteSink,
        ledger: RefundLedger,
        items: ItemMap,
        rules: RefundRules,
        clock: Clock,
        *,
        order_recheck: timedelta = timedelta(minutes=5),
        exceptions: ExceptionQueue | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.ledger = ledger
        self.items = items
        self.rules = rules
        self.clock = clock
        self.order_recheck = order_recheck
        self.exceptions = exceptions

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        await self.ledger.wake_waiting()
        async for page in self.source.credit_memos_since(cursor):
            yield [observed_work(m) for m in page.memos], page.cursor
        await park_source_rejections(self.source, self.exceptions)

    def _problem(self, reason: Reason, message: str, memo: CreditMemo | None, **kw: str) -> Problem:
        return Problem.of(
            reason,
            message,
            impact_minor=to_minor(memo.grand_total) if memo else 0,
            currency=memo.currency if memo else None,
            **kw,
        )

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        parsed: list[tuple[Job, CreditMemo]] = []
        for job in jobs:
            try:
                parsed.append((job, CreditMemo.model_validate_json(job.payload)))
            except ValidationError as exc:
                message = f"Refund {job.key}: stored payload unreadable ({exc.error_count()} errors)."
                outcomes.append(Park(job, self._problem(Reason.MALFORMED_RECORD, message, None)))
        if not self.rules.enabled:
            outcomes += await asyncio.gather(*(self._watch(job, memo) for job, memo in parsed))
            return outcomes
        ready, waits = await split_by_order(self.ledger, parsed, lambda m: m.order_id, self._awaiting_order)
        outcomes += waits
        outcomes += await asyncio.gather(*(self._post(job, memo, ref) for job, memo, ref in ready))
        return outcomes

    def _awaiting_order(self, job: Job, memo: CreditMemo) -> Wait:
        message = (
            f"Credit memo {job.key}: order {memo.order_id} is not posted to the ERP yet as far as trueup "
            "knows; the credit note is posted once it is."
        )
        problem = self._problem(Reason.REFUND_AWAITING_ORDER, message, memo, system="trueup")
        return Wait(job, problem, self.clock.now() + self.order_recheck)

    async def _watch(self, job: Job, memo: CreditMemo) -> Outcome:
        """The flow is off: close the row once a credit note keyed by hand under the memo id is in the ERP."""
        try:
            found = await self.sink.find_credit_note(job.key)
        except Retriable as exc:
            return Retry(job, str(exc), retry_after=exc.retry_after)
        if found is not None:
            note = f"Credit memo {job.key} of order {memo.order_id}: credit note {found} found in the ERP."
            return self._done(job, found, note)
        message = (
            f"Credit memo {job.key} of order {memo.order_id} ({memo.grand_total} {memo.currency}): the "
            "refund flow is off here; no credit note under its id in the ERP yet."
        )
        problem = self._problem(Reason.REFUNDS_WATCHED, message, memo, system=self.sink.name)
        return Wait(job, problem, self.clock.now() + self.order_recheck)

    async def _post(self, job: Job, memo: CreditMemo, erp_order_ref: str) -> Outcome:
        what = f"Credit memo {job.key} of order {memo.order_id}"
        try:
            items = await self.items.items_for({erp_sku(ln.sku, self.rules) for ln in memo.lines})
            plan = plan_credit_note(memo, erp_order_ref, items, self.rules)
            if isinstance(plan, Refused):
                system = self.source.name if plan.reason == Reason.TOTALS_MISMATCH else self.sink.name
                problem = self._problem(
                    plan.reason, f"{what}: {plan.message}.", memo, field=plan.field, system=system
                )
                return Park(job, problem)
            ref = await self.sink.post_credit_note(plan.note)
            units = sum(a.delta for a in plan.restock)
            if not plan.restock:
                restocked = "no lines back to stock"
            elif getattr(self.sink, "restock_on_credit_note", False):
                restocked = f"restocked {units} units with the credit note"
            elif isinstance(self.sink, StockAdjustmentSink):
                await self.sink.adjust_stock(plan.restock)
                restocked = f"restocked {units} units by stock adjustment"
            else:
                restocked = f"restock of {units} units not booked (the ERP cannot take it)"
                await self._restock_not_booked(job.key, memo, plan.restock)
            note = f"{what}: credit note {ref} for {memo.grand_total} {memo.currency}; {restocked}."
            return self._done(job, ref, note)
        except Retriable as exc:
            return Retry(job, str(exc), retry_after=exc.retry_after)
        except Skippable as exc:
            problem = self._problem(exc.reason, f"{what}: {exc.args[0]}", memo, system=self.sink.name)
            return Park(job, problem)

    async def _restock_not_booked(
        self, key: str, memo: CreditMemo, restock: Sequence[StockAdjustment]
    ) -> None:
        if self.exceptions is None:
            return
        units = ", ".join(f"{a.delta} x {a.sku}" for a in restock)
        message = (
            f"Credit memo {key} of order {memo.order_id}: {units} back to stock; the credit note is posted "
            f"but {self.sink.name} has no way for trueup to book the units. Resolution: book them into stock "
            "in the ERP by hand, then resolve this exception."
        )
        rejection = InputRejection(
            source=self.sink.name, key=f"restock:{key}", message=message, reason=Reason.RESTOCK_NOT_BOOKED
        )
        await self.exceptions.park_rejections([rejection])

    def _done(self, job: Job, ref: str, note: str) -> Done:
        return Done(job, ref, LINK_KIND, storefront=self.source.name, erp=self.sink.name, note=note)
