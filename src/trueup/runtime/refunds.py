"""The refund flow's ports over the store (`RefundLedger`), and the refund checks: findings in the one
exception queue, each with its owner and the money at risk.

- refund drift, not posted: a credit memo observed longer than `drift_grace` ago that is still not an ERP
  credit note (waiting for its order, the flow switched off, retrying). A memo that is parked is an
  exception of its own already and is not reported twice.
- refund drift, totals: a posted credit memo whose ERP credit note, as the ERP's sales/credit ledger lists
  it (`LedgerSource`, by the credit note's document id), carries a different gross than the memo's grand
  total. A credit note not in the ledger yet (a batch ERP books it overnight) is not a finding.

Each finding is a parked row of kind `check.refunds` in lane `checks`, keyed `<reason>:<memo id>`: running
the check again is a no-op, and a finding resolved by a person stays resolved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from trueup.model.erp import LedgerKind
from trueup.model.exceptions import Reason
from trueup.model.money import to_minor
from trueup.model.work import NewWork, Problem
from trueup.ports import Clock, LedgerSource
from trueup.runtime.backend import EmbeddedBackend
from trueup.store import fulfilment, refunds

KIND = refunds.CHECK_KIND
LANE = "checks"
TOLERANCE = Decimal("0.01")


class StoreRefundLedger:
    def __init__(
        self, backend: EmbeddedBackend, storefront: str, clock: Clock, *, enabled: bool = True
    ) -> None:
        self.enabled = enabled
        self.backend = backend
        self.storefront = storefront
        self.clock = clock

    async def posted_orders(self, order_ids: Iterable[str]) -> Mapping[str, str]:
        ids = list(order_ids)
        return await self.backend.call(fulfilment.posted_orders, self.backend.store, self.storefront, ids)

    async def wake_waiting(self) -> int:
        store = self.backend.store
        now = self.clock.now()
        return await self.backend.call(
            refunds.wake_waiting, store, self.storefront, now, enabled=self.enabled
        )


def drift_work(key: str, payload: str, message: str) -> NewWork:
    order_id, total, currency = refunds.memo_total(payload)
    problem = Problem.of(
        Reason.REFUND_DRIFT,
        message,
        field="grand_total",
        impact_minor=to_minor(Decimal(total)),
        currency=currency or None,
        system="erp",
    )
    finding = f"{Reason.REFUND_DRIFT}:{key}"[:128]
    body = json.dumps({"order_id": order_id, "subject": key})
    return NewWork(KIND, finding, LANE, f"check:{finding}"[:160], body, "1", parked=problem)


class RefundChecks:
    """A periodic task (`trueup run`) and the end of each `sync refunds` pass."""

    name = "refund checks"

    def __init__(
        self,
        backend: EmbeddedBackend,
        clock: Clock,
        *,
        erp: str,
        drift_grace: timedelta,
        enabled: bool,
        ledger: LedgerSource | None = None,
        storefront: str = "magento",
    ) -> None:
        self.backend = backend
        self.ledger = ledger
        self.storefront = storefront
        self.clock = clock
        self.erp = erp
        self.drift_grace = drift_grace
        self.enabled = enabled

    def findings(self, now: datetime) -> list[NewWork]:
        hours = self.drift_grace.total_seconds() / 3600
        found = []
        for key, payload, status in refunds.unposted_refunds(self.backend.store, now - self.drift_grace):
            order_id, total, currency = refunds.memo_total(payload)
            why = "the refund flow is off here" if not self.enabled else f"its row is {status}"
            message = (
                f"Credit memo {key} of order {order_id} ({total} {currency}): no credit note in {self.erp} "
                f"over {hours:g} hours after trueup read it ({why})."
            )
            found.append(drift_work(key, payload, message))
        return found

    async def total_findings(self) -> list[NewWork]:
        """Posted memos whose ERP credit note, as the ERP's ledger lists it, has another gross."""
        if self.ledger is None:
            return []
        posted = await self.backend.call(refunds.posted_refunds, self.backend.store, self.storefront)
        if not posted:
            return []
        dates = [datetime.fromisoformat(json.loads(p)["created_at"]).date() for _, p, _ in posted]
        gross: dict[str, Decimal] = {}
        async for page in self.ledger.ledger(min(dates), self.clock.now().date()):
            for entry in page:
                if entry.kind == LedgerKind.CREDIT_NOTE:
                    gross[entry.document_id] = entry.gross
        found = []
        for key, payload, ref in posted:
            order_id, total, currency = refunds.memo_total(payload)
            booked = gross.get(ref)
            if booked is not None and abs(booked - Decimal(total)) > TOLERANCE:
                message = (
                    f"Credit memo {key} of order {order_id}: refunded {total} {currency} in the storefront, "
                    f"but {self.erp}'s credit note {ref} is for {booked}."
                )
                found.append(drift_work(key, payload, message))
        return found

    async def sync(self) -> dict[str, int]:
        now = self.clock.now()
        found = await self.backend.call(self.findings, now)
        found += await self.total_findings()
        await self.backend.enqueue(found, now, None)
        return {str(Reason.REFUND_DRIFT): len(found)} if found else {}
