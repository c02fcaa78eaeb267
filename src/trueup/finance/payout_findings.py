"""Payout matching's differences as exception-queue findings for finance. Pure.

A settlement line that matches no order is keyed `<provider>:<reference>`; an order whose settled captures
(or refunds) differ from what the storefront charged (or refunded) is keyed `<order id>:<currency>`. A
finding open in the queue whose key the files given this time cover, and that is not found again, clears.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from trueup.finance.settlements import Matching, Settlement
from trueup.model.checks import Clear, Finding, SweepWrite
from trueup.model.exceptions import Reason
from trueup.model.work import Problem, Status

UNMATCHED = Reason.PAYOUT_UNMATCHED
DIFFERS = Reason.PAYOUT_AMOUNT_MISMATCH
PAYOUT_REASONS = (UNMATCHED, DIFFERS)
OPEN = (str(Status.PARKED), str(Status.TODO))


def covered(rows: Collection[Settlement]) -> set[str]:
    """Every key the given settlement files can speak for."""
    return {f"{s.provider}:{s.reference}" for s in rows} | {f"{s.order_id}:{s.currency}" for s in rows}


def plan_payouts(
    matching: Matching, rows: Collection[Settlement], queue: Mapping[tuple[str, str], str], *, erp: str
) -> SweepWrite:
    found: list[Finding] = []
    for u in matching.unmatched:
        s = u.settlement
        key = f"{s.provider}:{s.reference}"
        message = (
            f"{s.provider} {s.kind} {s.reference} of {Decimal(s.gross_minor) / 100} {s.currency} "
            f"on {s.day}: {u.why}."
        )
        problem = Problem.of(
            UNMATCHED, message, impact_minor=abs(s.gross_minor), currency=s.currency, system=s.provider
        )
        found.append(Finding(key, problem, new=queue.get((str(UNMATCHED), key)) not in OPEN))
    for order, currency, charged, settled in matching.amount_differs:
        key = f"{order}:{currency}"
        message = (
            f"Order {order}: the storefront's figure is {Decimal(charged) / 100} {currency}, the payment "
            f"provider settled {Decimal(settled) / 100}."
        )
        problem = Problem.of(
            DIFFERS, message, impact_minor=abs(charged - settled), currency=currency, system=erp
        )
        found.append(Finding(key, problem, new=queue.get((str(DIFFERS), key)) not in OPEN))
    now = {(str(f.problem.reason), f.key) for f in found}
    keys = covered(rows)
    clears = [
        Clear(reason, key, "the payout files given agree with the storefront now")
        for (reason, key), status in sorted(queue.items())
        if status in OPEN and (reason, key) not in now and key in keys
    ]
    return SweepWrite(findings=found, clears=clears)
