"""Payment-provider payouts: read Stripe's and Adyen's settlement exports, match them to orders.

Two public layouts are read, as the providers' dashboards export them:

- Stripe, Balance → Transactions → Export (balance transactions): `id, Type, Source, Amount, Fee, Net,
  Currency, Created (UTC), Available On (UTC), Description`, plus any metadata columns the export was asked
  for (`order_id (metadata)`). Amounts are decimal strings in the currency's units, refunds negative.
- Adyen, Settlement details report: `Company Account, Merchant Account, Psp Reference, Merchant Reference,
  Payment Method, Creation Date, TimeZone, Type, Modification Reference, Gross Currency, Gross Debit (GC),
  Gross Credit (GC), Exchange Rate, Net Currency, Net Debit (NC), Net Credit (NC), Commission (NC),
  Markup (NC), Scheme Fees (NC), Interchange (NC), Batch Number`. `Merchant Reference` is the order id.

Each row becomes a `Settlement` (money in minor units, signed: positive is money to the merchant). Matching
is by order id: captures against what the storefront charged, refunds against what it refunded; rows with no
order, or an order the storefront does not know, are unmatched. Fees are totalled per provider and currency.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from trueup.model.money import to_decimal, to_minor


class Kind(StrEnum):
    CAPTURE = "capture"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    FEE = "fee"
    PAYOUT = "payout"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Settlement:
    provider: str
    reference: str  # the provider's own id for the row
    order_id: str  # "" when the row names no order
    kind: Kind
    currency: str
    gross_minor: int  # signed: + money to the merchant
    fee_minor: int  # what the provider kept (positive)
    net_minor: int
    day: str  # ISO date of the row


class SettlementFormatError(ValueError):
    """The file is not the export it was read as (a column is missing)."""


_STRIPE_KINDS = {
    "charge": Kind.CAPTURE,
    "payment": Kind.CAPTURE,
    "refund": Kind.REFUND,
    "payment_refund": Kind.REFUND,
    "adjustment": Kind.CHARGEBACK,  # Stripe books a dispute as an adjustment ("Chargeback withdrawal")
    "dispute": Kind.CHARGEBACK,
    "stripe_fee": Kind.FEE,
    "payout": Kind.PAYOUT,
}
_ADYEN_KINDS = {
    "Settled": Kind.CAPTURE,
    "Refunded": Kind.REFUND,
    "Chargeback": Kind.CHARGEBACK,
    "ChargebackReversed": Kind.CHARGEBACK,
    "SecondChargeback": Kind.CHARGEBACK,
    "Fee": Kind.FEE,
    "InvoiceDeduction": Kind.FEE,
    "MerchantPayout": Kind.PAYOUT,
}
_ORDER_IN_TEXT = re.compile(r"#\s*([A-Za-z0-9-]+)")


def _rows(path: Path, needed: Sequence[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise SettlementFormatError(f"{path.name}: not the expected export, missing columns {missing}")
        return list(reader)


def _minor(text: str) -> int:
    return to_minor(to_decimal(text.strip() or "0"))


def read_stripe(path: Path) -> list[Settlement]:
    rows = _rows(path, ("id", "Type", "Amount", "Fee", "Net", "Currency", "Created (UTC)", "Description"))
    out = []
    for row in rows:
        order = (row.get("order_id (metadata)") or "").strip()
        if not order and (m := _ORDER_IN_TEXT.search(row["Description"])):
            order = m.group(1)
        out.append(
            Settlement(
                "stripe",
                row["id"],
                order,
                _STRIPE_KINDS.get(row["Type"].strip().lower(), Kind.OTHER),
                row["Currency"].strip().upper(),
                _minor(row["Amount"]),
                _minor(row["Fee"]),
                _minor(row["Net"]),
                row["Created (UTC)"].strip()[:10],
            )
        )
    return out


def read_adyen(path: Path) -> list[Settlement]:
    needed = ("Psp Reference", "Merchant Reference", "Creation Date", "Type", "Gross Currency")
    rows = _rows(
        path, (*needed, "Gross Debit (GC)", "Gross Credit (GC)", "Net Debit (NC)", "Net Credit (NC)")
    )
    out = []
    for row in rows:
        gross = _minor(row["Gross Credit (GC)"]) - _minor(row["Gross Debit (GC)"])
        net = _minor(row["Net Credit (NC)"]) - _minor(row["Net Debit (NC)"])
        fees = sum(
            _minor(row.get(c, "") or "0")
            for c in ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)")
        )
        kind = _ADYEN_KINDS.get(row["Type"].strip(), Kind.OTHER)
        if kind is Kind.FEE:
            fees, gross = -net, 0
        out.append(
            Settlement(
                "adyen",
                row["Psp Reference"] or row.get("Modification Reference", ""),
                row["Merchant Reference"].strip(),
                kind,
                row["Gross Currency"].strip().upper() or (row.get("Net Currency") or "").upper(),
                gross,
                fees,
                net,
                row["Creation Date"].strip()[:10],
            )
        )
    return out


def read_settlements(path: Path) -> list[Settlement]:
    """Tell the two exports apart by their columns."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    if "Psp Reference" in header:
        return read_adyen(path)
    if "Available On (UTC)" in header or ("Type" in header and "Net" in header):
        return read_stripe(path)
    raise SettlementFormatError(
        f"{path.name}: neither a Stripe balance export nor an Adyen settlement report"
    )


@dataclass(frozen=True, slots=True)
class Unmatched:
    settlement: Settlement
    why: str


@dataclass(slots=True)
class Matching:
    matched: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    amount_differs: list[tuple[str, str, int, int]] = field(default_factory=list)  # order, ccy, paid, settled
    fees: dict[tuple[str, str], int] = field(default_factory=dict)  # (provider, currency) -> minor
    totals: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (provider, kind, ccy) -> gross

    def as_dict(self) -> dict[str, object]:
        return {
            "matched": self.matched,
            "unmatched": [
                {
                    "provider": u.settlement.provider,
                    "reference": u.settlement.reference,
                    "order": u.settlement.order_id,
                    "kind": str(u.settlement.kind),
                    "gross_minor": u.settlement.gross_minor,
                    "why": u.why,
                }
                for u in self.unmatched
            ],
            "amount_differs": [
                {"order": o, "currency": c, "charged_minor": p, "settled_minor": s}
                for o, c, p, s in self.amount_differs
            ],
            "fees": [{"provider": p, "currency": c, "minor": v} for (p, c), v in sorted(self.fees.items())],
        }


def match(
    settlements: Iterable[Settlement], charged: Mapping[str, int], refunded: Mapping[str, int] | None = None
) -> Matching:
    """Match captures and refunds to orders by order id. `charged`: order id → what the storefront charged
    (minor units); `refunded`: order id → what it refunded. Fees, payouts and rows of other kinds are
    totalled, never matched."""
    refunded = refunded or {}
    result = Matching()
    captured: dict[tuple[str, str], int] = defaultdict(int)
    back: dict[tuple[str, str], int] = defaultdict(int)
    for s in settlements:
        key = (s.provider, str(s.kind), s.currency)
        result.totals[key] = result.totals.get(key, 0) + s.gross_minor
        if s.fee_minor:
            result.fees[(s.provider, s.currency)] = result.fees.get((s.provider, s.currency), 0) + s.fee_minor
        if s.kind not in (Kind.CAPTURE, Kind.REFUND, Kind.CHARGEBACK):
            continue
        if not s.order_id:
            result.unmatched.append(Unmatched(s, "names no order"))
        elif s.order_id not in charged:
            result.unmatched.append(
                Unmatched(s, f"order {s.order_id} is not a storefront order in the period")
            )
        else:
            result.matched += 1
            if s.kind is Kind.CAPTURE:
                captured[(s.order_id, s.currency)] += s.gross_minor
            elif s.kind is Kind.REFUND:
                back[(s.order_id, s.currency)] -= s.gross_minor
    for (order, currency), amount in sorted(captured.items()):
        if amount != charged[order]:
            result.amount_differs.append((order, currency, charged[order], amount))
    for (order, currency), amount in sorted(back.items()):
        if order in refunded and amount != refunded[order]:
            result.amount_differs.append((order, currency, -refunded[order], -amount))
    return result


def fee_total(fees: Mapping[tuple[str, str], int], currency: str) -> Decimal:
    return Decimal(sum(v for (_, c), v in fees.items() if c == currency)) / 100
