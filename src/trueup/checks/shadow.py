"""Shadow mode's comparison: what trueup would have posted against what the incumbent integration posted,
order by order. Pure: no I/O, no clock.

For each storefront order of the period, `planned` is the sales order trueup's plan would post (None when
the plan would not post it: held, rejected, dropped, with `why`) and `posted` what the ERP holds under the
order's id. Differences, one row per order and kind:

- `missing`: trueup would post it, the ERP has nothing (money at risk: the order's gross);
- `extra`: the ERP has it, trueup would not post it (the posted gross);
- `lines`: an item or a quantity or a line's gross differs (the sum of the lines' gross differences, and a
  line on one side only counts in full);
- `tax`: tax totals differ (the difference);
- `total`: grand totals differ beyond what the lines and the tax explain (shipping, discounts);
- `address`: the ship-to name, street, postcode or country differ (the order's gross: the goods may go to
  the wrong place);
- `carrier`: carrier or service differ (the shipping charged).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from trueup.model.money import to_minor
from trueup.model.shadow import PostedOrder

KINDS = ("missing", "extra", "lines", "tax", "total", "address", "carrier")


@dataclass(frozen=True, slots=True)
class Difference:
    order_id: str
    kind: str
    trueup: str
    incumbent: str
    money_at_risk_minor: int
    currency: str

    def as_dict(self) -> dict[str, object]:
        return {
            "order_id": self.order_id,
            "kind": self.kind,
            "trueup": self.trueup,
            "incumbent": self.incumbent,
            "money_at_risk_minor": self.money_at_risk_minor,
            "currency": self.currency,
        }


def _lines(order: PostedOrder) -> dict[str, tuple[Decimal, int]]:
    """Quantity and gross (minor units) per item: the lines' order and numbering do not matter."""
    out: dict[str, tuple[Decimal, int]] = {}
    for line in order.lines:
        qty, gross = out.get(line.sku, (Decimal(0), 0))
        out[line.sku] = (qty + line.qty, gross + to_minor(line.gross))
    return out


def _show(lines: dict[str, tuple[Decimal, int]]) -> str:
    return "; ".join(
        f"{sku} × {q.normalize():f} = {Decimal(g) / 100}" for sku, (q, g) in sorted(lines.items())
    )


def _line_risk(a: dict[str, tuple[Decimal, int]], b: dict[str, tuple[Decimal, int]]) -> int:
    """Per item, the gross difference, or the units' share of the gross when only the quantity differs;
    an item on one side only counts in full."""
    risk = 0
    for sku in a.keys() | b.keys():
        (qa, ga), (qb, gb) = a.get(sku, (Decimal(0), 0)), b.get(sku, (Decimal(0), 0))
        units = abs(qa - qb) * Decimal(max(ga, gb)) / max(qa, qb) if max(qa, qb) else Decimal(0)
        risk += max(abs(ga - gb), int(units.to_integral_value()))
    return risk


def _where(o: PostedOrder) -> str:
    return " / ".join([o.ship_name, *o.ship_lines, o.ship_postcode, o.ship_country])


def compare_one(
    order_id: str, planned: PostedOrder | None, posted: PostedOrder | None, why: str
) -> list[Difference]:
    if planned is None and posted is None:
        return []
    if posted is None:
        assert planned is not None
        gross = to_minor(planned.grand_total)
        return [
            Difference(
                order_id, "missing", f"posts {planned.grand_total}", "nothing", gross, planned.currency
            )
        ]
    if planned is None:
        gross = to_minor(posted.grand_total)
        return [
            Difference(
                order_id,
                "extra",
                f"would not post: {why}",
                f"posted {posted.grand_total}",
                gross,
                posted.currency,
            )
        ]
    ccy = planned.currency
    out: list[Difference] = []
    a, b = _lines(planned), _lines(posted)
    if a != b:
        out.append(Difference(order_id, "lines", _show(a), _show(b), _line_risk(a, b), ccy))
    tax = to_minor(planned.tax_total) - to_minor(posted.tax_total)
    if tax:
        out.append(Difference(order_id, "tax", str(planned.tax_total), str(posted.tax_total), abs(tax), ccy))
    total = to_minor(planned.grand_total) - to_minor(posted.grand_total)
    explained = sum(g for _, g in a.values()) - sum(g for _, g in b.values())
    if total and total != explained:
        out.append(
            Difference(
                order_id,
                "total",
                str(planned.grand_total),
                str(posted.grand_total),
                abs(total - explained),
                ccy,
            )
        )
    if _where(planned).casefold() != _where(posted).casefold():
        out.append(
            Difference(
                order_id, "address", _where(planned), _where(posted), to_minor(planned.grand_total), ccy
            )
        )
    if (planned.carrier, planned.service) != (posted.carrier, posted.service):
        out.append(
            Difference(
                order_id,
                "carrier",
                f"{planned.carrier}/{planned.service}",
                f"{posted.carrier}/{posted.service}",
                to_minor(planned.shipping_gross),
                ccy,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ShadowReport:
    since: str
    until: str
    orders: int  # storefront orders in the period
    would_post: int
    incumbent_posted: int
    differences: tuple[Difference, ...]

    def by_kind(self) -> dict[str, int]:
        got = Counter(d.kind for d in self.differences)
        return {k: got.get(k, 0) for k in KINDS}

    def money_by_currency(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.differences:
            out[d.currency] = out.get(d.currency, 0) + d.money_at_risk_minor
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, object]:
        return {
            "since": self.since,
            "until": self.until,
            "orders": self.orders,
            "would_post": self.would_post,
            "incumbent_posted": self.incumbent_posted,
            "orders_differing": len({d.order_id for d in self.differences}),
            "differences_by_kind": self.by_kind(),
            "money_at_risk_minor": self.money_by_currency(),
        }


def compare(
    planned: Mapping[str, PostedOrder | None],
    posted: Mapping[str, PostedOrder | None],
    why: Mapping[str, str],
) -> list[Difference]:
    """Every difference over the orders either side names, sorted by order and kind."""
    out: list[Difference] = []
    for order_id in sorted(planned.keys() | posted.keys()):
        out += compare_one(order_id, planned.get(order_id), posted.get(order_id), why.get(order_id, ""))
    return sorted(out, key=lambda d: (d.order_id, KINDS.index(d.kind)))
