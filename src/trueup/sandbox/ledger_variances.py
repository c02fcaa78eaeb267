"""Seeded variances in a sandbox ERP's ledger, for a month of trading in the demo (`trueup demo --days`).

What a finance team finds at month end, made on purpose on orders the reconciliation had no finding for:
invoices that never reached the ledger, net and VAT keyed wrong, a rounding penny, a credit note missing or
keyed short, an invoice for no web order. Only the REST ERP's ledger is a plain list the emulator lets a
test edit; for the other ERPs nothing is seeded (the result says so).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

# reason -> how many orders get that variance
PLAN = {
    "ledger_orphaned": 3,
    "ledger_net_mismatch": 2,
    "ledger_tax_mismatch": 2,
    "ledger_tax_rounding": 1,
    "refund_without_credit_note": 1,
    "credit_note_mismatch": 1,
    "ledger_unknown": 1,
}


def _shift(entry: dict[str, Any], column: str, amount: Decimal) -> None:
    entry[column] = str(Decimal(str(entry[column])) + amount)
    entry["gross"] = str(Decimal(str(entry["gross"])) + amount)


def seed_ledger_variances(erp: object, clean: Collection[str]) -> dict[str, int]:
    """Seed `PLAN` into the ERP's ledger on the orders of `clean` (no finding yet); returns what was seeded
    by reason (empty for an ERP whose ledger cannot be edited here)."""
    state = getattr(erp, "state", None)
    ledger: list[dict[str, Any]] | None = getattr(state, "ledger", None)
    if ledger is None:
        return {}
    invoiced = sorted({str(e["external_id"]) for e in ledger if e["kind"] == "invoice"} & set(clean))
    credited = sorted({str(e["external_id"]) for e in ledger if e["kind"] == "credit_note"} & set(clean))
    invoiced = [o for o in invoiced if o not in set(credited)]
    seeded: dict[str, int] = {}

    def take(pool: list[str], reason: str) -> list[str]:
        picked, pool[:] = pool[: PLAN[reason]], pool[PLAN[reason] :]
        seeded[reason] = len(picked)
        return picked

    def entries(order: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in ledger if e["external_id"] == order and e["kind"] == kind]

    for order in take(invoiced, "ledger_orphaned"):
        ledger[:] = [e for e in ledger if not (e["external_id"] == order and e["kind"] == "invoice")]
    for order in take(invoiced, "ledger_net_mismatch"):
        _shift(entries(order, "invoice")[0], "net", Decimal("1.50"))
    for order in take(invoiced, "ledger_tax_mismatch"):
        _shift(entries(order, "invoice")[0], "tax", Decimal("0.50"))
    for order in take(invoiced, "ledger_tax_rounding"):
        _shift(entries(order, "invoice")[0], "tax", Decimal("-0.01"))
    for order in take(credited, "refund_without_credit_note"):
        ledger[:] = [e for e in ledger if not (e["external_id"] == order and e["kind"] == "credit_note")]
    for order in take(credited, "credit_note_mismatch"):
        _shift(entries(order, "credit_note")[0], "net", Decimal("-1.00"))
    if ledger:
        model = next(e for e in ledger if e["kind"] == "invoice")
        ledger.append({**model, "document_id": "INV-MANUAL-1", "external_id": "MANUAL-1"})
        seeded["ledger_unknown"] = 1
    return seeded
