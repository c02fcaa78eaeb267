"""Orders cancelled in the storefront after they reached the ERP: cancelled in the ERP where its connector
can (`ports.OrderCanceller`), else an exception for the warehouse with the order's value at risk.

observe: page the storefront's cancelled orders after the cursor (a key); each is a ledger row
         `order.cancel` keyed by the order id, committed with the cursor.
plan:    not linked (never posted) → nothing to do in the ERP; linked → cancel there, or park
         `cancelled_after_post` when the ERP cannot (or refuses: it has despatched).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from pydantic import ValidationError

from trueup.errors import Retriable, Skippable
from trueup.model.exceptions import Reason
from trueup.model.money import to_minor
from trueup.model.refunds import Cancellation
from trueup.model.work import Done, Job, NewWork, Outcome, Park, Problem, Retry
from trueup.ports import CancellationSource, OrderCanceller, OrderSink, RefundLedger

KIND = "order.cancel"
LANE = "cancels"
LOCK_PREFIX = "cancel:"


def observed_work(cancellation: Cancellation) -> NewWork:
    key = cancellation.order_id
    return NewWork(KIND, key[:128], LANE, f"{LOCK_PREFIX}{key}"[:160], cancellation.model_dump_json(), "1")


class CancellationFlow:
    name = "cancellations"
    lane = LANE

    def __init__(self, source: CancellationSource, sink: OrderSink, ledger: RefundLedger) -> None:
        self.source = source
        self.sink = sink
        self.ledger = ledger

    async def observe(
        self, cursor: str | None, started: datetime
    ) -> AsyncIterator[tuple[list[NewWork], str]]:
        async for page in self.source.cancellations_since(cursor):
            yield [observed_work(c) for c in page.cancellations], page.cursor

    async def handle(self, jobs: Sequence[Job]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        parsed: list[tuple[Job, Cancellation]] = []
        for job in jobs:
            try:
                parsed.append((job, Cancellation.model_validate_json(job.payload)))
            except ValidationError as exc:
                message = f"Cancellation {job.key}: stored payload unreadable ({exc.error_count()} errors)."
                outcomes.append(Park(job, Problem.of(Reason.MALFORMED_RECORD, message, system="trueup")))
        posted = await self.ledger.posted_orders({c.order_id for _, c in parsed})
        for job, cancel in parsed:
            ref = posted.get(cancel.order_id)
            if ref is None:
                note = f"Order {cancel.order_id} cancelled in the storefront before it reached the ERP."
                outcomes.append(Done(job, "not in the ERP", note=note))
                continue
            outcomes.append(await self._cancel(job, cancel, ref))
        return outcomes

    async def _cancel(self, job: Job, cancel: Cancellation, ref: str) -> Outcome:
        what = f"Order {cancel.order_id} (ERP {ref}) was cancelled in the storefront after it was posted"
        if isinstance(self.sink, OrderCanceller):
            try:
                await self.sink.cancel_sales_order(cancel.order_id, ref)
            except Retriable as exc:
                return Retry(job, str(exc), retry_after=exc.retry_after)
            except Skippable as exc:
                return self._park(job, cancel, f"{what}; the ERP refused to cancel it: {exc.args[0]}")
            return Done(job, ref, note=f"{what}: cancelled in the ERP too.")
        return self._park(job, cancel, f"{what}; {self.sink.name} cannot cancel through trueup.")

    def _park(self, job: Job, cancel: Cancellation, message: str) -> Park:
        problem = Problem.of(
            Reason.CANCELLED_AFTER_POST,
            message,
            field="state",
            impact_minor=to_minor(cancel.grand_total),
            currency=cancel.currency or None,
            system=self.sink.name,
        )
        return Park(job, problem)
