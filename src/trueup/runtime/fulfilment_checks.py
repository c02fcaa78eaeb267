"""Fulfilment checks (runtime: they read the ledger): findings in the one exception queue, each with its
owner and the money at risk.

- stalled order: posted (linked) longer than `stalled_after` ago and not despatched at all;
- status drift: despatched in the ERP longer than `drift_grace` ago and still not a storefront shipment
  (waiting for its order, retrying), so the storefront order still shows processing with no tracking.
  A despatch that is parked is an exception of its own already and is not reported twice.

Each finding is a parked row of kind `check.fulfilment` in lane `checks`, keyed `<reason>:<what>`: running the
check again is a no-op, and a finding resolved by a person stays resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from trueup.model.exceptions import Reason
from trueup.model.money import to_minor
from trueup.model.work import NewWork, Problem
from trueup.ports import Clock
from trueup.runtime.backend import EmbeddedBackend
from trueup.store import fulfilment as queries

KIND = "check.fulfilment"
LANE = "checks"


@dataclass(frozen=True, slots=True)
class Finding:
    reason: Reason
    subject: str  # the order id or the despatch key
    order_id: str
    message: str
    impact_minor: int = 0
    currency: str | None = None
    system: str = ""

    def work(self) -> NewWork:
        problem = Problem.of(
            self.reason,
            self.message,
            field="order_id",
            impact_minor=self.impact_minor,
            currency=self.currency,
            system=self.system,
        )
        key = f"{self.reason}:{self.subject}"[:128]
        payload = json.dumps({"order_id": self.order_id, "subject": self.subject})
        return NewWork(KIND, key, LANE, f"check:{key}"[:160], payload, "1", parked=problem)


def stalled_finding(order_id: str, order_payload: str, hours: float, erp: str) -> Finding:
    data = json.loads(order_payload)
    total = data.get("grand_total")
    return Finding(
        Reason.STALLED_ORDER,
        order_id,
        order_id,
        f"Order {order_id}: posted to {erp} over {hours:g} hours ago and not despatched.",
        to_minor(Decimal(str(total))) if total is not None else 0,
        data.get("currency"),
        erp,
    )


def drift_finding(key: str, payload: str, status: str, hours: float, storefront: str) -> Finding:
    data = json.loads(payload)
    order_id = str(data.get("order_id"))
    return Finding(
        Reason.STATUS_DRIFT,
        key,
        order_id,
        f"Order {order_id}: despatch {data.get('despatch_id')} (despatched {data.get('despatched_at')}) is "
        f"still not a {storefront} shipment over {hours:g} hours after trueup read it (its row is {status}).",
        system=storefront,
    )


class FulfilmentChecks:
    """A periodic task (`trueup run`) and the end of each `sync despatches` pass."""

    name = "fulfilment checks"

    def __init__(
        self,
        backend: EmbeddedBackend,
        clock: Clock,
        *,
        storefront: str,
        erp: str,
        stalled_after: timedelta,
        drift_grace: timedelta,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.storefront = storefront
        self.erp = erp
        self.stalled_after = stalled_after
        self.drift_grace = drift_grace

    def findings(self, now: datetime) -> list[Finding]:
        store = self.backend.store
        hours = self.stalled_after.total_seconds() / 3600
        grace = self.drift_grace.total_seconds() / 3600
        stalled = queries.stalled_orders(store, self.storefront, now - self.stalled_after)
        drifting = queries.unshipped_despatches(store, now - self.drift_grace)
        return [stalled_finding(o, p, hours, self.erp) for o, p in stalled] + [
            drift_finding(k, p, s, grace, self.storefront) for k, p, s in drifting
        ]

    async def sync(self) -> dict[str, int]:
        now = self.clock.now()
        found = await self.backend.call(self.findings, now)
        await self.backend.enqueue([f.work() for f in found], now, None)
        counts: dict[str, int] = {}
        for f in found:
            counts[f.reason] = counts.get(f.reason, 0) + 1
        return counts
